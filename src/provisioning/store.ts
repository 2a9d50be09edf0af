import type { Transaction } from 'sequelize';
import type { Sql } from '../db/sql';
import type { Link, PlannedOperation, PlannedUser } from './plan';

/** An operation as stored: what to do, where it stands. */
export interface StoredOperation {
  id: string;
  runId: string;
  clientKey: string;
  connectionId: string;
  phase: number;
  kind: string;
  subject: string;
  payload: Record<string, unknown>;
  reason: string;
  status: 'pending' | 'running' | 'done' | 'parked';
  attempts: number;
  outcome: string | null;
  error: string | null;
}

export interface RunRow {
  id: string;
  connectionId: string;
  clientKey: string;
  trigger: string;
  status: string;
  total: number;
  done: number;
  counts: Record<string, number>;
  error: string | null;
  /** reading: a pull source is still reading the IdP; applying: the plan's operations are being worked off. */
  stage: 'reading' | 'applying';
  /** What the read reported (pages, users seen, phase, …); empty for SCIM-fed runs. */
  progress: Record<string, unknown>;
  startedAt: Date;
  finishedAt: Date | null;
}

const toRun = (r: Record<string, unknown>): RunRow => ({
  id: r.id as string,
  connectionId: r.connection_id as string,
  clientKey: r.client_key as string,
  trigger: r.trigger as string,
  status: r.status as string,
  total: r.total as number,
  done: r.done as number,
  counts: r.counts as Record<string, number>,
  error: r.error as string | null,
  stage: (r.stage as RunRow['stage']) ?? 'applying',
  progress: (r.progress as Record<string, unknown>) ?? {},
  startedAt: r.started_at as Date,
  finishedAt: r.finished_at as Date | null,
});

const toOp = (r: Record<string, unknown>): StoredOperation => ({
  id: String(r.id),
  runId: r.run_id as string,
  clientKey: r.client_key as string,
  connectionId: r.connection_id as string,
  phase: r.phase as number,
  kind: r.kind as string,
  subject: r.subject as string,
  payload: r.payload as Record<string, unknown>,
  reason: r.reason as string,
  status: r.status as StoredOperation['status'],
  attempts: r.attempts as number,
  outcome: r.outcome as string | null,
  error: r.error as string | null,
});

/** What outcome counts as which figure of a run. */
const COUNTERS: Record<string, string> = {
  'ensureUser:created': 'usersCreated',
  'ensureUser:linked': 'usersLinked',
  'setProperty:updated': 'usersUpdated',
  'deprovision:deprovisioned': 'usersDeprovisioned',
  'reactivate:reactivated': 'usersReactivated',
  'createGroup:created': 'groupsCreated',
  'addMember:added': 'membershipsAdded',
  'removeMember:removed': 'membershipsRemoved',
  'reassignLeads:reassigned': 'leadsReassigned',
};

/** Runs, operations, links and managed memberships in Postgres: the engine's durable state. */
export class ProvisioningStore {
  constructor(private readonly sql: Sql) {}

