import type { Request, Response } from 'express';
import type { Sequelize, Transaction } from 'sequelize';
import { isUuid } from '../db/ids';
import { UniquenessConflict } from '../directory/types';
import { notFound, uniqueness } from './errors';
import { checkIfMatch } from './http';
import { queryParam } from './listParams';
import { applyPatch, type MemberOp } from './patch';
import { normalizePatch } from './patchOps';
import { etag } from './presenter';
import { normalizeResource, type JsonObject } from './resource';
import type { ResourceTypeDef } from './schemas';

/** A stored SCIM resource: its id and the version its ETag is made of. */
interface Versioned {
  id: string;
  version: number;
}

/**
 * The one way SCIM changes a stored User or Group (PUT, PATCH, DELETE): in one transaction, the
 * resource locked until it ends (404 when there is none), checked against If-Match (412 on a
 * stale one), then changed; a name another resource of the connection holds is a 409 naming it.
 */
export function changeLocked<R extends Versioned, T>(
  d: {
    sequelize: Sequelize;
    /** 'User' or 'Group', for the 404. */
    what: string;
    /** The attribute whose uniqueness a clash is about (`userName`, `displayName`). */
    unique: string;
    /** Reads the resource locked for the transaction. */
    lock: (id: string, tx: Transaction) => Promise<R | undefined>;
  },
  req: Request,
  change: (current: R, tx: Transaction) => Promise<T>,
): Promise<T> {
  return d.sequelize
    .transaction(async (tx) => {
      const current = isUuid(req.params.id) ? await d.lock(req.params.id, tx) : undefined;
      if (!current) throw notFound(d.what, req.params.id);
      checkIfMatch(req, etag(current.version));
      return change(current, tx);
    })
    .catch((err: unknown) => {
      throw clashOf(err, d.unique);
    });
}

/** A uniqueness clash as SCIM's 409 (anything else as it is). */
export function clashOf(err: unknown, unique: string): unknown {
  return err instanceof UniquenessConflict
    ? uniqueness(`${unique} "${err.value}" is already in use in this connection.`)
    : err;
}

/**
 * A PATCH request applied to a stored resource: the resource it makes (normalised as a POST's
 * would be), whether that differs from what is stored, and the member operations (Groups).
 */
export function patched(
  type: ResourceTypeDef,
  stored: JsonObject,
  req: Request,
  id: string,
): { resource: JsonObject; changed: boolean; memberOps: MemberOp[] } {
  const { resource, memberOps } = applyPatch(type, stored, normalizePatch(type, req.body, id));
  const { resource: clean } = normalizeResource(type, resource);
  const changed = JSON.stringify(clean) !== JSON.stringify(normalizeResource(type, stored).resource);
  return { resource: clean, changed, memberOps };
}

/** A PATCH's answer: the resource when the client asked for attributes, else 204 with its new ETag. */
export async function answerPatch<R extends Versioned>(
  req: Request,
  res: Response,
  resource: R,
  sendOne: (req: Request, res: Response, status: number, resource: R) => Promise<void>,
): Promise<void> {
  if (queryParam(req, 'attributes') !== undefined || queryParam(req, 'excludedAttributes') !== undefined)
    await sendOne(req, res, 200, resource);
  else res.status(204).set('ETag', etag(resource.version)).end();
}
