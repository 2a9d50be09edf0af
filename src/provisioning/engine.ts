import crypto from 'node:crypto';
import type { Config } from '../config';
import type { Connection, ConnectionRepository } from '../db/connections';
import { JiraError } from '../jira/errors';
import type { JiraClientFactory } from '../jira/factory';
import { backoffDelay } from '../backoff';
import type { Logger } from '../logger';
import { collectGarbage } from '../memory';
import { applyOperation, CannotApply, GroupIds } from './executor';
import { readJiraState } from './jiraState';
import type { Plan } from './plan';
import { plan } from './planner';
import { rulesOf, type Rules } from './rules';
import { topLevelKey } from './attributes';
import { PullFailed, type Pull } from '../sources/source';
import type { ProvisioningStore, RunRow, StoredOperation } from './store';

export type Trigger = 'scim' | 'manual' | 'schedule' | 'login';

/** What asking for a run gave: a dry-run plan, a started run, or the run already going. */
export type RunResult =
  | { kind: 'plan'; plan: Plan }
  | { kind: 'started'; run: RunRow }
  | { kind: 'busy'; runId?: string }
  | { kind: 'failed'; error: string };

export interface EngineDeps {
  store: ProvisioningStore;
  connections: ConnectionRepository;
  jira: JiraClientFactory;
  logger: Logger;
  options: Config['sync'];
}

/**
 * The provisioning engine: reads the directory and Jira, plans (pure), persists the plan as a run
 * of operations, and works them off — in every instance at once, each operation claimed by exactly
 * one (SKIP LOCKED), retried with backoff, parked with a reason when it cannot be done.
 */
export class ProvisioningEngine {
  private timers: NodeJS.Timeout[] = [];
  private working = false;
  private active = 0;
  private readonly reading = new Set<Promise<void>>();
  private readonly groupIds = new GroupIds();

  constructor(private readonly d: EngineDeps) {}

  /**
   * Plans a connection's sync; a dry run returns the plan, otherwise the run starts. With `pull`
   * (a pull source), the run starts by reading the IdP: a real run returns at once in stage
   * "reading" and plans when the read is done; a dry run reads, then returns the plan.
   */
  async run(
    connection: Connection,
    trigger: Trigger,
    opts: { dryRun?: boolean; coveredRequestId?: string; pull?: Pull } = {},
  ): Promise<RunResult> {
    if (opts.pull) return this.runWithPull(connection, trigger, opts.pull, !!opts.dryRun);
    const planned = await this.planFor(connection);
    if (planned.kind === 'failed') {
      if (!opts.dryRun)
        await this.d.store.recordFailedRun(
          { id: crypto.randomUUID(), connectionId: connection.id, clientKey: connection.clientKey, trigger },
          planned.error,
        );
      return planned;
    }
    if (opts.dryRun) return planned;
    const run = await this.d.store.createRun(
      { id: crypto.randomUUID(), connectionId: connection.id, clientKey: connection.clientKey, trigger },
      planned.plan.operations,
      opts.coveredRequestId,
    );
    if (!run) return { kind: 'busy', runId: (await this.d.store.runs(connection.id, 1))[0]?.id };
    this.d.logger.info(
      { connectionId: connection.id, runId: run.id, trigger, operations: run.total },
      'sync run started',
    );
    if (run.total === 0) await this.d.store.closeFinishedRuns();
    else this.kick();
    return { kind: 'started', run };
  }

  private async runWithPull(connection: Connection, trigger: Trigger, pull: Pull, dryRun: boolean): Promise<RunResult> {
    if (dryRun) {
      try {
        await pull(() => undefined);
      } catch (err) {
        return { kind: 'failed', error: this.pullError(connection, err) };
      }
      return this.planFor(connection);
    }
    const run = await this.d.store.openReadingRun({
      id: crypto.randomUUID(),
      connectionId: connection.id,
      clientKey: connection.clientKey,
      trigger,
    });
    if (!run) return { kind: 'busy', runId: (await this.d.store.runs(connection.id, 1))[0]?.id };
    this.d.logger.info({ connectionId: connection.id, runId: run.id, trigger }, 'sync run started: reading the IdP');
    const task = this.readThenPlan(connection, run, pull).finally(() => this.reading.delete(task));
    this.reading.add(task);
    return { kind: 'started', run };
  }

