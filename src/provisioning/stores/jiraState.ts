import type { Sql } from '../../db/sql';
import type { JiraState } from '../planning/types';

/**
 * What the app knows of a site's Jira between full reads: every group (by id and name) and the
 * members of the groups it read or wrote. A full reconciliation replaces it with what Jira said;
 * every write the executor makes is recorded as it succeeds. Runs started by directory changes plan
 * from it without reading Jira. Drift made in Jira outside the app is seen at the next full read.
 */
export class JiraStateStore {
  constructor(private readonly sql: Sql) {}

  /** Replaces the site's groups with Jira's, and the members of the groups that were read. */
  async save(clientKey: string, state: JiraState): Promise<void> {
    const groups = [...state.groups.values()];
    const read = [...state.members.keys()];
    const members = [...state.members].flatMap(([groupId, accounts]) => [...accounts].map((a) => [groupId, a]));
    await this.sql.transaction(async (tx) => {
      await this.sql.query(
        `DELETE FROM jira_group_members m WHERE client_key = $1
           AND (m.group_id = ANY($2::text[]) OR NOT m.group_id = ANY($3::text[]))`,
        [clientKey, read, groups.map((g) => g.groupId)],
        tx,
      );
      await this.sql.query(
        'DELETE FROM jira_groups WHERE client_key = $1 AND NOT group_id = ANY($2::text[])',
        [clientKey, groups.map((g) => g.groupId)],
        tx,
      );
      await this.sql.query(
        `INSERT INTO jira_groups (client_key, group_id, name, members_known)
         SELECT $1, g.id, g.name, g.id = ANY($4::text[]) FROM unnest($2::text[], $3::text[]) AS g(id, name)
         ON CONFLICT (client_key, group_id) DO UPDATE SET name = EXCLUDED.name,
           members_known = jira_groups.members_known OR EXCLUDED.members_known`,
        [clientKey, groups.map((g) => g.groupId), groups.map((g) => g.name), read],
        tx,
      );
      // Joined into one text each (group ids and account ids hold no comma): pg's array literal
      // builder took 118 ms of the event loop for 300,000 members, the join 18 ms.
      await this.sql.query(
        `INSERT INTO jira_group_members (client_key, group_id, account_id)
         SELECT $1, m.group_id, m.account_id FROM unnest(string_to_array($2, ','), string_to_array($3, ',')) AS m(group_id, account_id)
         ON CONFLICT DO NOTHING`,
        [clientKey, members.map((m) => m[0]).join(','), members.map((m) => m[1]).join(',')],
        tx,
      );
      await this.sql.query(
        `INSERT INTO jira_state_reads (client_key, read_at) VALUES ($1, now())
         ON CONFLICT (client_key) DO UPDATE SET read_at = now()`,
        [clientKey],
        tx,
      );
    });
  }

  /**
   * The site's groups, with an (empty) member set for every group whose members are known;
   * undefined when Jira was never read for this site. `fillMembers` adds the members a plan needs.
   */
  async load(clientKey: string): Promise<JiraState | undefined> {
    const [read] = await this.sql.query<{ read_at: Date }>(
      'SELECT read_at FROM jira_state_reads WHERE client_key = $1',
      [clientKey],
    );
    if (!read) return undefined;
    const groups = new Map<string, { groupId: string; name: string }>();
    const members = new Map<string, Set<string>>();
    for (const g of await this.sql.query<{ group_id: string; name: string; members_known: boolean }>(
      'SELECT group_id, name, members_known FROM jira_groups WHERE client_key = $1',
      [clientKey],
    )) {
      groups.set(g.name.toLowerCase(), { groupId: g.group_id, name: g.name });
      if (g.members_known) members.set(g.group_id, new Set<string>());
    }
    return { groups, members };
  }

  /**
   * Adds known members to a loaded state: all of them, or only the memberships of the given
   * accounts and the whole membership of the given groups (a plan from changes needs no more).
   */
  async fillMembers(
    clientKey: string,
    state: JiraState,
    only?: { accounts?: string[]; groupIds?: string[] },
  ): Promise<void> {
    type Row = { group_id: string; account_id: string };
    const add = (rows: Row[]) => {
      for (const m of rows) state.members.get(m.group_id)?.add(m.account_id);
    };
    if (only)
      add(
        await this.sql.query<Row>(
          `SELECT group_id, account_id FROM jira_group_members
           WHERE client_key = $1 AND (account_id = ANY($2::text[]) OR group_id = ANY($3::text[]))`,
          [clientKey, only.accounts ?? [], only.groupIds ?? []],
        ),
      );
    // Every known membership (300,000 and more) comes in batches, giving the event loop way between them.
    else
      await this.sql.inBatches<Row>(
        'SELECT group_id, account_id FROM jira_group_members WHERE client_key = $1',
        [clientKey],
        add,
      );
  }

  /** A group the app created (no members yet) or found by name (members unknown). */
  async groupSeen(clientKey: string, groupId: string, name: string, created: boolean): Promise<void> {
    await this.sql.query(
      `INSERT INTO jira_groups (client_key, group_id, name, members_known) VALUES ($1, $2, $3, $4)
       ON CONFLICT (client_key, group_id) DO UPDATE SET name = EXCLUDED.name`,
      [clientKey, groupId, name, created],
    );
  }

  async memberAdded(clientKey: string, groupId: string, accountId: string): Promise<void> {
    await this.sql.query(
      'INSERT INTO jira_group_members (client_key, group_id, account_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
      [clientKey, groupId, accountId],
    );
  }

  async memberRemoved(clientKey: string, groupId: string, accountId: string): Promise<void> {
    await this.sql.query('DELETE FROM jira_group_members WHERE client_key = $1 AND group_id = $2 AND account_id = $3', [
      clientKey,
      groupId,
      accountId,
    ]);
  }

  /** The account left the site (deleted): it is in no group any more. */
  async accountRemoved(clientKey: string, accountId: string): Promise<void> {
    await this.sql.query('DELETE FROM jira_group_members WHERE client_key = $1 AND account_id = $2', [
      clientKey,
      accountId,
    ]);
  }
}
