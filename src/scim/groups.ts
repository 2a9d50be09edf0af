import crypto from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import type { Sequelize, Transaction } from 'sequelize';
import type { GroupStore } from '../directory/groups';
import { UniquenessConflict, type DirectoryGroup, type GroupFields, type MemberRef } from '../directory/types';
import { invalidValue, notFound, tooMany, uniqueness } from './errors';
import { baseUrlOf, checkIfMatch, connectionOf, handler, notModified, sendList, sendScim } from './http';
import { queryParam, readListRequest } from './listParams';
import { applyPatch, type MemberOp } from './patch';
import { normalizePatch } from './patchOps';
import { etag, excludes, parseProjection, presentGroup, project, type Projection } from './presenter';
import { checkIndexedLengths, normalizeResource, type JsonObject } from './resource';
import { GROUP_TYPE } from './schemas';
import { isUuid } from '../db/ids';

export interface ScimGroupDeps {
  sequelize: Sequelize;
  groups: GroupStore;
  localBaseUrl: string;
}

/** The most member references one response may carry; beyond it the client must exclude members. */
export const MAX_MEMBERS_PER_RESPONSE = 100_000;

const groupFields = (resource: JsonObject): GroupFields =>
  checkIndexedLengths({
    displayName: resource.displayName as string, // validated: required, a non-empty string
    externalId: typeof resource.externalId === 'string' ? resource.externalId : null,
    resource,
  });

