import { metrics } from '../metrics';
import { setTimeout as pause } from 'node:timers/promises';
import type { Connection } from '../db/connections';
import type { DirectoryChanges } from '../directory/types';
import { watchLoop } from '../slices';
import { PullFailed, type Pull } from '../sources/source';
import { Plans } from './inputs';
import { ProgressReporter } from './progress';
import { planningFacts } from './stores/runHistory';
import { Replan, type RunRow } from './stores/runs';
import { RunStarter, type EngineDeps, type RunResult, type Trigger } from './runStarter';

export type { EngineDeps, RunResult, Trigger } from './runStarter';

/**
 * The provisioning engine: starts a connection's run — after a pull source has read the IdP into
 * the directory, if there is one — has its plan made (inputs.ts: in full or from changes), persists
 * it as the run's operations, and hands them to the executor. One plan per connection at a time; a
 * dry run returns the plan and writes nothing.
 */
export class ProvisioningEngine extends RunStarter {
  /** Connections whose plan this instance is making (one at a time each). */
  private readonly planning = new Map<string, Promise<RunResult>>();
  /** Connections whose changes (up to a request) wait for the runs going on (by id): not planned again until those change. */
  private readonly waiting = new Map<string, string>();

  private readonly plans: Plans;

  constructor(d: EngineDeps) {
    super(d);
    this.plans = new Plans(d);
  }

  /**
   * Plans a connection's sync; a dry run returns the plan, otherwise the run starts. With `pull`
   * (a pull source), the run starts by reading the IdP: a real run returns at once in stage
   * "reading" and plans when the read is done; a dry run reads, then returns the plan.
   */
  async run(
    connection: Connection,
    trigger: Trigger,
    opts: { dryRun?: boolean; coveredRequestId?: string; pull?: Pull; changes?: DirectoryChanges } = {},
  ): Promise<RunResult> {
    if (opts.pull) return this.runWithPull(connection, trigger, opts.pull, !!opts.dryRun);
    // A run is going, or being planned here: say so before planning (SCIM changes wait for the next run,
    // and are not planned at every poll, nor twice at once).
    if (opts.dryRun) return this.planAndStart(connection, trigger, opts);
    // Another trigger of this instance is planning the connection: wait for its run, then say busy (with its id).
    for (let other = this.planning.get(connection.id); other; other = this.planning.get(connection.id))
      await other.catch(() => undefined);
    const attempt = (async (): Promise<RunResult> => {
      const going = await this.d.runs.going(connection.id);
      if (going.length === 0) {
        this.waiting.delete(connection.id);
        return this.planAndStart(connection, trigger, opts);
      }
      // A change does not wait for the run going on: planned now, it starts beside it (when it can).
      // (Changes found to need the run's end are not planned again at every poll while it goes on.)
      const tried = `${opts.coveredRequestId}|${going.map((r) => r.id).join()}`;
      if (opts.changes && going.every((r) => r.stage === 'applying') && this.waiting.get(connection.id) !== tried) {
        const started = await this.startBeside(connection, trigger, opts.changes, opts.coveredRequestId);
        if (started) return started;
        this.waiting.set(connection.id, tried);
      }
      return { kind: 'busy', runId: going[0].id };
    })();
    this.planning.set(connection.id, attempt);
    try {
      return await attempt;
    } finally {
      this.planning.delete(connection.id);
    }
  }

  private async planAndStart(
    connection: Connection,
    trigger: Trigger,
    opts: { dryRun?: boolean; coveredRequestId?: string; changes?: DirectoryChanges },
  ): Promise<RunResult> {
    const planStarted = this.d.clock.now();
    const loop = watchLoop();
    const planned = await this.plans.make(connection, opts.changes);
    const eventLoop = loop();
    if (planned.kind === 'failed') {
      if (!opts.dryRun)
        await this.failedStart(connection, trigger, planned.error, 'Jira did not answer; trying again later');
      return planned;
    }
    if (opts.dryRun) return planned;
    const held = await this.heldForToken(connection, planned.plan);
    if (held) {
      await this.failedStart(connection, trigger, held, 'no site-admin API token');
      return { kind: 'failed', error: held, needs: 'site-admin-token' };
    }
    // Saved rules that change nothing in Jira make no empty run in the history (what a plan cannot do
    // is said by the runs that had work, and by a dry run).
    if (trigger === 'rules' && planned.plan.operations.length === 0) {
      if (opts.coveredRequestId) await this.d.runs.coverWithoutRun(connection.id, opts.coveredRequestId);
      this.d.logger.info({ connectionId: connection.id }, 'rules saved: nothing in Jira would change; no run');
      return { kind: 'nothing' };
    }
    const run = await this.d.runs.createRun(
      this.newRun(connection, trigger),
      planned.plan.operations,
      opts.coveredRequestId,
      planningFacts(planned, this.d.clock.now() - planStarted, eventLoop),
    );
    if (!run) return { kind: 'busy', runId: (await this.d.runs.runs(connection.id, 1))[0]?.id };
    return this.begin(connection, run, run.total, !!planned.full, 'sync run started', { trigger });
  }