  /**
   * The connection's directory as the planner needs it: users with their IdP groups, departed users,
   * all IdP groups. With `keys`, each resource keeps only those top-level keys (matched
   * case-insensitively, as attribute paths are): a 100,000-user directory then plans in a fraction
   * of the memory.
   */
  async snapshot(
    connectionId: string,
    keys?: string[],
  ): Promise<{ users: PlannedUser[]; departed: string[]; allIdpGroups: string[] }> {
    const users = await this.sql.query<{
      id: string;
      active: boolean;
      resource: Record<string, unknown>;
      user_name: string;
      groups: string[];
    }>(
      `
      SELECT u.id, u.active, u.user_name,
             CASE WHEN $2::text[] IS NULL THEN u.resource
                  ELSE (SELECT COALESCE(jsonb_object_agg(k, v), '{}') FROM jsonb_each(u.resource) AS j(k, v) WHERE lower(k) = ANY($2::text[])) END AS resource,
             COALESCE(array_agg(g.display_name ORDER BY g.display_name) FILTER (WHERE g.id IS NOT NULL), '{}') AS groups
      FROM directory_users u
      LEFT JOIN directory_memberships m ON m.connection_id = u.connection_id AND m.user_id = u.id
      LEFT JOIN directory_groups g ON g.connection_id = m.connection_id AND g.id = m.group_id
      WHERE u.connection_id = $1 GROUP BY u.connection_id, u.id ORDER BY u.created_at, u.id`,
      [connectionId, keys ? keys.map((k) => k.toLowerCase()) : null],
    );
    const departed = await this.sql.query<{ user_id: string }>(
      `
      SELECT l.user_id FROM jira_links l WHERE l.connection_id = $1 AND NOT l.deprovisioned
        AND NOT EXISTS (SELECT 1 FROM directory_users u WHERE u.connection_id = l.connection_id AND u.id = l.user_id)`,
      [connectionId],
    );
    const groups = await this.sql.query<{ display_name: string }>(
      'SELECT display_name FROM directory_groups WHERE connection_id = $1',
      [connectionId],
    );
    return {
      users: users.map((u) => ({
        id: u.id,
        active: u.active,
        groups: u.groups,
        resource: { ...u.resource, userName: u.user_name },
      })),
      departed: departed.map((d) => d.user_id),
      allIdpGroups: groups.map((g) => g.display_name),
    };
  }

