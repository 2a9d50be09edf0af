import crypto from 'node:crypto';
import { setTimeout as pause } from 'node:timers/promises';
import { backoffDelay } from '../backoff';
import type { Clock } from '../clock';
import type { Connection } from '../db/connections';
import type { Logger } from '../logger';
import { PullFailed } from '../sources/source';
import type { Executor } from './executor/worker';
import { heldForSiteToken } from './credentials';
import type { Plan } from './planning/types';
import type { PlansDeps } from './inputs';
import type { NewRun, RunRepository, RunRow } from './stores/runs';

export type Trigger = 'scim' | 'manual' | 'schedule' | 'login' | 'rules';

/** What asking for a run gave: a dry-run plan, a started run, or the run already going. */
export type RunResult =
  | { kind: 'plan'; plan: Plan }
  | { kind: 'started'; run: RunRow }
  | { kind: 'busy'; runId?: string }
  /** Saved rules asked for a run and the plan found nothing to change in Jira: no run is recorded. */
  | { kind: 'nothing' }
  /** `needs`: the run was held for a credential the site has not stored (not a failure of Jira or the IdP). */
  | { kind: 'failed'; error: string; needs?: 'site-admin-token' };

export interface EngineDeps extends PlansDeps {
  runs: RunRepository;
  executor: Executor;
  logger: Logger;
  clock: Clock;
  /** The wait before trying again a run that could not start for want of Jira. */
  retry: { backoffBaseMs: number; backoffMaxMs: number };
}

/**
 * What every way of starting a run shares (planned at once, beside a run going on, after a read):
 * the new run's row, the site-admin token check, a start that failed, the one ending, and the
 * executor it hands operations to. `ProvisioningEngine` (engine.ts) starts runs through it.
 */
export class RunStarter {
  /** Reads in progress in the background (a pull run's first half). */
  protected readonly reading = new Set<Promise<void>>();

  constructor(protected readonly d: EngineDeps) {}

  /**
   * The one ending of every way a run starts (planned at once, beside a run going on, or after its
   * read): a full plan marks the connection reconciled, and the run's operations go to the executor
   * — a run with none is closed at once.
   */
  protected async begin<R extends { id: string }>(
    connection: Connection,
    run: R,
    operations: number,
    full: boolean,
    message: string,
    fields: Record<string, unknown> = {},
  ): Promise<{ kind: 'started'; run: R }> {
    if (full) await this.d.runs.reconciled(connection.id);
    this.d.logger.info({ connectionId: connection.id, runId: run.id, operations, full, ...fields }, message);
    if (operations === 0) await this.d.runs.closeFinishedRuns();
    else this.kick();
    return { kind: 'started', run };
  }

  /** Records a run that could not start (it is tried again later, backing off). */
  protected async failedStart(connection: Connection, trigger: Trigger, error: string, why: string): Promise<void> {
    const failed = await this.d.runs.recordFailedStart(this.newRun(connection, trigger), error, (n) =>
      backoffDelay(n, this.d.retry, () => this.d.clock.random()),
    );
    this.d.logger.warn(
      { connectionId: connection.id, runId: failed.id, attempts: failed.attempts, nextTryAt: failed.nextTryAt },
      `sync run could not start: ${why}`,
    );
  }

  /** Starts the executor's polling. */
  start(): void {
    this.d.executor.start();
  }

  /** Waits for reads in progress and the operations in hand. */
  async stop(): Promise<void> {
    while (this.reading.size > 0) await pause(10);
    await this.d.executor.stop();
  }

  /** Works off ready operations now (the executor's loop). */
  kick(): void {
    this.d.executor.kick();
  }

  /** Runs the executor until every operation is finished (tests and benchmarks); false on timeout. */
  drain(timeoutMs?: number): Promise<boolean> {
    return this.d.executor.drain(timeoutMs);
  }

  protected newRun(connection: Connection, trigger: Trigger): NewRun {
    return { id: crypto.randomUUID(), connectionId: connection.id, clientKey: connection.clientKey, trigger };
  }

  /** The sentence a run says instead of queueing writes that need the site-admin token the site has not stored. */
  protected async heldForToken(connection: Connection, plan: Plan): Promise<string | undefined> {
    const held = heldForSiteToken(plan);
    return held && !(await this.d.jira.hasSiteToken(connection.clientKey)) ? held : undefined;
  }

  protected pullError(connection: Connection, err: unknown): string {
    if (err instanceof PullFailed) return err.message;
    this.d.logger.error({ err, connectionId: connection.id }, 'reading the IdP failed unexpectedly');
    return `internal error while reading the IdP: ${(err as Error)?.message ?? String(err)}`;
  }
}
