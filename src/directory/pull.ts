import type { Transaction } from 'sequelize';
import { isUniqueViolation } from '../db/sql';
import { breathe, sliceTimer } from '../slices';
import type { ReadLedger } from './ledger';
import { PullLookups } from './pullLookups';
import { UPSERT_USERS } from './pullStatements';
import { digestOf, firstOfEachName, type PullConflicts, type PulledGroup, type PulledUser } from './pulled';

/**
 * Bulk writes of a pull source (Entra ID, LDAP) into the directory store: upserts in batches of
 * hundreds of rows per statement that write only the rows that differ, membership changes that skip
 * members out of scope, and the sweep of a full read (what its ledger did not see goes). With a
 * ledger, each write tells it what the store holds and what changed. No sync request is queued: a
 * pull run plans right after it reads. Outside a transaction the upserts commit without waiting for
 * the disk (`Sql.bulk`): a read that a crash interrupts is read again, and the run's own later
 * commits flush them first.
 */
export class PullStore extends PullLookups {
  /**
   * Inserts users, and updates those that differ (version bumped): a row already equal is not
   * written. A userName that another user of the connection holds is left out and reported, never an
   * error for the whole batch.
   */
  async upsertUsers(
    connectionId: string,
    users: PulledUser[],
    ledger: ReadLedger | null,
    tx?: Transaction,
  ): Promise<PullConflicts['users']> {
    if (users.length === 0) return [];
    const { kept, repeated } = firstOfEachName(users, (u) => u.userName);
    const conflicts: PullConflicts['users'] = repeated.map((u) => ({ id: u.id, userName: u.userName }));
    const rows = [];
    const slice = sliceTimer(); // a page of 999 users' digests is some 10 ms of work
    for (const u of kept) {
      if (slice.due()) await breathe();
      const digest = digestOf(u);
      // The digest a full read loaded is the same: so is the row, and it is not sent.
      if (ledger?.sameDigest(u.id, digest)) ledger.sawUser(u.id);
      else
        rows.push({
          id: u.id,
          user_name: u.userName,
          email: u.email,
          display_name: u.displayName,
          active: u.active,
          external_id: u.externalId,
          resource: u.resource,
          digest,
        });
    }
    if (rows.length === 0) return conflicts;
    const values = [connectionId, JSON.stringify(rows)];
    // Two batches written at once (a reader keeps two in flight) can bring the same username: the one
    // that commits second meets the unique index, after the first committed. Written again, it sees
    // that user and leaves the name out as a conflict.
    let stored: Array<{ id: string; written: boolean; changed: boolean }> | undefined;
    for (let attempt = 1; !stored; attempt++) {
      try {
        stored = await this.sql.bulk<{ id: string; written: boolean; changed: boolean }>(UPSERT_USERS, values, tx);
      } catch (err) {
        if (tx || attempt === 3 || !isUniqueViolation(err)) throw err;
      }
    }
    if (ledger)
      for (const r of stored) {
        ledger.sawUser(r.id);
        if (r.written) ledger.rowsWritten++;
        if (r.written && r.changed) ledger.changedUser(r.id);
      }
    if (stored.length < rows.length) {
      const ok = new Set(stored.map((w) => w.id));
      for (const r of rows) if (!ok.has(r.id)) conflicts.push({ id: r.id, userName: r.user_name });
    }
    return conflicts;
  }

