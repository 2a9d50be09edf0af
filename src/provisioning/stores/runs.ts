import { metrics } from '../../metrics';
import type { Transaction } from 'sequelize';
import type { Sql } from '../../db/sql';
import type { OperationQueue } from '../executor/queue';
import { RunHistory, summarize, toRun, type PlanningFacts, type RunRow } from './runHistory';

export type { PlanningFacts, RunRow } from './runHistory';
import type { Outbox } from './outbox';
import type { PlannedOperation } from '../planning/types';

/** Who started a run, for which connection. */
export interface NewRun {
  id: string;
  connectionId: string;
  clientKey: string;
  trigger: string;
}

/** Sync runs: started (one at a time per connection), read, planned, closed, and kept as history. */
export class RunRepository extends RunHistory {
  constructor(
    sql: Sql,
    private readonly queue: OperationQueue,
    private readonly outbox: Outbox,
  ) {
    super(sql);
  }

  /**
   * Starts a run with its planned operations in one transaction; undefined when the connection
   * already has a run going. With `overlap` (a plan from directory changes made while another run of
   * the connection applies), the run starts beside it and takes over: the other runs' pending
   * operations for the users it planned are superseded (the new plan is the whole of what those users
   * need). It is refused with `Replan` when one of those operations — but a creation — was in Jira's
   * hands while it was planned (running, or finished since `overlap.since`): the plan may not have
   * seen its effect.
   */
  async createRun(
    run: NewRun,
    ops: PlannedOperation[],
    coveredRequestId?: string,
    planning?: PlanningFacts,
    overlap?: Overlap,
  ): Promise<RunRow | undefined> {
    return this.sql.transaction(async (tx) => {
      const inserted = await this.sql.query<Record<string, unknown>>(
        `
        INSERT INTO sync_runs (id, connection_id, client_key, trigger, status, total, progress, alongside, traceparent) VALUES ($1, $2, $3, $4, 'running', $5, $6, $7, :traceparent)
        ${overlap ? '' : "ON CONFLICT (connection_id) WHERE status = 'running' AND NOT alongside DO NOTHING"} RETURNING *`,
        [
          run.id,
          run.connectionId,
          run.clientKey,
          run.trigger,
          ops.length,
          JSON.stringify(planning ? { plan: planning } : {}),
          !!overlap,
        ],
        tx,
      );
      if (inserted.length === 0) return undefined;
      if (overlap) await this.supersede(run, overlap, tx);
      await this.stopWaiting(run, tx);
      await this.queue.insert(run.id, run.clientKey, ops, tx);
      if (coveredRequestId) await this.outbox.markCovered(run.connectionId, coveredRequestId, tx);
      return toRun(inserted[0]);
    });
  }

  /**
   * The other going runs' operations for the overlapping run's users: locked (a worker's claim skips
   * them), refused with `Replan` if one was in Jira's hands during the planning, else the pending ones
   * are done as superseded (counted in their runs).
   */
  private async supersede(run: NewRun, overlap: Overlap, tx: Transaction): Promise<void> {
    const subjects = overlap.userIds.map((id) => `user:${id}`);
    const touched = await this.sql.query<{ id: string; run_id: string; status: string; kind: string }>(
      `SELECT o.id, o.run_id, o.status, o.kind FROM sync_operations o JOIN sync_runs r ON r.id = o.run_id
       WHERE r.connection_id = $1 AND r.status = 'running' AND r.id <> $2 AND o.subject = ANY($3::text[])
         AND (o.status IN ('pending', 'running') OR o.finished_at >= $4)
       ORDER BY o.id FOR UPDATE OF o`,
      [run.connectionId, run.id, subjects, overlap.since],
      tx,
    );
    // A user's creation in Jira's hands changes nothing the plan decided: it planned the user as new
    // (creation, every group, attributes), and its own creation then finds the link and costs no call.
    if (touched.some((o) => o.status !== 'pending' && o.kind !== 'ensureUser')) throw new Replan();
    if (touched.length === 0) return;
    await this.sql.query(
      `WITH o AS (
         UPDATE sync_operations SET status = 'done', outcome = 'superseded', finished_at = now(),
           error = 'superseded by run ' || $2 || ', planned from later changes'
         WHERE id = ANY($1::bigint[]) AND status = 'pending' RETURNING run_id)
       UPDATE sync_runs r SET done = r.done + c.n FROM (SELECT run_id, count(*) AS n FROM o GROUP BY run_id) c WHERE r.id = c.run_id`,
      [touched.map((o) => o.id), run.id],
      tx,
    );
  }

