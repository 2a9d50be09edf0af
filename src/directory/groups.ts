import type { Transaction } from 'sequelize';
import type { Sql } from '../db/sql';
import { listPage, writeUnique } from './pages';
import {
  UniquenessConflict,
  type DirectoryGroup,
  type GroupFields,
  type ListQuery,
  type MemberRef,
  type Page,
} from './types';
import { isUuid } from '../db/ids';

const COLUMNS = 'connection_id, id, display_name, external_id, resource, version, created_at, updated_at';

interface Row {
  connection_id: string;
  id: string;
  display_name: string;
  external_id: string | null;
  resource: DirectoryGroup['resource'];
  version: number;
  created_at: Date;
  updated_at: Date;
  total?: string;
}

const toGroup = (r: Row): DirectoryGroup => ({
  connectionId: r.connection_id,
  id: r.id,
  displayName: r.display_name,
  externalId: r.external_id,
  resource: r.resource,
  version: r.version,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const queue = (change: string) =>
  `q AS (INSERT INTO sync_requests (connection_id, subject_type, subject_id, change, traceparent) SELECT connection_id, 'group', id, '${change}', :traceparent FROM g)`;

/** Groups and memberships of each connection's directory; member writes touch only membership rows. */
export class GroupStore {
  constructor(private readonly db: Sql) {}

  /** Creates a group; a taken displayName (case-insensitive) is a UniquenessConflict. */
  async create(connectionId: string, id: string, f: GroupFields, tx?: Transaction): Promise<DirectoryGroup> {
    const [row] = await this.write<Row>(
      `
      WITH g AS (INSERT INTO directory_groups (connection_id, id, display_name, external_id, resource) VALUES ($1, $2, $3, $4, $5) RETURNING ${COLUMNS}),
      ${queue('created')} SELECT * FROM g`,
      [connectionId, id, f.displayName, f.externalId, JSON.stringify(f.resource)],
      f.displayName,
      tx,
    );
    return toGroup(row);
  }

  /** Replaces a group's attributes (not its members) and bumps its version. */
  async replace(
    connectionId: string,
    id: string,
    f: GroupFields,
    tx?: Transaction,
  ): Promise<DirectoryGroup | undefined> {
    const [row] = await this.write<Row>(
      `
      WITH g AS (UPDATE directory_groups SET display_name = $3, external_id = $4, resource = $5, version = version + 1, updated_at = now()
                 WHERE connection_id = $1 AND id = $2 RETURNING ${COLUMNS}),
      ${queue('updated')} SELECT * FROM g`,
      [connectionId, id, f.displayName, f.externalId, JSON.stringify(f.resource)],
      f.displayName,
      tx,
    );
    return row ? toGroup(row) : undefined;
  }

  /** Deletes a group and its memberships; false when it did not exist. */
  async delete(connectionId: string, id: string, tx?: Transaction): Promise<boolean> {
    const rows = await this.db.query<{ id: string }>(
      `
      WITH g AS (DELETE FROM directory_groups WHERE connection_id = $1 AND id = $2 RETURNING connection_id, id),
      ${queue('deleted')} SELECT id FROM g`,
      [connectionId, id],
      tx,
    );
    return rows.length > 0;
  }

  /** One group; with forUpdate, locked until the transaction ends. */
  async get(
    connectionId: string,
    id: string,
    opts: { tx?: Transaction; forUpdate?: boolean } = {},
  ): Promise<DirectoryGroup | undefined> {
    const rows = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM directory_groups WHERE connection_id = $1 AND id = $2${opts.forUpdate ? ' FOR UPDATE' : ''}`,
      [connectionId, id],
      opts.tx,
    );
    return rows[0] ? toGroup(rows[0]) : undefined;
  }

  /** A page of groups matching a query, with the total count. */
  async list(q: ListQuery): Promise<Page<DirectoryGroup>> {
    const page = await listPage<Row>(
      this.db,
      'directory_groups',
      COLUMNS.split(', ')
        .map((c) => `r.${c}`)
        .join(', '),
      q,
    );
    return { rows: page.rows.map(toGroup), total: page.total };
  }

  /** Adds users to a group (already-members are fine); returns the IDs that are not users of this connection. */
  async addMembers(
    connectionId: string,
    groupId: string,
    userIds: string[],
    tx?: Transaction,
  ): Promise<{ missing: string[] }> {
    const ids = [...new Set(userIds)];
    const valid = ids.filter((id) => isUuid(id));
    const rows = await this.db.query<{ missing: string[] | null }>(
      `
      WITH wanted AS (SELECT DISTINCT unnest($3::uuid[]) AS user_id),
      found AS (SELECT w.user_id FROM wanted w JOIN directory_users u ON u.connection_id = $1 AND u.id = w.user_id),
      ins AS (INSERT INTO directory_memberships (connection_id, group_id, user_id)
              SELECT $1, $2, f.user_id FROM found f JOIN directory_groups g ON g.connection_id = $1 AND g.id = $2
              ON CONFLICT DO NOTHING RETURNING user_id)
      SELECT (SELECT array_agg(w.user_id::text) FROM wanted w WHERE w.user_id NOT IN (SELECT user_id FROM found)) AS missing,
             (SELECT count(*) FROM ins) AS added`,
      [connectionId, groupId, valid],
      tx,
    );
    return { missing: [...ids.filter((id) => !isUuid(id)), ...(rows[0]?.missing ?? [])] };
  }

  /** Removes these users from a group (absent ones are ignored). */
  async removeMembers(connectionId: string, groupId: string, userIds: string[], tx?: Transaction): Promise<void> {
    const valid = userIds.filter((id) => isUuid(id));
    if (valid.length === 0) return;
    await this.db.query(
      'DELETE FROM directory_memberships WHERE connection_id = $1 AND group_id = $2 AND user_id = ANY($3::uuid[])',
      [connectionId, groupId, valid],
      tx,
    );
  }

  /** Empties a group. */
  async removeAllMembers(connectionId: string, groupId: string, tx?: Transaction): Promise<void> {
    await this.db.query(
      'DELETE FROM directory_memberships WHERE connection_id = $1 AND group_id = $2',
      [connectionId, groupId],
      tx,
    );
  }

  /**
   * Records that a group's members changed: new version, and a sync request — for each of the
   * members concerned when they are known (users joined or left by id), else for the group.
   */
  async membersChanged(
    connectionId: string,
    groupId: string,
    tx?: Transaction,
    userIds?: string[],
  ): Promise<DirectoryGroup | undefined> {
    const request = userIds
      ? `q AS (INSERT INTO sync_requests (connection_id, subject_type, subject_id, change, traceparent)
               SELECT g.connection_id, 'user', u.id, 'members', :traceparent FROM g, unnest($3::uuid[]) AS u(id))`
      : queue('members');
    const rows = await this.db.query<Row>(
      `
      WITH g AS (UPDATE directory_groups SET version = version + 1, updated_at = now() WHERE connection_id = $1 AND id = $2 RETURNING ${COLUMNS}),
      ${request} SELECT * FROM g`,
      userIds ? [connectionId, groupId, [...new Set(userIds.filter(isUuid))]] : [connectionId, groupId],
      tx,
    );
    return rows[0] ? toGroup(rows[0]) : undefined;
  }

  /** Members of these groups, by group ID. */
  async membersOf(connectionId: string, groupIds: string[]): Promise<Map<string, MemberRef[]>> {
    return this.relation(
      `SELECT m.group_id AS owner, u.id, u.display_name AS display FROM directory_memberships m
      JOIN directory_users u ON u.connection_id = m.connection_id AND u.id = m.user_id
      WHERE m.connection_id = $1 AND m.group_id = ANY($2::uuid[]) ORDER BY m.created_at, u.id`,
      connectionId,
      groupIds,
    );
  }

  /** Groups of these users, by user ID. */
  async groupsOf(connectionId: string, userIds: string[]): Promise<Map<string, MemberRef[]>> {
    return this.relation(
      `SELECT m.user_id AS owner, g.id, g.display_name AS display FROM directory_memberships m
      JOIN directory_groups g ON g.connection_id = m.connection_id AND g.id = m.group_id
      WHERE m.connection_id = $1 AND m.user_id = ANY($2::uuid[]) ORDER BY g.display_name`,
      connectionId,
      userIds,
    );
  }

  /** How many members these groups have in all (to refuse absurdly large responses). */
  async memberCount(connectionId: string, groupIds: string[]): Promise<number> {
    const [{ n }] = await this.db.query<{ n: string }>(
      'SELECT count(*) AS n FROM directory_memberships WHERE connection_id = $1 AND group_id = ANY($2::uuid[])',
      [connectionId, groupIds],
    );
    return Number(n);
  }

  private async relation(sql: string, connectionId: string, ids: string[]): Promise<Map<string, MemberRef[]>> {
    const out = new Map<string, MemberRef[]>(ids.map((id) => [id, []]));
    if (ids.length === 0) return out;
    const rows = await this.db.query<{ owner: string; id: string; display: string | null }>(sql, [connectionId, ids]);
    for (const r of rows) out.get(r.owner)?.push({ id: r.id, display: r.display });
    return out;
  }

  private write<T>(sql: string, values: unknown[], displayName: string, tx?: Transaction): Promise<T[]> {
    return writeUnique<T>(this.db, sql, values, () => new UniquenessConflict('displayName', displayName), tx);
  }
}
