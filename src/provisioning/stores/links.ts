import type { Sql } from '../../db/sql';
import type { Link } from '../planning/types';

/** Links handed over at a time when all are read. */
const LINK_BATCH = 2000;

/**
 * Links: which Jira account each IdP user of a connection became (matched by email once, then kept,
 * so an email change never makes a duplicate), whether it is deprovisioned, and what was written.
 */
export class LinkRepository {
  constructor(private readonly sql: Sql) {}

  /** Every link of a connection (or those of the given IdP users), by IdP user id. */
  async all(connectionId: string, userIds?: string[]): Promise<Map<string, Link>> {
    type Row = {
      user_id: string;
      account_id: string;
      deprovisioned: boolean;
      properties: Record<string, unknown>;
      removed_groups: string[];
    };
    const links = new Map<string, Link>();
    const add = (rows: Row[]) => {
      for (const r of rows)
        links.set(r.user_id, {
          accountId: r.account_id,
          deprovisioned: r.deprovisioned,
          properties: r.properties,
          removedGroups: r.removed_groups,
        });
    };
    const select = 'SELECT user_id, account_id, deprovisioned, properties, removed_groups FROM jira_links';
    // Every link (100,000 for a large directory) comes in batches, giving the event loop way between them
    // (each with its properties and removed groups to parse: fewer than the cursor's default).
    if (userIds)
      add(
        await this.sql.query<Row>(`${select} WHERE connection_id = $1 AND user_id = ANY($2::uuid[])`, [
          connectionId,
          userIds,
        ]),
      );
    else await this.sql.inBatches<Row>(`${select} WHERE connection_id = $1`, [connectionId], add, LINK_BATCH);
    return links;
  }

  /** One IdP user's link, if it has one. */
  async get(connectionId: string, userId: string): Promise<Link | undefined> {
    const rows = await this.sql.query<{
      account_id: string;
      deprovisioned: boolean;
      properties: Record<string, unknown>;
      removed_groups: string[];
    }>(
      'SELECT account_id, deprovisioned, properties, removed_groups FROM jira_links WHERE connection_id = $1 AND user_id = $2',
      [connectionId, userId],
    );
    const r = rows[0];
    return (
      r && {
        accountId: r.account_id,
        deprovisioned: r.deprovisioned,
        properties: r.properties,
        removedGroups: r.removed_groups,
      }
    );
  }

  /** Links an IdP user to a Jira account (an existing link keeps its account: email changes never re-link). */
  async save(connectionId: string, userId: string, accountId: string, email: string): Promise<void> {
    await this.sql.query(
      `INSERT INTO jira_links (connection_id, user_id, account_id, email) VALUES ($1, $2, $3, $4)
      ON CONFLICT (connection_id, user_id) DO UPDATE SET account_id = EXCLUDED.account_id, email = EXCLUDED.email, deprovisioned = false, removed_groups = '[]', updated_at = now()`,
      [connectionId, userId, accountId, email],
    );
  }

  async setDeprovisioned(
    connectionId: string,
    userId: string,
    deprovisioned: boolean,
    removedGroups: string[] = [],
  ): Promise<void> {
    await this.sql.query(
      'UPDATE jira_links SET deprovisioned = $3, removed_groups = $4, updated_at = now() WHERE connection_id = $1 AND user_id = $2',
      [connectionId, userId, deprovisioned, JSON.stringify(removedGroups)],
    );
  }

  async saveProperty(connectionId: string, userId: string, key: string, value: unknown): Promise<void> {
    await this.sql.query(
      'UPDATE jira_links SET properties = properties || jsonb_build_object($3::text, $4::jsonb), updated_at = now() WHERE connection_id = $1 AND user_id = $2',
      [connectionId, userId, key, JSON.stringify(value)],
    );
  }

  /** The connection's linked users that the directory no longer has (and that are not deprovisioned yet). */
  async departed(connectionId: string, among?: string[]): Promise<string[]> {
    const rows = await this.sql.query<{ user_id: string }>(
      `
      SELECT l.user_id FROM jira_links l WHERE l.connection_id = $1 AND NOT l.deprovisioned
        AND ($2::uuid[] IS NULL OR l.user_id = ANY($2::uuid[]))
        AND NOT EXISTS (SELECT 1 FROM directory_users u WHERE u.connection_id = l.connection_id AND u.id = l.user_id)`,
      [connectionId, among ?? null],
    );
    return rows.map((r) => r.user_id);
  }

  /** The IdP users of this connection linked to these Jira accounts. */
  async usersOfAccounts(connectionId: string, accountIds: string[]): Promise<string[]> {
    const rows = await this.sql.query<{ user_id: string }>(
      'SELECT user_id::text AS user_id FROM jira_links WHERE connection_id = $1 AND account_id = ANY($2::text[])',
      [connectionId, accountIds],
    );
    return rows.map((r) => r.user_id);
  }

  /** Which of these Jira accounts are linked to an IdP user of this connection. */
  async linkedAmong(connectionId: string, accountIds: string[]): Promise<Set<string>> {
    const rows = await this.sql.query<{ account_id: string }>(
      'SELECT DISTINCT account_id FROM jira_links WHERE connection_id = $1 AND account_id = ANY($2::text[])',
      [connectionId, accountIds],
    );
    return new Set(rows.map((r) => r.account_id));
  }

  /**
   * Who operations are about, for people to read: by IdP user id (the linked email, else the
   * directory's email or user name, and display name) and by account id (the linked email).
   */
  async names(connectionId: string, userIds: string[], accountIds: string[]): Promise<Names> {
    const users = await this.sql.query<{ user_id: string; email: string | null; display_name: string | null }>(
      `SELECT ids.user_id::text AS user_id, COALESCE(l.email, u.email, u.user_name) AS email, u.display_name
       FROM unnest($2::uuid[]) AS ids(user_id)
       LEFT JOIN jira_links l ON l.connection_id = $1 AND l.user_id = ids.user_id
       LEFT JOIN directory_users u ON u.connection_id = $1 AND u.id = ids.user_id`,
      [connectionId, userIds],
    );
    const accounts = await this.sql.query<{ account_id: string; email: string | null }>(
      'SELECT DISTINCT ON (account_id) account_id, email FROM jira_links WHERE connection_id = $1 AND account_id = ANY($2::text[])',
      [connectionId, accountIds],
    );
    return {
      users: new Map(users.map((r) => [r.user_id, { email: r.email, displayName: r.display_name }])),
      accounts: new Map(accounts.map((r) => [r.account_id, { email: r.email, displayName: null }])),
    };
  }
}

/** Emails and display names of the users and accounts operations name. */
export interface Names {
  users: Map<string, { email: string | null; displayName: string | null }>;
  accounts: Map<string, { email: string | null; displayName: string | null }>;
}