  /** The database's clock now (an overlapping run's planning starts then: see createRun). */
  async now(): Promise<Date> {
    const [row] = await this.sql.query<{ now: Date }>('SELECT clock_timestamp() AS now');
    return row.now;
  }

  /** The connection's runs going on, oldest first, with their stage. */
  async going(connectionId: string): Promise<Array<{ id: string; stage: RunRow['stage'] }>> {
    return this.sql.query<{ id: string; stage: RunRow['stage'] }>(
      "SELECT id, stage FROM sync_runs WHERE connection_id = $1 AND status = 'running' ORDER BY started_at",
      [connectionId],
    );
  }

  /** Marks a connection's run requests up to this one as dealt with, when planning them found nothing to do. */
  async coverWithoutRun(connectionId: string, coveredRequestId: string): Promise<void> {
    await this.sql.transaction((tx) => this.outbox.markCovered(connectionId, coveredRequestId, tx));
  }

  /** Starts a run that first reads the IdP (stage "reading"); undefined when the connection already has a run going. */
  async openReadingRun(run: NewRun): Promise<RunRow | undefined> {
    const inserted = await this.sql.query<Record<string, unknown>>(
      `
      INSERT INTO sync_runs (id, connection_id, client_key, trigger, status, stage, heartbeat_at, traceparent) VALUES ($1, $2, $3, $4, 'running', 'reading', now(), :traceparent)
      ON CONFLICT (connection_id) WHERE status = 'running' AND NOT alongside DO NOTHING RETURNING *`,
      [run.id, run.connectionId, run.clientKey, run.trigger],
    );
    if (inserted[0]) await this.stopWaiting(run);
    return inserted[0] && toRun(inserted[0]);
  }

  /** The connection's run that could not start is tried at once (what it waited for is there now). */
  async stopWaitingFor(connectionId: string): Promise<void> {
    await this.sql.query(
      'UPDATE sync_runs SET next_try_at = NULL WHERE connection_id = $1 AND next_try_at IS NOT NULL',
      [connectionId],
    );
  }