  async links(connectionId: string): Promise<Map<string, Link>> {
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

  async link(connectionId: string, userId: string): Promise<Link | undefined> {
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
  async saveLink(connectionId: string, userId: string, accountId: string, email: string): Promise<void> {
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

  /** `accountId|groupId` memberships this connection added, and those the tenant's other connections added. */
  async managedMemberships(
    clientKey: string,
    connectionId: string,
  ): Promise<{ mine: Set<string>; others: Set<string> }> {
    const rows = await this.sql.query<{ connection_id: string; account_id: string; group_id: string }>(
      `
      SELECT mm.connection_id, mm.account_id, mm.group_id FROM managed_memberships mm JOIN connections c ON c.id = mm.connection_id WHERE c.client_key = $1`,
      [clientKey],
    );
    const mine = new Set<string>();
    const others = new Set<string>();
    for (const r of rows) (r.connection_id === connectionId ? mine : others).add(`${r.account_id}|${r.group_id}`);
    return { mine, others };
  }

  async addManaged(connectionId: string, accountId: string, groupId: string, groupName: string): Promise<void> {
    await this.sql.query(
      'INSERT INTO managed_memberships (connection_id, account_id, group_id, group_name) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING',
      [connectionId, accountId, groupId, groupName],
    );
  }

  async removeManaged(connectionId: string, accountId: string, groupId: string): Promise<void> {
    await this.sql.query(
      'DELETE FROM managed_memberships WHERE connection_id = $1 AND account_id = $2 AND group_id = $3',
      [connectionId, accountId, groupId],
    );
  }

  /** Starts a run with its planned operations in one transaction; undefined when the connection already has a run going. */
  async createRun(
    run: { id: string; connectionId: string; clientKey: string; trigger: string },
    ops: PlannedOperation[],
    coveredRequestId?: string,
  ): Promise<RunRow | undefined> {
    return this.sql.transaction(async (tx) => {
      const inserted = await this.sql.query<Record<string, unknown>>(
        `
        INSERT INTO sync_runs (id, connection_id, client_key, trigger, status, total) VALUES ($1, $2, $3, $4, 'running', $5)
        ON CONFLICT (connection_id) WHERE status = 'running' DO NOTHING RETURNING *`,
        [run.id, run.connectionId, run.clientKey, run.trigger, ops.length],
        tx,
      );
      if (inserted.length === 0) return undefined;
      await this.insertOperations(run.id, run.clientKey, ops, tx);
      if (coveredRequestId) {
        await this.sql.query(
          'UPDATE sync_requests SET processed_at = now() WHERE connection_id = $1 AND processed_at IS NULL AND id <= $2',
          [run.connectionId, coveredRequestId],
          tx,
        );
      }
      return toRun(inserted[0]);
    });
  }

  /** Starts a run that first reads the IdP (stage "reading"); undefined when the connection already has a run going. */
  async openReadingRun(run: {
    id: string;
    connectionId: string;
    clientKey: string;
    trigger: string;
  }): Promise<RunRow | undefined> {
    const inserted = await this.sql.query<Record<string, unknown>>(
      `
      INSERT INTO sync_runs (id, connection_id, client_key, trigger, status, stage, heartbeat_at) VALUES ($1, $2, $3, $4, 'running', 'reading', now())
      ON CONFLICT (connection_id) WHERE status = 'running' DO NOTHING RETURNING *`,
      [run.id, run.connectionId, run.clientKey, run.trigger],
    );
    return inserted[0] && toRun(inserted[0]);
  }

  /** What a reading run has done so far (also its heartbeat). */
  async reportProgress(runId: string, progress: Record<string, unknown>): Promise<void> {
    await this.sql.query(
      "UPDATE sync_runs SET progress = $2, heartbeat_at = now() WHERE id = $1 AND stage = 'reading'",
      [runId, JSON.stringify(progress)],
    );
  }

  /** The read is done: the plan's operations join the run, which moves on to applying them. */
  async attachPlan(
    runId: string,
    clientKey: string,
    ops: PlannedOperation[],
    progress: Record<string, unknown>,
  ): Promise<void> {
    await this.sql.transaction(async (tx) => {
      await this.insertOperations(runId, clientKey, ops, tx);
      await this.sql.query(
        "UPDATE sync_runs SET stage = 'applying', total = $2, progress = $3, heartbeat_at = now() WHERE id = $1",
        [runId, ops.length, JSON.stringify(progress)],
        tx,
      );
    });
  }

  /** Ends a run that could not go on (its read failed), with the reason. */
  async failRun(runId: string, error: string): Promise<void> {
    await this.sql.query(
      "UPDATE sync_runs SET status = 'failed', error = $2, finished_at = now() WHERE id = $1 AND status = 'running'",
      [runId, error],
    );
  }

  private async insertOperations(
    runId: string,
    clientKey: string,
    ops: PlannedOperation[],
    tx: Transaction,
  ): Promise<void> {
    // In chunks, so a plan of tens of thousands of operations never becomes one giant parameter.
    for (let i = 0; i < ops.length; i += 2000) {
      const chunk = ops
        .slice(i, i + 2000)
        .map((o) => ({ phase: o.phase, kind: o.op.kind, subject: o.subject, payload: o.op, reason: o.reason }));
      await this.sql.query(
        `
        INSERT INTO sync_operations (run_id, client_key, phase, kind, subject, payload, reason)
        SELECT $1, $2, o.phase, o.kind, o.subject, o.payload, o.reason
        FROM jsonb_to_recordset($3::jsonb) AS o(phase smallint, kind text, subject text, payload jsonb, reason text)`,
        [runId, clientKey, JSON.stringify(chunk)],
        tx,
      );
    }
  }

  /** Records a run that could not start (e.g. Jira could not be read), so the history shows why. */
  async recordFailedRun(
    run: { id: string; connectionId: string; clientKey: string; trigger: string },
    error: string,
  ): Promise<void> {
    await this.sql.query(
      "INSERT INTO sync_runs (id, connection_id, client_key, trigger, status, error, finished_at) VALUES ($1, $2, $3, $4, 'failed', $5, now())",
      [run.id, run.connectionId, run.clientKey, run.trigger, error],
    );
  }

  /**
   * Claims ready operations for this worker: pending, due, and in the lowest unfinished phase of
   * their run; SKIP LOCKED so instances never take the same one. Each applying run's phase is found
   * by an index scan that stops at its first open operation, then that phase's due operations by
   * another, so a claim costs the same in a run of 100 operations or of 100,000.
   */
  async claim(limit: number): Promise<StoredOperation[]> {
    const rows = await this.sql.query<Record<string, unknown>>(
      `
      WITH current AS (
        SELECT r.id AS run_id, r.connection_id,
          (SELECT e.phase FROM sync_operations e WHERE e.run_id = r.id AND e.status IN ('pending', 'running') ORDER BY e.phase LIMIT 1) AS phase
        FROM sync_runs r WHERE r.status = 'running' AND r.stage = 'applying'
      ), ready AS (
        SELECT o.id FROM current c
        CROSS JOIN LATERAL (
          SELECT o.id, o.not_before FROM sync_operations o
          WHERE o.run_id = c.run_id AND o.phase = c.phase AND o.status = 'pending' AND o.not_before <= now()
          ORDER BY o.not_before, o.id LIMIT $1 * 4
        ) o
        ORDER BY o.not_before, o.id LIMIT $1 * 4
      ), locked AS (
        -- Four candidates per slot: those another instance is claiming right now are skipped, the rest fill the slots.
        SELECT o.id FROM sync_operations o JOIN ready USING (id) WHERE o.status = 'pending' ORDER BY o.not_before, o.id LIMIT $1 FOR UPDATE OF o SKIP LOCKED
      )
      UPDATE sync_operations o SET status = 'running', claimed_at = now(), attempts = o.attempts + 1
      FROM locked, sync_runs r WHERE o.id = locked.id AND r.id = o.run_id
      RETURNING o.*, r.connection_id`,
      [limit],
    );
    return rows.map(toOp);
  }

  async finish(
    op: StoredOperation,
    status: 'done' | 'parked',
    outcome: string | null,
    error: string | null,
  ): Promise<void> {
    await this.sql.query(
      `
      WITH o AS (UPDATE sync_operations SET status = $2, outcome = $3, error = $4, finished_at = now() WHERE id = $1 AND status = 'running' RETURNING run_id)
      UPDATE sync_runs SET done = done + 1 WHERE id = (SELECT run_id FROM o)`,
      [op.id, status, outcome, error],
    );
  }

  async retryLater(op: StoredOperation, waitMs: number, error: string): Promise<void> {
    await this.sql.query(
      "UPDATE sync_operations SET status = 'pending', error = $2, not_before = now() + ($3 || ' milliseconds')::interval WHERE id = $1 AND status = 'running'",
      [op.id, error, String(Math.max(0, Math.round(waitMs)))],
    );
  }

  /** Operations whose worker died mid-flight go back to pending (each one is safe to apply again). */
  async recoverStale(leaseMs: number): Promise<number> {
    const rows = await this.sql.query(
      "UPDATE sync_operations SET status = 'pending' WHERE status = 'running' AND claimed_at < now() - ($1 || ' milliseconds')::interval RETURNING id",
      [String(leaseMs)],
    );
    // A run whose reader stopped reporting (its instance died mid-read) ends, so the next one can start.
    await this.sql.query(
      `UPDATE sync_runs SET status = 'failed', finished_at = now(), error = 'Interrupted: the instance reading the IdP stopped before it finished; the next sync reads again.'
      WHERE status = 'running' AND stage = 'reading' AND heartbeat_at < now() - ($1 || ' milliseconds')::interval`,
      [String(leaseMs)],
    );
    return rows.length;
  }

  /** Closes runs with nothing left to do: succeeded, or partial when some operation is parked. */
  async closeFinishedRuns(): Promise<RunRow[]> {
    const rows = await this.sql.query<Record<string, unknown>>(`
      UPDATE sync_runs r SET finished_at = now(),
        status = CASE WHEN EXISTS (SELECT 1 FROM sync_operations o WHERE o.run_id = r.id AND o.status = 'parked') THEN 'partial' ELSE 'succeeded' END,
        counts = (SELECT COALESCE(jsonb_object_agg(k, n), '{}') FROM (
          SELECT o.kind || ':' || COALESCE(o.outcome, o.status) AS k, count(*) AS n FROM sync_operations o WHERE o.run_id = r.id GROUP BY 1) c)
      WHERE r.status = 'running' AND r.stage = 'applying' AND NOT EXISTS (SELECT 1 FROM sync_operations o WHERE o.run_id = r.id AND o.status IN ('pending', 'running'))
      RETURNING r.*`);
    return rows.map((r) => ({ ...toRun(r), counts: summarize(r.counts as Record<string, number>) }));
  }

  async runs(connectionId: string, limit = 50): Promise<RunRow[]> {
    const rows = await this.sql.query<Record<string, unknown>>(
      'SELECT * FROM sync_runs WHERE connection_id = $1 ORDER BY started_at DESC LIMIT $2',
      [connectionId, limit],
    );
    return rows.map((r) => ({ ...toRun(r), counts: summarize(r.counts as Record<string, number>) }));
  }

  async run(clientKey: string, runId: string): Promise<RunRow | undefined> {
    const rows = await this.sql.query<Record<string, unknown>>(
      'SELECT * FROM sync_runs WHERE client_key = $1 AND id = $2',
      [clientKey, runId],
    );
    return rows[0] && { ...toRun(rows[0]), counts: summarize(rows[0].counts as Record<string, number>) };
  }

  /** A run's operations in id order, optionally of one status, a page at a time (after an operation id). */
  async operations(
    runId: string,
    status?: string,
    page: { limit?: number; after?: string } = {},
  ): Promise<StoredOperation[]> {
    const rows = await this.sql.query<Record<string, unknown>>(
      `SELECT o.*, r.connection_id FROM sync_operations o JOIN sync_runs r ON r.id = o.run_id
       WHERE o.run_id = $1 AND ($2::text IS NULL OR o.status = $2) AND o.id > $3 ORDER BY o.id LIMIT $4`,
      [runId, status ?? null, page.after ?? '0', page.limit ?? 1_000_000],
    );
    return rows.map(toOp);
  }

  /** How many operations are pending or running, across all runs. */
  async openOperations(): Promise<number> {
    const [{ n }] = await this.sql.query<{ n: string }>(
      "SELECT count(*) AS n FROM sync_operations WHERE status IN ('pending', 'running')",
    );
    return Number(n);
  }

  /** Deletes runs (and their operations) older than the retention. */
  async purgeHistory(days: number): Promise<number> {
    const rows = await this.sql.query(
      "DELETE FROM sync_runs WHERE status <> 'running' AND started_at < now() - ($1 || ' days')::interval RETURNING id",
      [String(days)],
    );
    return rows.length;
  }

  /** Queues a run request for a connection (picked up by the outbox drain once no run is going). */
  async requestRun(connectionId: string): Promise<void> {
    await this.sql.query(
      "INSERT INTO sync_requests (connection_id, subject_type, subject_id, change) VALUES ($1, 'user', $1, 'updated')",
      [connectionId],
    );
  }

  /** The newest unprocessed SCIM request of each connection that has gone quiet (debounced), with its tenant. */
  async quietOutboxes(
    debounceMs: number,
    maxDelayMs: number,
  ): Promise<Array<{ connectionId: string; clientKey: string; lastId: string }>> {
    return (
      await this.sql.query<{ connection_id: string; client_key: string; last_id: string }>(
        `
      SELECT q.connection_id, c.client_key, max(q.id)::text AS last_id FROM sync_requests q JOIN connections c ON c.id = q.connection_id
      WHERE q.processed_at IS NULL GROUP BY q.connection_id, c.client_key
      HAVING max(q.created_at) < now() - ($1 || ' milliseconds')::interval OR min(q.created_at) < now() - ($2 || ' milliseconds')::interval`,
        [String(debounceMs), String(maxDelayMs)],
      )
    ).map((r) => ({ connectionId: r.connection_id, clientKey: r.client_key, lastId: r.last_id }));
  }
}

/** A run's figures from its operations' outcomes (`kind:outcome` → count). */
function summarize(raw: Record<string, number>): Record<string, number> {
  const counts: Record<string, number> = {
    usersCreated: 0,
    usersLinked: 0,
    usersUpdated: 0,
    usersDeprovisioned: 0,
    usersReactivated: 0,
    groupsCreated: 0,
    membershipsAdded: 0,
    membershipsRemoved: 0,
    leadsReassigned: 0,
    failed: 0,
  };
  for (const [k, n] of Object.entries(raw ?? {})) {
    if (k.endsWith(':parked')) counts.failed += Number(n);
    else if (COUNTERS[k]) counts[COUNTERS[k]] += Number(n);
  }
  return counts;
}
