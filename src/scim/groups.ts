import crypto from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import type { Sequelize, Transaction } from 'sequelize';
import type { GroupStore } from '../directory/groups';
import type { DirectoryGroup, GroupFields, MemberRef } from '../directory/types';
import { invalidValue, notFound, tooMany } from './errors';
import { baseUrlOf, connectionOf, handler, notModified, sendList, sendScim } from './http';
import { queryParam, readListRequest } from './listParams';
import type { MemberOp } from './patch';
import { etag, excludes, parseProjection, presentGroup, project, type Projection } from './presenter';
import { checkIndexedLengths, normalizeResource, type JsonObject } from './resource';
import { GROUP_TYPE } from './schemas';
import { answerPatch, changeLocked, clashOf, patched } from './writes';
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

  /** How PUT, PATCH and DELETE find the connection's group they change (writes.ts changeLocked). */
  const locked = (connectionId: string) => ({
    sequelize: d.sequelize,
    what: 'Group',
    unique: 'displayName',
    lock: (id: string, tx: Transaction) => d.groups.get(connectionId, id, { tx, forUpdate: true }),
  });

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
          throw clashOf(err, 'displayName');
        });
      await sendOne(req, res, 201, group);
    }),
  );

  router.put(
    '/:id',
    handler(async (req, res) => {
      const { id: connectionId } = connectionOf(res);
      const { resource, members } = normalizeResource(GROUP_TYPE, req.body);
      const group = await changeLocked(locked(connectionId), req, async (current, tx) => {
        const replaced = (await d.groups.replace(connectionId, current.id, groupFields(resource), tx))!;
        // PUT replaces the whole resource: members not sent are members no more.
        const all: MemberOp[] = [{ kind: 'removeAll' }, { kind: 'add', ids: members ?? [] }];
        return (await applyMembers(connectionId, current.id, all, tx)) ?? replaced;
      });
      await sendOne(req, res, 200, group);
    }),
  );

  router.patch(
    '/:id',
    handler(async (req, res) => {
      const { id: connectionId } = connectionOf(res);
      const group = await changeLocked(locked(connectionId), req, async (current, tx) => {
        const stored = {
          ...current.resource,
          displayName: current.displayName,
          ...(current.externalId !== null ? { externalId: current.externalId } : {}),
        } as JsonObject;
        const { resource, changed, memberOps } = patched(GROUP_TYPE, stored, req, current.id);
        const latest = changed
          ? (await d.groups.replace(connectionId, current.id, groupFields(resource), tx))!
          : current;
        return (await applyMembers(connectionId, current.id, memberOps, tx)) ?? latest;
      });
      await answerPatch(req, res, group, sendOne);
    }),
  );

  router.delete(
    '/:id',
    handler(async (req, res) => {
      const { id: connectionId } = connectionOf(res);
      await changeLocked(locked(connectionId), req, (current, tx) => d.groups.delete(connectionId, current.id, tx));
      res.status(204).end();
    }),
  );

  return router;
}
