import crypto from 'node:crypto';
import { Router, type Request } from 'express';
import type { Sequelize, Transaction } from 'sequelize';
import type { GroupStore } from '../directory/groups';
import { UniquenessConflict, type DirectoryUser, type UserFields } from '../directory/types';
import type { UserStore } from '../directory/users';
import { notFound, uniqueness } from './errors';
import { baseUrlOf, checkIfMatch, connectionOf, handler, notModified, sendList, sendScim } from './http';
import { queryParam, readListRequest } from './listParams';
import { applyPatch } from './patch';
import { normalizePatch } from './patchOps';
import { etag, excludes, parseProjection, presentUser, project, type Projection } from './presenter';
import { checkIndexedLengths, normalizeResource, primaryValue, type JsonObject } from './resource';
import { USER_TYPE } from './schemas';
import { isUuid } from '../db/ids';

export interface ScimUserDeps {
  sequelize: Sequelize;
  users: UserStore;
  groups: GroupStore;
  localBaseUrl: string;
}

/** The indexed fields of a user, from its normalised resource. */
export function userFields(resource: JsonObject): UserFields {
  return checkIndexedLengths({
    userName: resource.userName as string, // validated: required, a non-empty string
    externalId: typeof resource.externalId === 'string' ? resource.externalId : null,
    displayName: typeof resource.displayName === 'string' ? resource.displayName : null,
    email: primaryValue(resource.emails),
    active: resource.active !== false,
    resource,
  });
}

/** /Users: list with filter, get, create, replace, patch, delete (RFC 7644 §3). */
export function usersRouter(d: ScimUserDeps): Router {
  const router = Router({ mergeParams: true });
  const base = (req: Request) => baseUrlOf(req, d.localBaseUrl);
  const projectionOf = (req: Request) =>
    parseProjection(USER_TYPE, queryParam(req, 'attributes'), queryParam(req, 'excludedAttributes'));

  /** Presents users; their groups come with the row (list, get) or are read here (after a write). */
  const present = async (req: Request, list: DirectoryUser[], p: Projection) => {
    const wanted = !excludes(p, 'groups');
    const missing = wanted ? list.filter((u) => !u.groups) : [];
    const read = missing.length
      ? await d.groups.groupsOf(
          missing[0].connectionId,
          missing.map((u) => u.id),
        )
      : undefined;
    return list.map((u) => project(presentUser(u, base(req), wanted ? (u.groups ?? read?.get(u.id)) : undefined), p));
  };

  /** The user to change, locked until the transaction ends; 404 when there is none, 412 on a stale If-Match. */
  const lockOrFail = async (req: Request, connectionId: string, tx: Transaction) => {
    const current = isUuid(req.params.id)
      ? await d.users.get(connectionId, req.params.id, { tx, forUpdate: true })
      : undefined;
    if (!current) throw notFound('User', req.params.id);
    checkIfMatch(req, etag(current.version));
    return current;
  };

  const sendOne = async (req: Request, res: Parameters<typeof sendScim>[0], status: number, user: DirectoryUser) => {
    const [body] = await present(req, [user], projectionOf(req));
    sendScim(res, status, body, { ETag: etag(user.version), Location: `${base(req)}/Users/${user.id}` });
  };

  const uniquenessError = (err: unknown) =>
    err instanceof UniquenessConflict
      ? uniqueness(`userName "${err.value}" is already in use in this connection.`)
      : err;

  router.get(
    '/',
    handler(async (req, res) => {
      const { id } = connectionOf(res);
      const q = readListRequest(req, USER_TYPE, id);
      const page = await d.users.list(
        { where: q.where, values: q.values, orderBy: q.orderBy, offset: q.startIndex - 1, limit: q.count },
        { withGroups: !excludes(q.projection, 'groups') },
      );
      const resources = await present(req, page.rows, q.projection);
      sendList(res, page.total, q.startIndex, resources);
    }),
  );

  router.get(
    '/:id',
    handler(async (req, res) => {
      const user = isUuid(req.params.id)
        ? await d.users.get(connectionOf(res).id, req.params.id, { withGroups: !excludes(projectionOf(req), 'groups') })
        : undefined;
      if (!user) throw notFound('User', req.params.id);
      if (notModified(req, etag(user.version))) {
        res.status(304).set('ETag', etag(user.version)).end();
        return;
      }
      await sendOne(req, res, 200, user);
    }),
  );

  router.post(
    '/',
    handler(async (req, res) => {
      const { resource } = normalizeResource(USER_TYPE, req.body);
      try {
        await sendOne(
          req,
          res,
          201,
          await d.users.create(connectionOf(res).id, crypto.randomUUID(), userFields(resource)),
        );
      } catch (err) {
        throw uniquenessError(err);
      }
    }),
  );

  router.put(
    '/:id',
    handler(async (req, res) => {
      const { id: connectionId } = connectionOf(res);
      const { resource } = normalizeResource(USER_TYPE, req.body);
      const user = await d.sequelize
        .transaction(async (tx) => {
          const current = await lockOrFail(req, connectionId, tx);
          return d.users.replace(connectionId, current.id, userFields(resource), tx);
        })
        .catch((err) => {
          throw uniquenessError(err);
        });
      await sendOne(req, res, 200, user!);
    }),
  );

  router.patch(
    '/:id',
    handler(async (req, res) => {
      const { id: connectionId } = connectionOf(res);
      const user = await d.sequelize
        .transaction(async (tx) => {
          const current = await lockOrFail(req, connectionId, tx);
          const stored = {
            ...current.resource,
            userName: current.userName,
            active: current.active,
            ...(current.externalId !== null ? { externalId: current.externalId } : {}),
          } as JsonObject;
          const { resource } = applyPatch(USER_TYPE, stored, normalizePatch(USER_TYPE, req.body, current.id));
          const { resource: clean } = normalizeResource(USER_TYPE, resource);
          if (JSON.stringify(clean) === JSON.stringify(normalizeResource(USER_TYPE, stored).resource)) return current; // nothing changed
          return (await d.users.replace(connectionId, current.id, userFields(clean), tx))!;
        })
        .catch((err) => {
          throw uniquenessError(err);
        });
      if (queryParam(req, 'attributes') !== undefined || queryParam(req, 'excludedAttributes') !== undefined)
        await sendOne(req, res, 200, user);
      else res.status(204).set('ETag', etag(user.version)).end();
    }),
  );

  router.delete(
    '/:id',
    handler(async (req, res) => {
      const { id: connectionId } = connectionOf(res);
      await d.sequelize.transaction(async (tx) => {
        const current = await lockOrFail(req, connectionId, tx);
        await d.users.delete(connectionId, current.id, tx);
      });
      res.status(204).end();
    }),
  );

  return router;
}
