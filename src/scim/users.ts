import crypto from 'node:crypto';
import { Router, type Request } from 'express';
import type { Sequelize, Transaction } from 'sequelize';
import type { GroupStore } from '../directory/groups';
import type { DirectoryUser, UserFields } from '../directory/types';
import type { UserStore } from '../directory/users';
import { notFound } from './errors';
import { baseUrlOf, connectionOf, handler, notModified, sendList, sendScim } from './http';
import { queryParam, readListRequest } from './listParams';
import { etag, excludes, parseProjection, presentUser, project, type Projection } from './presenter';
import { checkIndexedLengths, normalizeResource, primaryValue, type JsonObject } from './resource';
import { USER_TYPE } from './schemas';
import { answerPatch, changeLocked, clashOf, patched } from './writes';
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

  /** How PUT, PATCH and DELETE find the connection's user they change (writes.ts changeLocked). */
  const locked = (connectionId: string) => ({
    sequelize: d.sequelize,
    what: 'User',
    unique: 'userName',
    lock: (id: string, tx: Transaction) => d.users.get(connectionId, id, { tx, forUpdate: true }),
  });

  const sendOne = async (req: Request, res: Parameters<typeof sendScim>[0], status: number, user: DirectoryUser) => {
    const [body] = await present(req, [user], projectionOf(req));
    sendScim(res, status, body, { ETag: etag(user.version), Location: `${base(req)}/Users/${user.id}` });
  };

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
        throw clashOf(err, 'userName');
      }
    }),
  );

  router.put(
    '/:id',
    handler(async (req, res) => {
      const { id: connectionId } = connectionOf(res);
      const { resource } = normalizeResource(USER_TYPE, req.body);
      const user = await changeLocked(locked(connectionId), req, (current, tx) =>
        d.users.replace(connectionId, current.id, userFields(resource), tx),
      );
      await sendOne(req, res, 200, user!);
    }),
  );

  router.patch(
    '/:id',
    handler(async (req, res) => {
      const { id: connectionId } = connectionOf(res);
      const user = await changeLocked(locked(connectionId), req, async (current, tx) => {
        const stored = {
          ...current.resource,
          userName: current.userName,
          active: current.active,
          ...(current.externalId !== null ? { externalId: current.externalId } : {}),
        } as JsonObject;
        const { resource, changed } = patched(USER_TYPE, stored, req, current.id);
        return changed ? (await d.users.replace(connectionId, current.id, userFields(resource), tx))! : current;
      });
      await answerPatch(req, res, user, sendOne);
    }),
  );

  router.delete(
    '/:id',
    handler(async (req, res) => {
      const { id: connectionId } = connectionOf(res);
      await changeLocked(locked(connectionId), req, (current, tx) => d.users.delete(connectionId, current.id, tx));
      res.status(204).end();
    }),
  );

  return router;
}
