import { setTimeout as pause } from 'node:timers/promises';
import { backoffDelay } from '../../backoff';
import { every, type Job } from '../../every';
import type { Clock } from '../../clock';
import type { Config } from '../../config';
import { JiraError } from '../../jira/errors';
import type { JiraClientFactory } from '../../jira/factory';
import { BackgroundFailures, isDatabaseUnavailable } from '../../db/unavailable';
import type { Logger } from '../../logger';
import { inSpan, tracing } from '../../tracing';
import type { LinkRepository } from '../stores/links';
import type { JiraStateStore } from '../stores/jiraState';
import type { ManagedMemberships } from '../stores/managedMemberships';
import type { CustomerGrants } from '../stores/customerGrants';
import type { RunRepository } from '../stores/runs';
import { applyOperation, CannotApply, GroupIds } from '../operations';
import type { OperationQueue, StoredOperation } from './queue';

export interface ExecutorDeps {
  queue: OperationQueue;
  runs: RunRepository;
  links: LinkRepository;
  managed: ManagedMemberships;
  jiraState: JiraStateStore;
  grants: CustomerGrants;
  jira: JiraClientFactory;
  logger: Logger;
  options: Config['sync'];
  clock: Clock;
}

/** How long an operation that needs the Forge app system token waits before it is tried again. */
const APP_TOKEN_WAIT_MS = 5 * 60_000;

/**
 * The durable executor: works off the operation queue in every instance at once — each operation
 * claimed by exactly one worker (SKIP LOCKED), applied through one Jira call (apply.ts), retried
 * with backoff or at Jira's Retry-After, parked with a reason when it cannot be done, and handed
 * back to the queue when the worker holding it died (lease recovery).
 *
 * Waiting for work done elsewhere (stop, drain) is real time whatever the clock; decisions (backoff,
 * jitter) go through the injected Clock.
 */
export class Executor {
  private poll: Job | undefined;
  private working = false;
  private again = false;
  private active = 0;
  private readonly groupIds = new GroupIds();
  /** Traced: each run's trace context, read once per run here. */
  private readonly runTraces = new Map<string, string | null>();
  private readonly failures: BackgroundFailures;

  constructor(private readonly d: ExecutorDeps) {
    this.failures = new BackgroundFailures(d.logger);
  }

  /** Polls for ready operations (another instance's, retries that came due) every SYNC_POLL_MS. */
  start(): void {
    // kick() guards its own loop and records its own failures: the round is over at once.
    this.poll = every('executor poll', this.d.options.pollMs, async () => this.kick(), this.d.logger);
  }

  /** Stops polling and waits for the operations in hand to finish. */
  async stop(): Promise<void> {
    this.poll?.stop();
    this.poll = undefined;
    while (this.working || this.active > 0) await pause(10);
  }

  /**
   * Works off ready operations until none is left to claim now. A kick while the loop is finishing
   * (a run created just as the last claim came back empty) makes it go round once more, rather
   * than wait for the next poll.
   */
  kick(): void {
    if (this.working) {
      this.again = true;
      return;
    }
    this.working = true;
    void (async () => {
      do {
        this.again = false;
        await this.work();
      } while (this.again);
    })().finally(() => (this.working = false));
  }

