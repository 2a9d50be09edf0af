import { metrics } from '../../metrics';
import type { Transaction } from 'sequelize';
import type { Sql } from '../../db/sql';
import type { PlannedOperation } from '../planning/types';
import { needsSql } from '../credentials';

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

export const toOp = (r: Record<string, unknown>): StoredOperation => ({
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

/**
 * The durable queue of operations: inserted with their run, claimed by exactly one worker of one
 * instance (SKIP LOCKED), finished, retried later or parked, and recovered when a worker died.
 */
export class OperationQueue {
  constructor(private readonly sql: Sql) {}

  /** Adds a run's planned operations (inside the transaction that creates or extends the run). */
  async insert(runId: string, clientKey: string, ops: PlannedOperation[], tx: Transaction): Promise<void> {
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

  /**
   * Claims ready operations for this worker: pending, due, and in the lowest unfinished phase of
   * their run (phase order holds within a run, never across runs); SKIP LOCKED so instances never
   * take the same one. Sites take turns: each candidate's turn is its site's operations in flight
   * plus its rank among the site's candidates, and a site's candidates alternate between its runs
   * (each run's own operations in flight counted first) —
   * so one site's backlog never holds another site's change, nor a big onboarding a small change of
   * the same site. A site has at most `perSite` operations claimed at once (across instances): more
   * would wait in its Jira queue, ahead of a change another of its runs makes later. Each applying
   * run's phase is found by an index scan that stops at its first open operation, then that phase's
   * due operations by another, so a claim costs the same in a run of 100 operations or of 100,000.
   */
  async claim(limit: number, perSite = 1_000_000): Promise<StoredOperation[]> {
    const rows = await this.sql.query<Record<string, unknown>>(
      `
      WITH current AS (
        SELECT r.id AS run_id, r.client_key,
          (SELECT e.phase FROM sync_operations e WHERE e.run_id = r.id AND e.status IN ('pending', 'running') ORDER BY e.phase LIMIT 1) AS phase
        FROM sync_runs r WHERE r.status = 'running' AND r.stage = 'applying'
      ), busy AS (
        SELECT run_id, client_key, count(*) AS n FROM sync_operations WHERE status = 'running' GROUP BY run_id, client_key
      ), site_busy AS (
        SELECT client_key, sum(n) AS n FROM busy GROUP BY client_key
      ), candidates AS (
        SELECT o.id, o.not_before, c.client_key, c.run_id,
          COALESCE(b.n, 0) + row_number() OVER (PARTITION BY c.run_id ORDER BY o.not_before, o.id) AS in_run
        FROM current c
        LEFT JOIN busy b ON b.run_id = c.run_id
        CROSS JOIN LATERAL (
          SELECT o.id, o.not_before FROM sync_operations o
          WHERE o.run_id = c.run_id AND o.phase = c.phase AND o.status = 'pending' AND o.not_before <= now()
          ORDER BY o.not_before, o.id LIMIT $1 * 4
        ) o
      ), ranked AS (
        SELECT k.id, k.not_before,
          COALESCE(b.n, 0) + row_number() OVER (PARTITION BY k.client_key ORDER BY k.in_run, k.run_id) AS turn
        FROM candidates k LEFT JOIN site_busy b USING (client_key)
      ), ready AS (
        SELECT id, not_before, turn FROM ranked WHERE turn <= $2 ORDER BY turn, not_before, id LIMIT $1 * 4
      ), locked AS (
        -- Four candidates per slot: those another instance is claiming right now are skipped, the rest fill the slots.
        SELECT o.id FROM sync_operations o JOIN ready USING (id) WHERE o.status = 'pending'
        ORDER BY ready.turn, o.not_before, o.id LIMIT $1 FOR UPDATE OF o SKIP LOCKED
      )
      UPDATE sync_operations o SET status = 'running', claimed_at = now(), attempts = o.attempts + 1
      FROM locked, sync_runs r WHERE o.id = locked.id AND r.id = o.run_id
      RETURNING o.*, r.connection_id`,
      [limit, perSite],
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
    metrics.operations.inc({ kind: op.kind, outcome: status === 'done' ? 'done' : 'parked' });
  }

  /**
   * Parks, in one statement, a run's pending operations that need the credential one of them found
   * missing: a site without a site-admin token does not work off thousands of writes one by one to
   * park each. How many it parked.
   */
  async parkNeeding(runId: string, needs: 'site-admin-token' | 'org-api-key', error: string): Promise<number> {
    const [row] = await this.sql.query<{ n: string }>(
      `
      WITH o AS (
        UPDATE sync_operations SET status = 'parked', error = $2, finished_at = now()
        WHERE run_id = $1 AND status = 'pending' AND (${needsSql(needs)}) RETURNING 1),
      r AS (UPDATE sync_runs SET done = done + (SELECT count(*) FROM o) WHERE id = $1)
      SELECT count(*) AS n FROM o`,
      [runId, error],
    );
    return Number(row?.n ?? 0);
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
    return rows.length;
  }

  /** How many operations are pending or running, across all runs. */
  async openOperations(): Promise<number> {
    const [{ n }] = await this.sql.query<{ n: string }>(
      "SELECT count(*) AS n FROM sync_operations WHERE status IN ('pending', 'running')",
    );
    return Number(n);
  }
}
