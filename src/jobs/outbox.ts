import type { Config } from '../config';
import type { ConnectionRepository } from '../db/connections';
import { every, type Job } from '../every';
import type { Logger } from '../logger';
import type { ProvisioningEngine } from '../provisioning/engine';
import type { Outbox } from '../provisioning/stores/outbox';
import type { RunRepository } from '../provisioning/stores/runs';
import { kindOf } from '../sources/registry';
import { inSpan } from '../tracing';

export interface OutboxTriggerDeps {
  outbox: Outbox;
  connections: ConnectionRepository;
  engine: ProvisioningEngine;
  runs: RunRepository;
  logger: Logger;
  options: Config['sync'];
}

/**
 * The SCIM trigger: once a connection's directory changes have gone quiet (SYNC_DEBOUNCE_MS, or
 * SYNC_MAX_DELAY_MS since the oldest), one run covers them all, planned from those changes. A first login's queued request
 * (a run was already going) is picked up the same way. While a run that could not start for want
 * of Jira waits for its next try, the changes wait with it.
 */
export class OutboxTrigger {
  private job: Job | undefined;
  /** Connections this instance is taking up now. */
  private readonly takingUp = new Map<string, Promise<void>>();

  constructor(private readonly d: OutboxTriggerDeps) {}

  start(): void {
    // Often enough that a change waits about its debounce, not a whole poll more.
    const ms = Math.min(this.d.options.pollMs, Math.max(50, Math.floor(this.d.options.debounceMs / 2)));
    this.job = every('outbox check', ms, () => this.drain(), this.d.logger, { overlapping: true });
  }

  stop(): void {
    this.job?.stop();
    this.job = undefined;
  }

  /**
   * Starts runs for connections whose changes have gone quiet (a burst becomes one run). Connections
   * are taken up side by side, not one after another: a site whose big plan takes seconds does not
   * hold another site's change; a connection still being taken up from an earlier look is left to it.
   */
  async drain(): Promise<void> {
    const { debounceMs, maxDelayMs } = this.d.options;
    const quiet = (await this.d.outbox.quietOutboxes(debounceMs, maxDelayMs)).filter(
      (q) => !this.takingUp.has(q.connectionId),
    );
    await Promise.all(
      quiet.map((q) => {
        const taking = this.takeUp(q).finally(() => this.takingUp.delete(q.connectionId));
        this.takingUp.set(q.connectionId, taking);
        return taking;
      }),
    );
  }

  /** Resolves once no connection is being taken up here (its run created, or found not needed). */
  async settled(): Promise<void> {
    while (this.takingUp.size > 0) await Promise.allSettled([...this.takingUp.values()]);
  }

  private async takeUp(q: { connectionId: string; clientKey: string; lastId: string }): Promise<void> {
    const connection = await this.d.connections.get(q.clientKey, q.connectionId);
    // Jira did not answer the last time: the changes wait for the run's next try (one failed run, not a storm).
    if (!connection || (await this.d.runs.nextTryOf(connection.id))) return;
    const { changes, trigger, traceparents } = await this.d.outbox.requestsUpTo(connection.id, q.lastId);
    const runTrigger = trigger ?? (kindOf(connection.kind) ? 'login' : 'scim');
    // Traced, the run continues the trace of the SCIM requests it covers (kept with their outbox rows).
    await inSpan(
      'sync run',
      {
        parents: traceparents,
        attributes: {
          'idp.connection.id': connection.id,
          'idp.connection.kind': connection.kind,
          'idp.run.trigger': runTrigger,
        },
      },
      (span) =>
        this.d.engine.run(connection, runTrigger, { coveredRequestId: q.lastId, changes }).then((result) => {
          span?.setAttribute('idp.run.result', result.kind);
          if (result.kind === 'started') span?.setAttribute('idp.run.id', result.run.id);
          return result;
        }),
    );
  }
}
