import type { Sql } from '../../db/sql';
import type { LoopDelay } from '../../slices';
import { counterOf, GONE_MARK, OPERATIONS } from '../operations';
import { toOp, type StoredOperation } from '../executor/queue';

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
  /** How many times a run that could not start was tried (1 for every other run). */
  attempts: number;
  /** When a run that could not start for want of Jira is tried again (null: not waiting). */
  nextTryAt: Date | null;
  /** Service desks and organizations the rules name that JSM no longer has, in words (one run's page only). */
  goneTargets?: string[];
}

export const toRun = (r: Record<string, unknown>): RunRow => ({
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
  attempts: (r.attempts as number | undefined) ?? 1,
  nextTryAt: (r.next_try_at as Date | null | undefined) ?? null,
});

/**
 * The history of sync runs as the admin API and the page read it: a connection's runs, one run with
 * the desks and organizations JSM no longer has, a run's operations a page at a time, and the
 * retention. `RunRepository`, which starts and closes runs, is one of these.
 */
export class RunHistory {
  constructor(protected readonly sql: Sql) {}

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
    if (!rows[0]) return undefined;
    const gone = await this.sql.query<{ error: string }>(
      `SELECT DISTINCT error FROM sync_operations WHERE run_id = $1 AND status = 'parked' AND position($2 in error) > 0 ORDER BY error LIMIT 20`,
      [runId, GONE_MARK],
    );
    return {
      ...toRun(rows[0]),
      counts: summarize(rows[0].counts as Record<string, number>),
      goneTargets: gone.map((g) => g.error),
    };
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

  /** Deletes runs (and their operations) older than the retention. */
  async purgeHistory(days: number): Promise<number> {
    const rows = await this.sql.query(
      "DELETE FROM sync_runs WHERE status <> 'running' AND started_at < now() - ($1 || ' days')::interval RETURNING id",
      [String(days)],
    );
    return rows.length;
  }
}

/** Every figure a run counts (the operation kinds' counters), each once. */
const FIGURES = [...new Set(Object.values(OPERATIONS).flatMap((m) => Object.values(m.counters)))];

/** A run's figures from its operations' outcomes (`kind:outcome` → count), through the kinds' counters. */
export function summarize(raw: Record<string, number>): Record<string, number> {
  const counts: Record<string, number> = Object.fromEntries([...FIGURES, 'superseded', 'failed'].map((f) => [f, 0]));
  for (const [k, n] of Object.entries(raw ?? {})) {
    if (k.endsWith(':parked')) counts.failed += Number(n);
    else if (k.endsWith(':superseded')) counts.superseded += Number(n);
    else {
      const at = k.indexOf(':');
      const figure = counterOf(k.slice(0, at), k.slice(at + 1));
      if (figure) counts[figure] += Number(n);
    }
  }
  return counts;
}

/** How a run was planned: from directory changes or in full (reading Jira), how many users, how long. */
export interface PlanningFacts {
  mode: 'changes' | 'full';
  users: number;
  planMs: number;
  /** The event loop's delay while the plan was made (the whole process's, other work included). */
  eventLoop?: LoopDelay;
  /** What the plan could not do, said once for the run (the first 20). */
  warnings?: string[];
}

/** How a run was planned, as its history shows it: in full or from changes, users planned, time, warnings (the first 20). */
export function planningFacts(
  planned: { full?: boolean; users: number; plan: { warnings: string[] } },
  planMs: number,
  eventLoop?: LoopDelay,
): PlanningFacts {
  return {
    mode: planned.full ? 'full' : 'changes',
    users: planned.users,
    planMs,
    ...(eventLoop ? { eventLoop } : {}),
    ...(planned.plan.warnings.length ? { warnings: planned.plan.warnings.slice(0, 20) } : {}),
  };
}
