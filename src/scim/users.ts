import crypto from 'node:crypto';
import type { Request, Router } from 'express';
import type { Sequelize, Transaction } from 'sequelize';
import type { GroupStore } from '../directory/groups';
import type { DirectoryUser, UserFields } from '../directory/types';
import type { UserStore } from '../directory/users';
import { ResourceEndpoints, type ReadOptions } from './endpoints';
import { connectionOf, handler, sendList } from './http';
import { readListRequest } from './listParams';
import { excludes, presentUser, project, type Projection } from './presenter';
import { checkIndexedLengths, normalizeResource, primaryValue, type JsonObject } from './resource';
import { USER_TYPE } from './schemas';
import { clashOf, patched } from './writes';

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
  return new UserEndpoints(d).router();
}

class UserEndpoints extends ResourceEndpoints<DirectoryUser> {
  constructor(private readonly d: ScimUserDeps) {
    super(USER_TYPE, 'userName', d);
  }

  protected readonly list = handler(async (req, res) => {
    const { id } = connectionOf(res);
    const q = readListRequest(req, USER_TYPE, id);
    const page = await this.d.users.list(
      { where: q.where, values: q.values, orderBy: q.orderBy, offset: q.startIndex - 1, limit: q.count },
      { withGroups: !excludes(q.projection, 'groups') },
    );
    const resources = await this.present(req, page.rows, q.projection);
    sendList(res, page.total, q.startIndex, resources);
  });

  protected readonly create = handler(async (req, res) => {
    const { resource } = normalizeResource(USER_TYPE, req.body);
    try {
      const created = await this.d.users.create(connectionOf(res).id, crypto.randomUUID(), userFields(resource));
      await this.sendOne(req, res, 201, created);
    } catch (err) {
      throw clashOf(err, 'userName');
    }
  });

  protected readonly replace = handler(async (req, res) => {
    const { id: connectionId } = connectionOf(res);
    const { resource } = normalizeResource(USER_TYPE, req.body);
    const user = await this.change(connectionId, req, (current, tx) =>
      this.d.users.replace(connectionId, current.id, userFields(resource), tx),
    );
    await this.sendOne(req, res, 200, user!);
  });

  protected readonly patch = handler(async (req, res) => {
    const { id: connectionId } = connectionOf(res);
    const user = await this.change(connectionId, req, async (current, tx) => {
      const stored = {
        ...current.resource,
        userName: current.userName,
        active: current.active,
        ...(current.externalId !== null ? { externalId: current.externalId } : {}),
      } as JsonObject;
      const { resource, changed } = patched(USER_TYPE, stored, req, current.id);
      return changed ? (await this.d.users.replace(connectionId, current.id, userFields(resource), tx))! : current;
    });
    await this.answerPatch(req, res, user);
  });

  protected read(connectionId: string, id: string, { tx, forUpdate, projection }: ReadOptions) {
    return this.d.users.get(connectionId, id, {
      tx,
      forUpdate,
      ...(projection ? { withGroups: !excludes(projection, 'groups') } : {}),
    });
  }

  protected erase(connectionId: string, id: string, tx: Transaction) {
    return this.d.users.delete(connectionId, id, tx);
  }

  /** Presents users; their groups come with the row (list, get) or are read here (after a write). */
  protected async present(req: Request, list: DirectoryUser[], p: Projection) {
    const wanted = !excludes(p, 'groups');
    const missing = wanted ? list.filter((u) => !u.groups) : [];
    const read = missing.length
      ? await this.d.groups.groupsOf(
          missing[0].connectionId,
          missing.map((u) => u.id),
        )
      : undefined;
    return list.map((u) =>
      project(presentUser(u, this.base(req), wanted ? (u.groups ?? read?.get(u.id)) : undefined), p),
    );
  }
}