  /** A run started: an earlier run that could not start no longer waits for its next try. */
  private async stopWaiting(run: NewRun, tx?: Transaction): Promise<void> {
    await this.sql.query(
      'UPDATE sync_runs SET next_try_at = NULL WHERE connection_id = $1 AND next_try_at IS NOT NULL AND id <> $2',
      [run.connectionId, run.id],
      tx,
    );
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
      await this.queue.insert(runId, clientKey, ops, tx);
      await this.sql.query(
        "UPDATE sync_runs SET stage = 'applying', total = $2, progress = $3, heartbeat_at = now() WHERE id = $1",
        [runId, ops.length, JSON.stringify(progress)],
        tx,
      );
    });
  }

  /**
   * Ends a run that could not go on (its read failed), with the reason; `failure` 'credentials' when
   * the IdP refused the stored credentials (its notice says so).
   */
  async failRun(runId: string, error: string, failure?: 'credentials'): Promise<void> {
    const ended = await this.sql.query<{ trigger: string }>(
      "UPDATE sync_runs SET status = 'failed', error = $2, failure = $3, finished_at = now() WHERE id = $1 AND status = 'running' RETURNING trigger",
      [runId, error, failure ?? null],
    );
    for (const r of ended) metrics.runs.inc({ trigger: r.trigger, outcome: 'failed' });
  }

  /**
   * Records a run that could not start because Jira did not answer, so the history shows why. Its
   * retries are one row: when the connection's latest run is such a failure, it takes this attempt
   * (attempts + 1, the new reason and next try); otherwise a new failed run. `retryDelayMs` gives
   * the wait before the next try from the attempt number.
   */
  async recordFailedStart(run: NewRun, error: string, retryDelayMs: (attempts: number) => number): Promise<RunRow> {
    return this.sql.transaction(async (tx) => {
      const [latest] = await this.sql.query<{ id: string; attempts: number; retrying: boolean }>(
        `SELECT id, attempts, status = 'failed' AND next_try_at IS NOT NULL AS retrying FROM sync_runs
         WHERE connection_id = $1 ORDER BY started_at DESC LIMIT 1 FOR UPDATE`,
        [run.connectionId],
        tx,
      );
      const rows = latest?.retrying
        ? await this.sql.query<Record<string, unknown>>(
            `UPDATE sync_runs SET attempts = attempts + 1, error = $2, finished_at = now(),
               next_try_at = now() + ($3 || ' milliseconds')::interval
             WHERE id = $1 RETURNING *`,
            [latest.id, error, String(retryDelayMs(latest.attempts + 1))],
            tx,
          )
        : await this.sql.query<Record<string, unknown>>(
            `INSERT INTO sync_runs (id, connection_id, client_key, trigger, status, error, finished_at, attempts, next_try_at)
             VALUES ($1, $2, $3, $4, 'failed', $5, now(), 1, now() + ($6 || ' milliseconds')::interval) RETURNING *`,
            [run.id, run.connectionId, run.clientKey, run.trigger, error, String(retryDelayMs(1))],
            tx,
          );
      return toRun(rows[0]);
    });
  }

  /** The trace context a run was started in (its operations' spans are its children); null when it was not traced. */
  async traceparentOf(runId: string): Promise<string | null> {
    const [row] = await this.sql.query<{ traceparent: string | null }>(
      'SELECT traceparent FROM sync_runs WHERE id = $1',
      [runId],
    );
    return row?.traceparent ?? null;
  }

  /** Jira refused a credential one of the run's operations was applied with (its notice says so when it ends). */
  async credentialsRefused(runId: string): Promise<void> {
    await this.sql.query("UPDATE sync_runs SET failure = 'credentials' WHERE id = $1 AND failure IS NULL", [runId]);
  }

  /** A full reconciliation of the connection was planned (its schedule counts from now). */
  async reconciled(connectionId: string): Promise<void> {
    await this.sql.query('UPDATE connections SET reconciled_at = now() WHERE id = $1', [connectionId]);
  }

  /**
   * Makes the connection's full reconciliation due at the reconciler's next check: a dry run of a
   * pull connection, or a pull run that failed, wrote what it read into the directory store (and
   * may have moved the source's position), so no later read would see those changes as changes;
   * the reconciliation plans every user of the store against Jira.
   */
  async reconcileSoon(connectionId: string): Promise<void> {
    await this.sql.query("UPDATE connections SET reconciled_at = '-infinity' WHERE id = $1", [connectionId]);
  }

  /** When the connection's latest run could not start for want of Jira: its next try, while it is still ahead. */
  async nextTryOf(connectionId: string): Promise<Date | null> {
    const [row] = await this.sql.query<{ next_try_at: Date | null }>(
      `SELECT CASE WHEN next_try_at > now() THEN next_try_at END AS next_try_at FROM sync_runs
       WHERE connection_id = $1 ORDER BY started_at DESC LIMIT 1`,
      [connectionId],
    );
    return row?.next_try_at ?? null;
  }

  /**
   * A run whose reader stopped reporting (its instance died mid-read) ends, so the next one can
   * start; what it wrote into the store is no later read's change, so its connection's full
   * reconciliation is made due (see `reconcileSoon`).
   */
  async failStaleReads(leaseMs: number): Promise<void> {
    await this.sql.query(
      `WITH failed AS (
        UPDATE sync_runs SET status = 'failed', finished_at = now(), error = 'Interrupted: the instance reading the IdP stopped before it finished; the next sync reads again.'
        WHERE status = 'running' AND stage = 'reading' AND heartbeat_at < now() - ($1 || ' milliseconds')::interval
        RETURNING connection_id)
      UPDATE connections SET reconciled_at = '-infinity' WHERE id IN (SELECT connection_id FROM failed)`,
      [String(leaseMs)],
    );
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
    const closed = rows.map((r) => ({ ...toRun(r), counts: summarize(r.counts as Record<string, number>) }));
    for (const r of closed) metrics.runs.inc({ trigger: r.trigger, outcome: r.status });
    return closed;
  }
}

/** An overlapping run's planning: the users it planned again, and when its reading of the app's state began. */
export interface Overlap {
  userIds: string[];
  since: Date;
}

/** An overlapping run's plan may have missed what an operation of another run did meanwhile: plan again. */
export class Replan extends Error {
  constructor() {
    super('an operation for the same users was applied while the run was planned');
  }
}