  /** Runs the worker until every operation is finished (tests and benchmarks); false on timeout. */
  async drain(timeoutMs = 60_000): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      await this.work();
      if ((await this.d.queue.openOperations()) === 0) {
        // Another worker loop may have finished the last operation after this one closed its runs.
        await this.d.runs.closeFinishedRuns();
        return true;
      }
      await pause(20);
    }
    return false;
  }

  private async work(): Promise<void> {
    try {
      await this.d.queue.recoverStale(this.d.options.leaseMs);
      await this.d.runs.failStaleReads(this.d.options.leaseMs);
      // A pipeline, not batches: as soon as one operation finishes another is claimed, so a
      // paced tenant always has a call waiting for its next slot.
      const inFlight = new Set<Promise<void>>();
      for (;;) {
        const room = this.d.options.workerConcurrency - inFlight.size;
        const idle = inFlight.size === 0;
        const ops = room > 0 ? await this.d.queue.claim(room, this.d.options.perSiteInFlight) : [];
        for (const op of ops) {
          const p: Promise<void> = this.apply(op).finally(() => inFlight.delete(p));
          inFlight.add(p);
        }
        // Done only when a claim with nothing in hand found nothing: operations that finished while this one
        // was claiming may have opened the run's next phase.
        if (inFlight.size === 0) {
          if (idle) break;
          continue;
        }
        await Promise.race(inFlight);
      }
      for (const run of await this.d.runs.closeFinishedRuns()) {
        this.d.logger.info({ runId: run.id, status: run.status, counts: run.counts }, 'sync run finished');
      }
      this.failures.succeeded('sync worker');
    } catch (err) {
      this.failures.failed('sync worker', err);
    }
  }

  /**
   * Applies one operation and records how it ended. Never rejects: when even the record cannot be
   * written (the database went away), the operation stays claimed and its lease hands it back to
   * the queue (SYNC_LEASE_MS), to be applied again, idempotently.
   */
  private async apply(op: StoredOperation): Promise<void> {
    this.active++;
    try {
      let outcome: Awaited<ReturnType<typeof applyOperation>>;
      try {
        outcome = await this.traced(op, () =>
          applyOperation(op, this.d.jira.forTenant(op.clientKey), this.d, this.groupIds),
        );
      } catch (err) {
        return await this.failed(op, err);
      }
      await this.d.queue.finish(op, 'done', outcome, null);
    } catch (err) {
      this.failures.failed('sync worker', err);
    } finally {
      this.active--;
    }
  }

  /** Traced, an operation is a span under its run's (its Jira calls under it); otherwise just applied. */
  private async traced<T>(op: StoredOperation, apply: () => Promise<T>): Promise<T> {
    if (!tracing()) return apply();
    let parent = this.runTraces.get(op.runId);
    if (parent === undefined) {
      parent = await this.d.runs.traceparentOf(op.runId);
      if (this.runTraces.size > 1000) this.runTraces.clear();
      this.runTraces.set(op.runId, parent);
    }
    return inSpan(
      `apply ${op.kind}`,
      {
        parents: [parent],
        attributes: { 'idp.operation.kind': op.kind, 'idp.operation.attempt': op.attempts, 'idp.run.id': op.runId },
      },
      apply,
    );
  }

  /** Retry later (backoff, or Jira's Retry-After) or park with a reason the admin can read. */
  private async failed(op: StoredOperation, err: unknown): Promise<void> {
    const { maxAttempts } = this.d.options;
    const { queue, clock } = this.d;
    if (err instanceof CannotApply) return queue.finish(op, 'parked', null, err.message);
    if (err instanceof JiraError) {
      // Forge hands the app a fresh system token on its next call (the hourly trigger at the latest): wait for it.
      if (err.kind === 'needs-credentials' && err.details.needs === 'app-token' && op.attempts < maxAttempts)
        return queue.retryLater(op, APP_TOKEN_WAIT_MS, err.message);
      if (err.kind === 'needs-credentials') {
        await queue.finish(op, 'parked', null, err.message);
        const needs = err.details.needs;
        if (needs && needs !== 'app-token') {
          const what = needs === 'site-admin-token' ? 'a site-admin API token' : 'an organization API key';
          await queue.parkNeeding(op.runId, needs, `needs ${what}, like the rest of this run's writes of its kind`);
        }
        return;
      }
      if (err.retryable && op.attempts < maxAttempts) {
        const wait =
          err.retryAfterMs ??
          backoffDelay(op.attempts, { backoffBaseMs: 1000, backoffMaxMs: 300_000 }, () => clock.random());
        return queue.retryLater(op, wait, err.message);
      }
      // A refused credential (a revoked site-admin token, an expired org key): the run's notice says so.
      if (err.status === 401) await this.d.runs.credentialsRefused(op.runId);
      const reason = err.retryable ? `gave up after ${op.attempts} attempts: ${err.message}` : err.message;
      return queue.finish(op, 'parked', null, reason);
    }
    // Jira's answer was not recorded (the database went away mid-operation): try again, never park.
    if (isDatabaseUnavailable(err)) return queue.retryLater(op, 1000, 'the database was unavailable');
    this.d.logger.error({ err, opId: op.id, kind: op.kind }, 'sync operation failed unexpectedly');
    return queue.finish(op, 'parked', null, `internal error: ${(err as Error)?.message ?? String(err)}`);
  }
}