  /**
   * Inserts groups, and updates those that differ; a displayName another group of the connection
   * holds is left out and reported. The ledger learns the groups new to the store, and whether one
   * was renamed (what its members map to changes).
   */
  async upsertGroups(
    connectionId: string,
    groups: PulledGroup[],
    ledger: ReadLedger | null,
    tx?: Transaction,
  ): Promise<PullConflicts['groups']> {
    if (groups.length === 0) return [];
    const { kept, repeated } = firstOfEachName(groups, (g) => g.displayName);
    const conflicts: PullConflicts['groups'] = repeated.map((g) => ({ id: g.id, displayName: g.displayName }));
    const rows = kept.map((g) => ({ id: g.id, display_name: g.displayName, resource: g.resource }));
    // Every part of the statement sees the table as it was before it: `before` has the old names.
    const stored = await this.sql.bulk<{ id: string; changed: boolean; added: boolean; renamed: boolean }>(
      `
      WITH input AS (
        SELECT x.* FROM jsonb_to_recordset($2::jsonb) AS x(id uuid, display_name text, resource jsonb)
        WHERE NOT EXISTS (SELECT 1 FROM directory_groups d WHERE d.connection_id = $1 AND lower(d.display_name) = lower(x.display_name) AND d.id <> x.id)
      ), before AS (
        SELECT d.id, d.display_name FROM directory_groups d JOIN input i ON d.connection_id = $1 AND d.id = i.id
      ), written AS (
        INSERT INTO directory_groups AS d (connection_id, id, display_name, resource)
        SELECT $1, id, display_name, resource FROM input
        ON CONFLICT (connection_id, id) DO UPDATE SET display_name = EXCLUDED.display_name, resource = EXCLUDED.resource,
          version = d.version + 1, updated_at = now()
        WHERE (d.display_name, d.resource) IS DISTINCT FROM (EXCLUDED.display_name, EXCLUDED.resource)
        RETURNING d.id
      )
      SELECT i.id::text AS id, w.id IS NOT NULL AS changed, b.id IS NULL AS added,
        b.id IS NOT NULL AND b.display_name <> i.display_name AS renamed
      FROM input i LEFT JOIN written w ON w.id = i.id LEFT JOIN before b ON b.id = i.id`,
      [connectionId, JSON.stringify(rows)],
      tx,
    );
    if (ledger) {
      for (const g of stored) {
        ledger.sawGroup(g.id);
        if (g.changed) ledger.rowsWritten++;
        if (g.added) ledger.newGroup(g.id);
        if (g.renamed) ledger.everyUser();
      }
    }
    if (stored.length < rows.length) {
      const ok = new Set(stored.map((w) => w.id));
      for (const r of rows) if (!ok.has(r.id)) conflicts.push({ id: r.id, displayName: r.display_name });
    }
    return conflicts;
  }

  /**
   * Adds memberships (group id, user id); pairs whose user or group is not in the store (out of
   * scope, filtered, a conflict) are skipped, and pairs already there are not written. With
   * `reportMissing`, returns the user ids that were not in the store, for a caller that can resolve
   * them (a full read does not ask: one pass less).
   */
  async addMemberships(
    connectionId: string,
    pairs: Array<[string, string]>,
    ledger: ReadLedger | null,
    tx?: Transaction,
    reportMissing = false,
  ): Promise<string[]> {
    if (pairs.length === 0) return [];
    const fresh = ledger ? await ledger.newMemberships(pairs) : pairs;
    if (fresh.length > 0) await this.insertMemberships(connectionId, fresh, ledger, tx);
    if (!reportMissing) return [];
    const users = pairs.map((p) => p[1]);
    const rows = await this.sql.query<{ user_id: string }>(
      `
      SELECT DISTINCT x.u::text AS user_id FROM unnest($2::uuid[]) AS x(u)
      WHERE NOT EXISTS (SELECT 1 FROM directory_users u WHERE u.connection_id = $1 AND u.id = x.u)`,
      [connectionId, users],
      tx,
    );
    return rows.map((r) => r.user_id);
  }

  private async insertMemberships(
    connectionId: string,
    pairs: Array<[string, string]>,
    ledger: ReadLedger | null,
    tx?: Transaction,
  ): Promise<void> {
    const groups = pairs.map((p) => p[0]);
    const users = pairs.map((p) => p[1]);
    // Ids joined into one text each (uuids hold no comma): pg's array literal builder allocates per element.
    const added = await this.sql.bulk<{ u: string }>(
      `
      INSERT INTO directory_memberships AS m (connection_id, group_id, user_id)
      SELECT DISTINCT $1::uuid, x.g, x.u
      FROM unnest(string_to_array($2, ',')::uuid[], string_to_array($3, ',')::uuid[]) AS x(g, u)
      WHERE EXISTS (SELECT 1 FROM directory_users du WHERE du.connection_id = $1 AND du.id = x.u OFFSET 0)
        AND EXISTS (SELECT 1 FROM directory_groups dg WHERE dg.connection_id = $1 AND dg.id = x.g OFFSET 0)
      ON CONFLICT (connection_id, group_id, user_id) DO NOTHING
      RETURNING m.user_id::text AS u`,
      [connectionId, groups.join(','), users.join(',')],
      tx,
    );
    if (ledger) {
      ledger.rowsWritten += added.length;
      for (const a of added) ledger.changedUser(a.u);
    }
  }