  /** The background half of a pull run: read (reporting progress at most twice a second), plan, apply. */
  private async readThenPlan(connection: Connection, run: RunRow, pull: Pull): Promise<void> {
    // Progress goes to the run at most twice a second; the latest report is never lost (a trailing send).
    let last: Record<string, unknown> = {};
    let sentAt = 0;
    let trailing: NodeJS.Timeout | undefined;
    let sending: Promise<void> = Promise.resolve();
    const send = () => {
      trailing = undefined;
      sentAt = Date.now();
      const snapshot = last;
      sending = sending.then(() => this.d.store.reportProgress(run.id, snapshot)).catch(() => undefined);
    };
    const report = (p: Record<string, unknown>) => {
      last = p;
      if (Date.now() - sentAt >= 500) send();
      else trailing ??= setTimeout(send, 500 - (Date.now() - sentAt));
    };
    const settleReports = async () => {
      if (trailing) clearTimeout(trailing);
      trailing = undefined;
      await sending;
    };
    const started = Date.now();
    try {
      try {
        await pull(report);
      } catch (err) {
        await settleReports();
        await this.d.store.failRun(run.id, this.pullError(connection, err));
        return;
      }
      await settleReports();
      const readMs = Date.now() - started;
      collectGarbage();
      const planned = await this.planFor(connection);
      if (planned.kind === 'failed') {
        await this.d.store.failRun(run.id, planned.error);
        return;
      }
      await this.d.store.attachPlan(run.id, connection.clientKey, planned.plan.operations, {
        ...last,
        readMs,
        planMs: Date.now() - started - readMs,
      });
      const operations = planned.plan.operations.length;
      collectGarbage();
      this.d.logger.info(
        { connectionId: connection.id, runId: run.id, operations },
        'sync run read the IdP and planned',
      );
      if (operations === 0) await this.d.store.closeFinishedRuns();
      else this.kick();
    } catch (err) {
      this.d.logger.error({ err, runId: run.id }, 'sync run failed after reading');
      await this.d.store
        .failRun(run.id, `internal error: ${(err as Error)?.message ?? String(err)}`)
        .catch(() => undefined);
    }
  }

  private pullError(connection: Connection, err: unknown): string {
    if (err instanceof PullFailed) return err.message;
    this.d.logger.error({ err, connectionId: connection.id }, 'reading the IdP failed unexpectedly');
    return `internal error while reading the IdP: ${(err as Error)?.message ?? String(err)}`;
  }

  /** Snapshot + Jira state + rules → the plan (pure); 'failed' when Jira could not be read. */
  private async planFor(
    connection: Connection,
  ): Promise<{ kind: 'plan'; plan: Plan } | { kind: 'failed'; error: string }> {
    const rules = rulesOf(connection.settings);
    const snapshot = await this.d.store.snapshot(connection.id, resourceKeysOf(rules));
    try {
      const jira = this.d.jira.forTenant(connection.clientKey);
      const [state, links, managed] = await Promise.all([
        readJiraState(jira, rules, snapshot.allIdpGroups),
        this.d.store.links(connection.id),
        this.d.store.managedMemberships(connection.clientKey, connection.id),
      ]);
      return {
        kind: 'plan',
        plan: plan({
          importUsers: connection.importUsers,
          importGroups: connection.importGroups,
          rules,
          ...snapshot,
          links,
          jira: state,
          managed: managed.mine,
          managedByOthers: managed.others,
        }),
      };
    } catch (err) {
      if (!(err instanceof JiraError)) throw err;
      return { kind: 'failed', error: `Could not read Jira's groups and members: ${err.message}` };
    }
  }

  /** Starts the background loops: the worker, the SCIM outbox (debounced), and history retention. */
  start(): void {
    const { pollMs } = this.d.options;
    this.timers.push(setInterval(() => this.kick(), pollMs));
    this.timers.push(
      setInterval(
        () => void this.drainOutbox().catch((err) => this.d.logger.error({ err }, 'outbox check failed')),
        pollMs,
      ),
    );
    this.timers.push(
      setInterval(() => void this.d.store.purgeHistory(this.d.options.historyDays).catch(() => undefined), 3_600_000),
    );
    for (const t of this.timers) t.unref();
  }

