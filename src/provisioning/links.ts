import type { Sql } from '../db/sql';
import type { Link } from './plan';

/**
 * Links: which Jira account each IdP user of a connection became (matched by email once, then kept,
 * so an email change never makes a duplicate), whether it is deprovisioned, and what was written.
 */
export class LinkRepository {
  constructor(private readonly sql: Sql) {}

  /** Every link of a connection, by IdP user id. */
  async all(connectionId: string): Promise<Map<string, Link>> {
    const rows = await this.sql.query<{
      user_id: string;
      account_id: string;
      deprovisioned: boolean;
      properties: Record<string, unknown>;
      removed_groups: string[];
    }>(
      'SELECT user_id, account_id, deprovisioned, properties, removed_groups FROM jira_links WHERE connection_id = $1',
      [connectionId],
    );
    return new Map(
      rows.map((r) => [
        r.user_id,
        {
          accountId: r.account_id,
          deprovisioned: r.deprovisioned,
          properties: r.properties,
          removedGroups: r.removed_groups,
        },
      ]),
    );
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
  async departed(connectionId: string): Promise<string[]> {
    const rows = await this.sql.query<{ user_id: string }>(
      `
      SELECT l.user_id FROM jira_links l WHERE l.connection_id = $1 AND NOT l.deprovisioned
        AND NOT EXISTS (SELECT 1 FROM directory_users u WHERE u.connection_id = l.connection_id AND u.id = l.user_id)`,
      [connectionId],
    );
    return rows.map((r) => r.user_id);
  }
}
