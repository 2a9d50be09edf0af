import { mapSliced } from '../slices';
import type { Sql } from '../db/sql';

/** A connection's directory as the planner reads it. */
export interface DirectorySnapshot {
  /** Every user with the names of their IdP groups, and their resource (only the keys asked for). */
  users: Array<{ id: string; active: boolean; groups: string[]; resource: Record<string, unknown> }>;
  /** Every IdP group's name. */
  allIdpGroups: string[];
}

/**
 * Users handed over at a time: a few milliseconds of the event loop to parse. A plan reads the links
 * and the Jira state beside it, and their batches can arrive in the same turn of the loop: 2,000
 * users with their groups' names and the links' batch beside them held it for 40–57 ms.
 */
const BATCH = 1000;

interface UserRow {
  id: string;
  active: boolean;
  resource: Record<string, unknown>;
  user_name: string;
  groups: string[];
}

/** Reads the directory store of a connection, for planning. */
export class SnapshotReader {
  constructor(private readonly sql: Sql) {}

  /**
   * The connection's directory as the planner needs it: users with their IdP groups, departed users,
   * all IdP groups. With `keys`, each resource keeps only those top-level keys (matched
   * case-insensitively, as attribute paths are): a 100,000-user directory then plans in a fraction
   * of the memory. With `userIds`, only those users (a run planned from changes).
   */
  async read(connectionId: string, keys?: string[], userIds?: string[]): Promise<DirectorySnapshot> {
    // In batches through a cursor: Postgres runs the query once, and between batches the event loop
    // answers what waits (read at once, 100,000 users held it for up to 100 ms at a time).
    const rows: UserRow[] = [];
    await this.sql.inBatches<UserRow>(
      `
      SELECT u.id, u.active, u.user_name,
             CASE WHEN $2::text[] IS NULL THEN u.resource
                  ELSE (SELECT COALESCE(jsonb_object_agg(k, v), '{}') FROM jsonb_each(u.resource) AS j(k, v) WHERE lower(k) = ANY($2::text[])) END AS resource,
             COALESCE(array_agg(g.display_name ORDER BY g.display_name) FILTER (WHERE g.id IS NOT NULL), '{}') AS groups
      FROM directory_users u
      LEFT JOIN directory_memberships m ON m.connection_id = u.connection_id AND m.user_id = u.id
      LEFT JOIN directory_groups g ON g.connection_id = m.connection_id AND g.id = m.group_id
      WHERE u.connection_id = $1 AND ($3::uuid[] IS NULL OR u.id = ANY($3::uuid[]))
      GROUP BY u.connection_id, u.id ORDER BY u.created_at, u.id`,
      [connectionId, keys ? keys.map((k) => k.toLowerCase()) : null, userIds ?? null],
      (batch) => {
        for (const r of batch) rows.push(r);
      },
      BATCH,
    );
    const groups = await this.sql.query<{ display_name: string }>(
      'SELECT display_name FROM directory_groups WHERE connection_id = $1',
      [connectionId],
    );
    // Each group name once, not once per member (pg makes a string of every array element).
    const names = new Map<string, string>();
    const intern = (n: string) => names.get(n) ?? (names.set(n, n), n);
    return {
      users: await mapSliced(rows, (u) => {
        const resource = u.resource ?? {}; // the parsed row's own object: no copy of 100,000 resources
        resource.userName = u.user_name;
        for (let i = 0; i < u.groups.length; i++) u.groups[i] = intern(u.groups[i]);
        return { id: u.id, active: u.active, groups: u.groups, resource };
      }),
      allIdpGroups: groups.map((g) => intern(g.display_name)),
    };
  }

  /** Changed IdP groups: their current members (user ids) and names. */
  async groupsDetail(connectionId: string, groupIds: string[]): Promise<{ members: string[]; names: string[] }> {
    const [members, names] = await Promise.all([
      this.sql.query<{ user_id: string }>(
        'SELECT DISTINCT user_id::text AS user_id FROM directory_memberships WHERE connection_id = $1 AND group_id = ANY($2::uuid[])',
        [connectionId, groupIds],
      ),
      this.sql.query<{ display_name: string }>(
        'SELECT display_name FROM directory_groups WHERE connection_id = $1 AND id = ANY($2::uuid[])',
        [connectionId, groupIds],
      ),
    ]);
    return { members: members.map((m) => m.user_id), names: names.map((n) => n.display_name) };
  }
}