/** /Groups: list with filter, get, create, replace, patch (members applied row by row), delete. */
export function groupsRouter(d: ScimGroupDeps): Router {
  const router = Router({ mergeParams: true });
  const base = (req: Request) => baseUrlOf(req, d.localBaseUrl);
  const projectionOf = (req: Request) =>
    parseProjection(GROUP_TYPE, queryParam(req, 'attributes'), queryParam(req, 'excludedAttributes'));

  const present = async (req: Request, list: DirectoryGroup[], p: Projection) => {
    let members: Map<string, MemberRef[]> | undefined;
    if (!excludes(p, 'members') && list.length > 0) {
      const connectionId = list[0].connectionId;
      const ids = list.map((g) => g.id);
      if ((await d.groups.memberCount(connectionId, ids)) > MAX_MEMBERS_PER_RESPONSE) {
        throw tooMany(
          `These groups have more than ${MAX_MEMBERS_PER_RESPONSE} members in all: ask with excludedAttributes=members, or fewer groups per page.`,
        );
      }
      members = await d.groups.membersOf(connectionId, ids);
    }
    return list.map((g) => project(presentGroup(g, base(req), members?.get(g.id)), p));
  };

  const sendOne = async (req: Request, res: Response, status: number, group: DirectoryGroup) => {
    const [body] = await present(req, [group], projectionOf(req));
    sendScim(res, status, body, { ETag: etag(group.version), Location: `${base(req)}/Groups/${group.id}` });
  };

  /** Applies member operations in order; a member that is not a user of the connection is a 400. */
  const applyMembers = async (connectionId: string, groupId: string, ops: MemberOp[], tx: Transaction) => {
    for (const op of ops) {
      if (op.kind === 'removeAll') await d.groups.removeAllMembers(connectionId, groupId, tx);
      else if (op.kind === 'remove') await d.groups.removeMembers(connectionId, groupId, op.ids, tx);
      else if (op.ids.length) {
        const { missing } = await d.groups.addMembers(connectionId, groupId, op.ids, tx);
        if (missing.length)
          throw invalidValue(
            `Not users of this connection: ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', …' : ''}. Provision the users first.`,
          );
      }
    }
    // Members joined or left by id: the run concerns just them; emptied or replaced: the whole group.
    const named = ops.every((op) => op.kind !== 'removeAll')
      ? ops.flatMap((op) => ('ids' in op ? op.ids : []))
      : undefined;
    return ops.length > 0 ? d.groups.membersChanged(connectionId, groupId, tx, named) : undefined;
  };

  const lockOrFail = async (req: Request, connectionId: string, tx: Transaction) => {
    const current = isUuid(req.params.id)
      ? await d.groups.get(connectionId, req.params.id, { tx, forUpdate: true })
      : undefined;
    if (!current) throw notFound('Group', req.params.id);
    checkIfMatch(req, etag(current.version));
    return current;
  };

  const uniquenessError = (err: unknown) =>
    err instanceof UniquenessConflict
      ? uniqueness(`displayName "${err.value}" is already in use in this connection.`)
      : err;

  router.get(
    '/',
    handler(async (req, res) => {
      const q = readListRequest(req, GROUP_TYPE, connectionOf(res).id);
      const page = await d.groups.list({
        where: q.where,
        values: q.values,
        orderBy: q.orderBy,
        offset: q.startIndex - 1,
        limit: q.count,
      });
      const resources = await present(req, page.rows, q.projection);
      sendList(res, page.total, q.startIndex, resources);
    }),
  );

  router.get(
    '/:id',
    handler(async (req, res) => {
      const group = isUuid(req.params.id) ? await d.groups.get(connectionOf(res).id, req.params.id) : undefined;
      if (!group) throw notFound('Group', req.params.id);
      if (notModified(req, etag(group.version))) {
        res.status(304).set('ETag', etag(group.version)).end();
        return;
      }
      await sendOne(req, res, 200, group);
    }),
  );

  router.post(
    '/',
    handler(async (req, res) => {
      const { id: connectionId } = connectionOf(res);
      const { resource, members } = normalizeResource(GROUP_TYPE, req.body);
      const group = await d.sequelize
        .transaction(async (tx) => {
          const created = await d.groups.create(connectionId, crypto.randomUUID(), groupFields(resource), tx);
          return (
            (members?.length
              ? await applyMembers(connectionId, created.id, [{ kind: 'add', ids: members }], tx)
              : undefined) ?? created
          );
        })
        .catch((err) => {
          throw uniquenessError(err);
        });
      await sendOne(req, res, 201, group);
    }),
  );

  router.put(
    '/:id',
    handler(async (req, res) => {
      const { id: connectionId } = connectionOf(res);
      const { resource, members } = normalizeResource(GROUP_TYPE, req.body);
      const group = await d.sequelize
        .transaction(async (tx) => {
          const current = await lockOrFail(req, connectionId, tx);
          const replaced = (await d.groups.replace(connectionId, current.id, groupFields(resource), tx))!;
          // PUT replaces the whole resource: members not sent are members no more.
          return (
            (await applyMembers(
              connectionId,
              current.id,
              [{ kind: 'removeAll' }, { kind: 'add', ids: members ?? [] }],
              tx,
            )) ?? replaced
          );
        })
        .catch((err) => {
          throw uniquenessError(err);
        });
      await sendOne(req, res, 200, group);
    }),
  );

  router.patch(
    '/:id',
    handler(async (req, res) => {
      const { id: connectionId } = connectionOf(res);
      const group = await d.sequelize
        .transaction(async (tx) => {
          const current = await lockOrFail(req, connectionId, tx);
          const stored = {
            ...current.resource,
            displayName: current.displayName,
            ...(current.externalId !== null ? { externalId: current.externalId } : {}),
          } as JsonObject;
          const { resource, memberOps } = applyPatch(
            GROUP_TYPE,
            stored,
            normalizePatch(GROUP_TYPE, req.body, current.id),
          );
          const { resource: clean } = normalizeResource(GROUP_TYPE, resource);
          let latest = current;
          if (JSON.stringify(clean) !== JSON.stringify(normalizeResource(GROUP_TYPE, stored).resource)) {
            latest = (await d.groups.replace(connectionId, current.id, groupFields(clean), tx))!;
          }
          return (await applyMembers(connectionId, current.id, memberOps, tx)) ?? latest;
        })
        .catch((err) => {
          throw uniquenessError(err);
        });
      if (queryParam(req, 'attributes') !== undefined || queryParam(req, 'excludedAttributes') !== undefined)
        await sendOne(req, res, 200, group);
      else res.status(204).set('ETag', etag(group.version)).end();
    }),
  );

  router.delete(
    '/:id',
    handler(async (req, res) => {
      const { id: connectionId } = connectionOf(res);
      await d.sequelize.transaction(async (tx) => {
        const current = await lockOrFail(req, connectionId, tx);
        await d.groups.delete(connectionId, current.id, tx);
      });
      res.status(204).end();
    }),
  );

  return router;
}
