import type { Sql } from '../../db/sql';
import type { CustomerTarget } from '../planning/types';

/**
 * The portal accesses and organization memberships a customers connection granted (JSM Customer
 * Sync), so that it withdraws only what it granted and never fights another connection.
 */
export class CustomerGrants {
  constructor(private readonly sql: Sql) {}

  /** `desk:<id>|<accountId>` and `org:<id>|<accountId>` this connection granted (of the given accounts, when given). */
  async of(connectionId: string, accountIds?: string[]): Promise<Set<string>> {
    const rows = await this.sql.query<{ k: string }>(
      `SELECT target_kind || ':' || target_id || '|' || account_id AS k FROM customer_grants
       WHERE connection_id = $1 AND ($2::text[] IS NULL OR account_id = ANY($2::text[]))`,
      [connectionId, accountIds ?? null],
    );
    return new Set(rows.map((r) => r.k));
  }

  /** The accounts this connection granted any of these places (`desk:<id>`, `org:<id>`). */
  async accountsAt(connectionId: string, places: string[]): Promise<string[]> {
    if (places.length === 0) return [];
    const rows = await this.sql.query<{ account_id: string }>(
      `SELECT DISTINCT account_id FROM customer_grants
       WHERE connection_id = $1 AND target_kind || ':' || target_id = ANY($2::text[])`,
      [connectionId, places],
    );
    return rows.map((r) => r.account_id);
  }

  async add(connectionId: string, target: CustomerTarget, targetId: string, accountIds: string[]): Promise<void> {
    if (accountIds.length === 0) return;
    await this.sql.query(
      `INSERT INTO customer_grants (connection_id, target_kind, target_id, account_id)
       SELECT $1, $2, $3, a FROM unnest($4::text[]) AS a ON CONFLICT DO NOTHING`,
      [connectionId, target, targetId, accountIds],
    );
  }

  async remove(connectionId: string, target: CustomerTarget, targetId: string, accountIds: string[]): Promise<void> {
    if (accountIds.length === 0) return;
    await this.sql.query(
      `DELETE FROM customer_grants WHERE connection_id = $1 AND target_kind = $2 AND target_id = $3 AND account_id = ANY($4::text[])`,
      [connectionId, target, targetId, accountIds],
    );
  }
}