  /** Stops the loops and waits for the operations in hand to finish. */
  async stop(): Promise<void> {
    this.timers.forEach(clearInterval);
    this.timers = [];
    while (this.working || this.active > 0 || this.reading.size > 0) await new Promise((r) => setTimeout(r, 10));
  }

  /** Asks for a run as soon as the connection's current one is over (through the outbox, like a SCIM change). */
  async requestRun(connectionId: string): Promise<void> {
    await this.d.store.requestRun(connectionId);
  }

  /** Starts runs for connections whose SCIM changes have gone quiet (a burst becomes one run). */
  async drainOutbox(): Promise<void> {
    const { debounceMs, maxDelayMs } = this.d.options;
    for (const q of await this.d.store.quietOutboxes(debounceMs, maxDelayMs)) {
      const connection = await this.d.connections.get(q.clientKey, q.connectionId);
      if (connection)
        await this.run(connection, connection.kind === 'scim' ? 'scim' : 'login', { coveredRequestId: q.lastId });
    }
  }

  /** Works off ready operations until none is left to claim now. */
  kick(): void {
    if (this.working) return;
    this.working = true;
    void this.work().finally(() => (this.working = false));
  }

  /** Runs the worker until every operation is finished (tests and benchmarks); false on timeout. */
  async drain(timeoutMs = 60_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      await this.work();
      const open = await this.d.store.openOperations();
      if (open === 0) {
        // Another worker loop may have finished the last operation after this one closed its runs.
        await this.d.store.closeFinishedRuns();
        return true;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    return false;
  }

  private async work(): Promise<void> {
    try {
      await this.d.store.recoverStale(this.d.options.leaseMs);
      // A pipeline, not batches: as soon as one operation finishes another is claimed, so a
      // paced tenant always has a call waiting for its next slot.
      const inFlight = new Set<Promise<void>>();
      for (;;) {
        const room = this.d.options.workerConcurrency - inFlight.size;
        const ops = room > 0 ? await this.d.store.claim(room) : [];
        for (const op of ops) {
          const p: Promise<void> = this.apply(op).finally(() => inFlight.delete(p));
          inFlight.add(p);
        }
        if (inFlight.size === 0) break;
        await Promise.race(inFlight);
      }
      for (const run of await this.d.store.closeFinishedRuns()) {
        this.d.logger.info({ runId: run.id, status: run.status, counts: run.counts }, 'sync run finished');
      }
    } catch (err) {
      this.d.logger.error({ err }, 'sync worker failed');
    }
  }

  private async apply(op: StoredOperation): Promise<void> {
    this.active++;
    try {
      const outcome = await applyOperation(op, this.d.jira.forTenant(op.clientKey), this.d.store, this.groupIds);
      await this.d.store.finish(op, 'done', outcome, null);
    } catch (err) {
      await this.failed(op, err);
    } finally {
      this.active--;
    }
  }

  private async failed(op: StoredOperation, err: unknown): Promise<void> {
    const { maxAttempts } = this.d.options;
    if (err instanceof CannotApply) return this.d.store.finish(op, 'parked', null, err.message);
    if (err instanceof JiraError) {
      if (err.kind === 'needs-credentials') return this.d.store.finish(op, 'parked', null, err.message);
      if (err.retryable && op.attempts < maxAttempts) {
        const wait =
          err.retryAfterMs ?? backoffDelay(op.attempts, { backoffBaseMs: 1000, backoffMaxMs: 300_000 }, Math.random);
        return this.d.store.retryLater(op, wait, err.message);
      }
      return this.d.store.finish(
        op,
        'parked',
        null,
        err.retryable ? `gave up after ${op.attempts} attempts: ${err.message}` : err.message,
      );
    }
    this.d.logger.error({ err, opId: op.id, kind: op.kind }, 'sync operation failed unexpectedly');
    return this.d.store.finish(op, 'parked', null, `internal error: ${(err as Error)?.message ?? String(err)}`);
  }
}

/** The resource keys a plan reads: those of the attribute mapping and the custom attributes. */
function resourceKeysOf(rules: Rules): string[] {
  const a = rules.attributes;
  return [
    ...new Set([a.userName, a.email, a.displayName, ...a.custom.map((c) => c.from), 'userName'].map(topLevelKey)),
  ];
}
