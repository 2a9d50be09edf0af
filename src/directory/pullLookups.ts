import type { Transaction } from 'sequelize';
import type { Sql } from '../db/sql';

/**
 * What a pull source reads back from the directory store as it reads (stored users' resources,
 * group names and members, ids by DN or name, every stored id for the sweep). `PullStore`, which
 * writes, is one of these.
 */
export class PullLookups {
  constructor(protected readonly sql: Sql) {}

  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    return this.sql.transaction(fn);
  }

  /** The stored resources of these users (those that exist). */
  async users(connectionId: string, ids: string[], tx?: Transaction): Promise<Map<string, Record<string, unknown>>> {
    if (ids.length === 0) return new Map();
    const rows = await this.sql.query<{ id: string; resource: Record<string, unknown> }>(
      'SELECT id, resource FROM directory_users WHERE connection_id = $1 AND id = ANY($2::uuid[])',
      [connectionId, ids],
      tx,
    );
    return new Map(rows.map((r) => [r.id, r.resource]));
  }

  /** The stored members of these groups of a connection, by group id. */
  async membersByGroup(connectionId: string, groupIds: string[]): Promise<Map<string, string[]>> {
    if (groupIds.length === 0) return new Map();
    const rows = await this.sql.query<{ g: string; u: string[] }>(
      `SELECT group_id::text AS g, array_agg(user_id::text) AS u FROM directory_memberships
       WHERE connection_id = $1 AND group_id = ANY(string_to_array($2, ',')::uuid[]) GROUP BY group_id`,
      [connectionId, groupIds.join(',')],
    );
    return new Map(rows.map((r) => [r.g, r.u]));
  }

  /**
   * Ids of a connection's users by their external ids (LDAP DNs) compared as DN keys: lower case,
   * no spaces around `,` `=` `+` (as `dnKey` makes them). Keys no user has are left out.
   */
  async userIdsByDnKey(connectionId: string, keys: string[]): Promise<Map<string, string>> {
    if (keys.length === 0) return new Map();
    const rows = await this.sql.query<{ id: string; key: string }>(
      String.raw`
      SELECT u.id::text AS id, k.key FROM jsonb_array_elements_text($2::jsonb) AS k(key)
      JOIN directory_users u ON u.connection_id = $1 AND lower(CASE WHEN u.external_id ~ '\s'
        THEN regexp_replace(regexp_replace(u.external_id, '^\s+|\s+$', '', 'g'), '\s*([,=+])\s*', '\1', 'g')
        ELSE u.external_id END) = k.key`,
      [connectionId, JSON.stringify(keys)],
    );
    return new Map(rows.map((r) => [r.key, r.id]));
  }

  /** Ids of a connection's users by user name, compared in lower case (names given in lower case). */
  async userIdsByName(connectionId: string, names: string[]): Promise<Map<string, string>> {
    if (names.length === 0) return new Map();
    const rows = await this.sql.query<{ id: string; name: string }>(
      `SELECT u.id::text AS id, k.name FROM jsonb_array_elements_text($2::jsonb) AS k(name)
       JOIN directory_users u ON u.connection_id = $1 AND lower(u.user_name) = k.name`,
      [connectionId, JSON.stringify(names)],
    );
    return new Map(rows.map((r) => [r.name, r.id]));
  }

  /** Ids of a connection's users by email, compared in lower case (emails given in lower case). */
  async userIdsByEmail(connectionId: string, emails: string[]): Promise<Map<string, string>> {
    if (emails.length === 0) return new Map();
    const rows = await this.sql.query<{ id: string; email: string }>(
      `SELECT u.id::text AS id, k.email FROM jsonb_array_elements_text($2::jsonb) AS k(email)
       JOIN directory_users u ON u.connection_id = $1 AND lower(u.email) = k.email`,
      [connectionId, JSON.stringify(emails)],
    );
    return new Map(rows.map((r) => [r.email, r.id]));
  }

  /** One text field of every stored group's resource (an LDAP group's DN), by group id. */
  async groupResourceValues(connectionId: string, field: string): Promise<Map<string, string>> {
    const rows = await this.sql.query<{ id: string; v: string }>(
      'SELECT id::text AS id, resource->>$2 AS v FROM directory_groups WHERE connection_id = $1 AND resource->>$2 IS NOT NULL',
      [connectionId, field],
    );
    return new Map(rows.map((r) => [r.id, r.v]));
  }

  /** Stored ids of a connection's users, with the external id each came with (an LDAP DN). */
  async externalIds(connectionId: string): Promise<Array<{ id: string; externalId: string | null }>> {
    const rows = await this.sql.query<{ id: string; external_id: string | null }>(
      'SELECT id::text AS id, external_id FROM directory_users WHERE connection_id = $1',
      [connectionId],
    );
    return rows.map((r) => ({ id: r.id, externalId: r.external_id }));
  }

  /** Stored ids of a connection's users (through a cursor: 100,000 ids are not parsed in one go). */
  userIds(connectionId: string): Promise<string[]> {
    return this.ids('directory_users', connectionId);
  }

  /** Stored ids of a connection's groups. */
  groupIds(connectionId: string): Promise<string[]> {
    return this.ids('directory_groups', connectionId);
  }

  private async ids(table: 'directory_users' | 'directory_groups', connectionId: string): Promise<string[]> {
    const ids: string[] = [];
    await this.sql.inBatches<{ id: string }>(
      `SELECT id::text AS id FROM ${table} WHERE connection_id = $1`,
      [connectionId],
      (rows) => {
        for (const r of rows) ids.push(r.id);
      },
    );
    return ids;
  }

  /** The stored names of these groups (those that exist). */
  async groupNames(connectionId: string, ids: string[], tx?: Transaction): Promise<Map<string, string>> {
    if (ids.length === 0) return new Map();
    const rows = await this.sql.query<{ id: string; display_name: string }>(
      'SELECT id, display_name FROM directory_groups WHERE connection_id = $1 AND id = ANY($2::uuid[])',
      [connectionId, ids],
      tx,
    );
    return new Map(rows.map((r) => [r.id, r.display_name]));
  }
}
