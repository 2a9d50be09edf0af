import crypto from 'node:crypto';
import type { Request, Router } from 'express';
import type { Sequelize, Transaction } from 'sequelize';
import type { GroupStore } from '../directory/groups';
import type { DirectoryGroup, GroupFields, MemberRef } from '../directory/types';
import { ResourceEndpoints, type ReadOptions } from './endpoints';
import { invalidValue, tooMany } from './errors';
import { connectionOf, handler, sendList } from './http';
import { readListRequest } from './listParams';
import type { MemberOp } from './patch';
import { excludes, presentGroup, project, type Projection } from './presenter';
import { checkIndexedLengths, normalizeResource, type JsonObject } from './resource';
import { GROUP_TYPE } from './schemas';
import { clashOf, patched } from './writes';

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
  return new GroupEndpoints(d).router();
}

class GroupEndpoints extends ResourceEndpoints<DirectoryGroup> {
  constructor(private readonly d: ScimGroupDeps) {
    super(GROUP_TYPE, 'displayName', d);
  }

  protected readonly list = handler(async (req, res) => {
    const q = readListRequest(req, GROUP_TYPE, connectionOf(res).id);
    const page = await this.d.groups.list({
      where: q.where,
      values: q.values,
      orderBy: q.orderBy,
      offset: q.startIndex - 1,
      limit: q.count,
    });
    const resources = await this.present(req, page.rows, q.projection);
    sendList(res, page.total, q.startIndex, resources);
  });

  protected readonly create = handler(async (req, res) => {
    const { id: connectionId } = connectionOf(res);
    const { resource, members } = normalizeResource(GROUP_TYPE, req.body);
    const group = await this.d.sequelize
      .transaction(async (tx) => {
        const created = await this.d.groups.create(connectionId, crypto.randomUUID(), groupFields(resource), tx);
        return (
          (members?.length
            ? await this.applyMembers(connectionId, created.id, [{ kind: 'add', ids: members }], tx)
            : undefined) ?? created
        );
      })
      .catch((err) => {
        throw clashOf(err, 'displayName');
      });
    await this.sendOne(req, res, 201, group);
  });

  protected readonly replace = handler(async (req, res) => {
    const { id: connectionId } = connectionOf(res);
    const { resource, members } = normalizeResource(GROUP_TYPE, req.body);
    const group = await this.change(connectionId, req, async (current, tx) => {
      const replaced = (await this.d.groups.replace(connectionId, current.id, groupFields(resource), tx))!;
      // PUT replaces the whole resource: members not sent are members no more.
      const all: MemberOp[] = [{ kind: 'removeAll' }, { kind: 'add', ids: members ?? [] }];
      return (await this.applyMembers(connectionId, current.id, all, tx)) ?? replaced;
    });
    await this.sendOne(req, res, 200, group);
  });

  protected readonly patch = handler(async (req, res) => {
    const { id: connectionId } = connectionOf(res);
    const group = await this.change(connectionId, req, async (current, tx) => {
      const stored = {
        ...current.resource,
        displayName: current.displayName,
        ...(current.externalId !== null ? { externalId: current.externalId } : {}),
      } as JsonObject;
      const { resource, changed, memberOps } = patched(GROUP_TYPE, stored, req, current.id);
      const latest = changed
        ? (await this.d.groups.replace(connectionId, current.id, groupFields(resource), tx))!
        : current;
      return (await this.applyMembers(connectionId, current.id, memberOps, tx)) ?? latest;
    });
    await this.answerPatch(req, res, group);
  });

  protected read(connectionId: string, id: string, { tx, forUpdate }: ReadOptions) {
    return this.d.groups.get(connectionId, id, { tx, forUpdate });
  }

  protected erase(connectionId: string, id: string, tx: Transaction) {
    return this.d.groups.delete(connectionId, id, tx);
  }

  protected async present(req: Request, list: DirectoryGroup[], p: Projection) {
    let members: Map<string, MemberRef[]> | undefined;
    if (!excludes(p, 'members') && list.length > 0) {
      const connectionId = list[0].connectionId;
      const ids = list.map((g) => g.id);
      if ((await this.d.groups.memberCount(connectionId, ids)) > MAX_MEMBERS_PER_RESPONSE) {
        throw tooMany(
          `These groups have more than ${MAX_MEMBERS_PER_RESPONSE} members in all: ask with excludedAttributes=members, or fewer groups per page.`,
        );
      }
      members = await this.d.groups.membersOf(connectionId, ids);
    }
    return list.map((g) => project(presentGroup(g, this.base(req), members?.get(g.id)), p));
  }

  /** Applies member operations in order; a member that is not a user of the connection is a 400. */
  private async applyMembers(connectionId: string, groupId: string, ops: MemberOp[], tx: Transaction) {
    for (const op of ops) {
      if (op.kind === 'removeAll') await this.d.groups.removeAllMembers(connectionId, groupId, tx);
      else if (op.kind === 'remove') await this.d.groups.removeMembers(connectionId, groupId, op.ids, tx);
      else if (op.ids.length) {
        const { missing } = await this.d.groups.addMembers(connectionId, groupId, op.ids, tx);
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
    return ops.length > 0 ? this.d.groups.membersChanged(connectionId, groupId, tx, named) : undefined;
  }
}
