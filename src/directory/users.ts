import type { Transaction } from 'sequelize';
import type { Sql } from '../db/sql';
import { listPage, writeUnique } from './pages';
import {
  UniquenessConflict,
  type DirectoryUser,
  type ListQuery,
  type MemberRef,
  type Page,
  type UserFields,
} from './types';

const COLUMNS =
  'connection_id, id, user_name, external_id, display_name, email, active, resource, version, created_at, updated_at';
const prefixed = COLUMNS.split(', ')
  .map((c) => `r.${c}`)
  .join(', ');

/** The user's groups as JSON, computed in the same query (saves a round trip per request). */
const GROUPS_SQL = `(SELECT COALESCE(jsonb_agg(jsonb_build_object('id', g.id, 'display', g.display_name) ORDER BY g.display_name, g.id), '[]'::jsonb)
  FROM directory_memberships m JOIN directory_groups g ON g.connection_id = m.connection_id AND g.id = m.group_id
  WHERE m.connection_id = r.connection_id AND m.user_id = r.id) AS groups`;

interface Row {
  groups?: MemberRef[];
  connection_id: string;
  id: string;
  user_name: string;
  external_id: string | null;
  display_name: string | null;
  email: string | null;
  active: boolean;
  resource: DirectoryUser['resource'];
  version: number;
  created_at: Date;
  updated_at: Date;
  total?: string;
}

const toUser = (r: Row): DirectoryUser => ({
  ...(r.groups ? { groups: r.groups } : {}),
  connectionId: r.connection_id,
  id: r.id,
  userName: r.user_name,
  externalId: r.external_id,
  displayName: r.display_name,
  email: r.email,
  active: r.active,
  resource: r.resource,
  version: r.version,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** Users of each connection's directory. Every write also queues a sync request, atomically. */
export class UserStore {
  constructor(private readonly db: Sql) {}

  /** Creates a user; a taken userName (case-insensitive) is a UniquenessConflict. */
  async create(connectionId: string, id: string, f: UserFields, tx?: Transaction): Promise<DirectoryUser> {
    const [row] = await this.write<Row>(
      `
      WITH u AS (
        INSERT INTO directory_users (connection_id, id, user_name, external_id, display_name, email, active, resource)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${COLUMNS}
      ), q AS (INSERT INTO sync_requests (connection_id, subject_type, subject_id, change, traceparent) SELECT connection_id, 'user', id, 'created', :traceparent FROM u)
      SELECT * FROM u`,
      [connectionId, id, f.userName, f.externalId, f.displayName, f.email, f.active, JSON.stringify(f.resource)],
      f.userName,
      tx,
    );
    return toUser(row);
  }

  /** Replaces a user's fields and bumps its version; undefined when it does not exist. */
  async replace(connectionId: string, id: string, f: UserFields, tx?: Transaction): Promise<DirectoryUser | undefined> {
    const [row] = await this.write<Row>(
      `
      WITH u AS (
        UPDATE directory_users SET user_name = $3, external_id = $4, display_name = $5, email = $6, active = $7, resource = $8,
               version = version + 1, updated_at = now()
        WHERE connection_id = $1 AND id = $2 RETURNING ${COLUMNS}
      ), q AS (INSERT INTO sync_requests (connection_id, subject_type, subject_id, change, traceparent) SELECT connection_id, 'user', id, 'updated', :traceparent FROM u)
      SELECT * FROM u`,
      [connectionId, id, f.userName, f.externalId, f.displayName, f.email, f.active, JSON.stringify(f.resource)],
      f.userName,
      tx,
    );
    return row ? toUser(row) : undefined;
  }

  /** Deletes a user (and its memberships); false when it did not exist. */
  async delete(connectionId: string, id: string, tx?: Transaction): Promise<boolean> {
    const rows = await this.db.query<{ id: string }>(
      `
      WITH u AS (DELETE FROM directory_users WHERE connection_id = $1 AND id = $2 RETURNING connection_id, id),
      q AS (INSERT INTO sync_requests (connection_id, subject_type, subject_id, change, traceparent) SELECT connection_id, 'user', id, 'deleted', :traceparent FROM u)
      SELECT id FROM u`,
      [connectionId, id],
      tx,
    );
    return rows.length > 0;
  }

  /** One user; with forUpdate, locked until the transaction ends; withGroups, with its groups. */
  async get(
    connectionId: string,
    id: string,
    opts: { tx?: Transaction; forUpdate?: boolean; withGroups?: boolean } = {},
  ): Promise<DirectoryUser | undefined> {
    const rows = await this.db.query<Row>(
      `SELECT ${prefixed}${opts.withGroups ? `, ${GROUPS_SQL}` : ''} FROM directory_users r WHERE r.connection_id = $1 AND r.id = $2${opts.forUpdate ? ' FOR UPDATE OF r' : ''}`,
      [connectionId, id],
      opts.tx,
    );
    return rows[0] ? toUser(rows[0]) : undefined;
  }

  /** A page of users matching a query, with the total count (and each user's groups when asked). */
  async list(q: ListQuery, opts: { withGroups?: boolean } = {}): Promise<Page<DirectoryUser>> {
    const page = await listPage<Row>(
      this.db,
      'directory_users',
      `${prefixed}${opts.withGroups ? `, ${GROUPS_SQL}` : ''}`,
      q,
    );
    return { rows: page.rows.map(toUser), total: page.total };
  }

  private write<T>(sql: string, values: unknown[], userName: string, tx?: Transaction): Promise<T[]> {
    return writeUnique<T>(this.db, sql, values, () => new UniquenessConflict('userName', userName), tx);
  }
}