  /**
   * A run for directory changes while another run of the connection applies: the users the changes
   * concern are planned from the state the app knows, and the run starts beside the other one,
   * taking over its pending operations for those users (runs.ts createRun). Planned again (a few
   * times, briefly apart) when one of those operations was in Jira's hands meanwhile. Undefined when
   * the changes need more than such a plan, or a credential is missing: they wait for the run going on.
   */
  private async startBeside(
    connection: Connection,
    trigger: Trigger,
    changes: DirectoryChanges,
    coveredRequestId?: string,
  ): Promise<RunResult | undefined> {
    for (let attempt = 1; attempt <= 5; attempt++) {
      const since = await this.d.runs.now();
      const started = this.d.clock.now();
      const planned = await this.plans.makeOverlapping(connection, changes);
      if (!planned || (await this.heldForToken(connection, planned.plan))) return undefined;
      try {
        const run = await this.d.runs.createRun(
          this.newRun(connection, trigger),
          planned.plan.operations,
          coveredRequestId,
          planningFacts({ plan: planned.plan, users: planned.users }, this.d.clock.now() - started),
          { userIds: planned.userIds, since },
        );
        if (!run) return undefined;
        return await this.begin(connection, run, run.total, false, 'sync run started beside the run going on', {
          trigger,
        });
      } catch (err) {
        if (!(err instanceof Replan)) throw err;
        await pause(50 * attempt);
      }
    }
    return undefined;
  }

  private async runWithPull(connection: Connection, trigger: Trigger, pull: Pull, dryRun: boolean): Promise<RunResult> {
    if (dryRun) {
      let read;
      try {
        read = await pull(() => undefined);
      } catch (err) {
        return { kind: 'failed', error: this.pullError(connection, err) };
      }
      // What the read wrote into the store is no change to the next incremental run: reconcile soon.
      await this.d.runs.reconcileSoon(connection.id);
      return this.plans.make(connection, trigger === 'manual' ? undefined : read?.changes);
    }
    const run = await this.d.runs.openReadingRun(this.newRun(connection, trigger));
    if (!run) return { kind: 'busy', runId: (await this.d.runs.runs(connection.id, 1))[0]?.id };
    this.d.logger.info({ connectionId: connection.id, runId: run.id, trigger }, 'sync run started: reading the IdP');
    const task = this.readThenPlan(connection, run, pull).finally(() => this.reading.delete(task));
    this.reading.add(task);
    return { kind: 'started', run };
  }

  /** The background half of a pull run: read (reporting progress at most twice a second), plan, apply. */
  private async readThenPlan(connection: Connection, run: RunRow, pull: Pull): Promise<void> {
    const { runs, clock } = this.d;
    const progress = new ProgressReporter(clock, (p) => runs.reportProgress(run.id, p));
    const started = clock.now();
    let loop = watchLoop();
    try {
      // A run that fails after its read wrote into the store loses those changes: no later read sees
      // them as changes (the store already holds them), so the connection's full reconciliation is made due.
      const fail = async (error: string, failure?: 'credentials') => {
        await progress.flush();
        // Due before the run shows as failed: whoever sees the failure sees the reconciliation due.
        if (Number(progress.last.rowsWritten) > 0) await runs.reconcileSoon(connection.id);
        await runs.failRun(run.id, error, failure);
      };
      let read;
      try {
        read = await pull((p) => progress.report(p));
      } catch (err) {
        countRead(connection.kind, progress.last, 'failed', clock.now() - started);
        await fail(
          this.pullError(connection, err),
          err instanceof PullFailed && err.credentials ? 'credentials' : undefined,
        );
        return;
      }
      await progress.settle();
      const readMs = clock.now() - started;
      countRead(connection.kind, progress.last, 'read', readMs);
      const readLoop = loop();
      loop = watchLoop();
      // A scheduled read plans from what it changed (and the Jira state the app knows): a delta read's
      // changes, or what a full read found different from the store; a read that changed most users,
      // and any run an admin asked for, reconciles everything with Jira read again.
      const planned = await this.plans.make(connection, run.trigger === 'manual' ? undefined : read?.changes);
      if (planned.kind === 'failed') {
        await fail(planned.error);
        return;
      }
      const held = await this.heldForToken(connection, planned.plan);
      if (held) {
        await fail(held);
        return;
      }
      const planMs = clock.now() - started - readMs;
      await runs.attachPlan(run.id, connection.clientKey, planned.plan.operations, {
        ...progress.last,
        readMs,
        planMs,
        eventLoop: readLoop,
        plan: planningFacts(planned, planMs, loop()),
      });
      await this.begin(
        connection,
        run,
        planned.plan.operations.length,
        !!planned.full,
        'sync run read the IdP and planned',
      );
    } catch (err) {
      this.d.logger.error({ err, runId: run.id }, 'sync run failed after reading');
      await runs.reconcileSoon(connection.id).catch(() => undefined);
      await runs.failRun(run.id, `internal error: ${(err as Error)?.message ?? String(err)}`).catch(() => undefined);
    } finally {
      loop(); // stops watching, whatever ended the run
    }
  }
}

/** A pull read's figures for /metrics: its outcome and time, the pages and users it saw. */
function countRead(kind: string, last: Record<string, unknown>, outcome: 'read' | 'failed', ms: number): void {
  const mode = last.mode === 'incremental' ? 'incremental' : 'full';
  metrics.pullReads.inc({ kind, mode, outcome });
  metrics.pullReadDuration.observe({ kind }, ms / 1000);
  metrics.pullPages.inc({ kind }, Number(last.pages) || 0);
  metrics.pullUsers.inc({ kind }, Number(last.usersSeen) || 0);
}