  /**
   * What a full read needs as it begins, into its ledger: the digests of the connection's users (a
   * user whose digest is unchanged is not sent to the database) and its memberships (those the
   * read sees again are not written, and those it does not are the sweep's).
   */
  async beginFullRead(connectionId: string, ledger: ReadLedger): Promise<void> {
    const digests = new Map<string, string>();
    await this.sql.inBatches<{ id: string; digest: string }>(
      'SELECT id::text AS id, digest FROM directory_users WHERE connection_id = $1 AND digest IS NOT NULL',
      [connectionId],
      (rows) => {
        for (const r of rows) digests.set(r.id, r.digest);
      },
    );
    ledger.storedDigests(digests);
    const members = new Map<string, Set<string>>();
    // A user is in several groups: one string for its id in every set (half a million memberships
    // are otherwise as many strings, tens of MB held while the read goes on).
    const ids = new Map<string, string>();
    await this.sql.inBatches<{ g: string; u: string }>(
      'SELECT group_id::text AS g, user_id::text AS u FROM directory_memberships WHERE connection_id = $1',
      [connectionId],
      (rows) => {
        for (const { g, u } of rows) {
          let set = members.get(g);
          if (!set) members.set(g, (set = new Set()));
          let id = ids.get(u);
          if (id === undefined) ids.set(u, (id = u));
          set.add(id);
        }
      },
    );
    ledger.storedMemberships(members);
  }

  /** Removes these memberships (group id, user id); how many were there. */
  async removeMemberships(connectionId: string, pairs: Array<[string, string]>, tx?: Transaction): Promise<number> {
    if (pairs.length === 0) return 0;
    const rows = await this.sql.query(
      `
      DELETE FROM directory_memberships m
      USING unnest(string_to_array($2, ',')::uuid[], string_to_array($3, ',')::uuid[]) AS x(g, u)
      WHERE m.connection_id = $1 AND m.group_id = x.g AND m.user_id = x.u RETURNING 1`,
      [connectionId, pairs.map((p) => p[0]).join(','), pairs.map((p) => p[1]).join(',')],
      tx,
    );
    return rows.length;
  }

  async deleteUsers(connectionId: string, ids: string[], tx?: Transaction): Promise<number> {
    if (ids.length === 0) return 0;
    const rows = await this.sql.query(
      'DELETE FROM directory_users WHERE connection_id = $1 AND id = ANY($2::uuid[]) RETURNING id',
      [connectionId, ids],
      tx,
    );
    return rows.length;
  }

  async deleteGroups(connectionId: string, ids: string[], tx?: Transaction): Promise<number> {
    if (ids.length === 0) return 0;
    const rows = await this.sql.query(
      'DELETE FROM directory_groups WHERE connection_id = $1 AND id = ANY($2::uuid[]) RETURNING id',
      [connectionId, ids],
      tx,
    );
    return rows.length;
  }

  /**
   * After a full read: removes the users, groups and memberships its ledger did not see (the
   * memberships loaded when it began, see `beginFullRead`; a directory where nothing went costs
   * two reads of ids and no write), telling the ledger what went.
   */
  async sweep(
    connectionId: string,
    ledger: ReadLedger,
  ): Promise<{ users: number; groups: number; memberships: number }> {
    const users = (await this.userIds(connectionId)).filter((id) => !ledger.seesUser(id));
    const groups = (await this.groupIds(connectionId)).filter((id) => !ledger.seesGroup(id));
    const memberships = ledger.unseenMemberships();
    if (users.length + groups.length + memberships.length === 0) return { users: 0, groups: 0, memberships: 0 };
    const gone = await this.sql.transaction(async (tx) => ({
      memberships: await this.removeMemberships(connectionId, memberships, tx),
      groups: await this.deleteGroups(connectionId, groups, tx),
      users: await this.deleteUsers(connectionId, users, tx),
    }));
    for (const [, u] of memberships) ledger.changedUser(u);
    for (const u of users) ledger.changedUser(u);
    if (groups.length) ledger.everyUser();
    ledger.rowsWritten += gone.users + gone.groups + gone.memberships;
    return gone;
  }
}
