import type { Sql } from '../../db/sql';

/**
 * The Jira group memberships the app added (per connection), so that it removes only what it added
 * and never fights another connection of the same site.
 */
export class ManagedMemberships {
  constructor(private readonly sql: Sql) {}

  /**
   * `accountId|groupId` memberships this connection added, and those the tenant's other connections
   * added (of the given accounts only, when given).
   */
  async of(
    clientKey: string,
    connectionId: string,
    accountIds?: string[],
  ): Promise<{ mine: Set<string>; others: Set<string> }> {
    type Row = { connection_id: string; account_id: string; group_id: string };
    const mine = new Set<string>();
    const others = new Set<string>();
    const add = (rows: Row[]) => {
      for (const r of rows) (r.connection_id === connectionId ? mine : others).add(`${r.account_id}|${r.group_id}`);
    };
    const select = `SELECT mm.connection_id, mm.account_id, mm.group_id FROM managed_memberships mm
      JOIN connections c ON c.id = mm.connection_id WHERE c.client_key = $1`;
    // Every membership of the site (300,000 and more) comes in batches, giving the event loop way between them.
    if (accountIds)
      add(await this.sql.query<Row>(`${select} AND mm.account_id = ANY($2::text[])`, [clientKey, accountIds]));
    else await this.sql.inBatches<Row>(select, [clientKey], add);
    return { mine, others };
  }

  async add(connectionId: string, accountId: string, groupId: string, groupName: string): Promise<void> {
    await this.sql.query(
      'INSERT INTO managed_memberships (connection_id, account_id, group_id, group_name) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING',
      [connectionId, accountId, groupId, groupName],
    );
  }

  async remove(connectionId: string, accountId: string, groupId: string): Promise<void> {
    await this.sql.query(
      'DELETE FROM managed_memberships WHERE connection_id = $1 AND account_id = $2 AND group_id = $3',
      [connectionId, accountId, groupId],
    );
  }
}
