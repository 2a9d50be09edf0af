import cron, { type ScheduledTask } from 'node-cron';
import type { Sequelize } from 'sequelize';
import type { Connection, ConnectionRepository } from '../db/connections';
import { ChannelListener } from '../db/notifications';
import { BackgroundFailures } from '../db/unavailable';
import type { Logger } from '../logger';
import type { ProvisioningEngine } from '../provisioning/engine';
import type { PullSources } from '../sources/registry';
import type { SourceStateRepository } from '../sources/state';

/** The cron expression for "every N minutes" (N from the allowed list: divisors of an hour, or whole hours dividing a day). */
export function cronFor(minutes: number): string {
  if (minutes < 60) return `*/${minutes} * * * *`;
  const hours = minutes / 60;
  return hours >= 24 ? '0 0 * * *' : `0 */${hours} * * *`;
}

export interface SchedulerDeps {
  connections: ConnectionRepository;
  engine: ProvisioningEngine;
  sources: PullSources;
  state: SourceStateRepository;
  sequelize: Sequelize;
  logger: Logger;
}

/**
 * Scheduled pull syncs: every instance keeps a node-cron task per Entra ID connection (rescheduled
 * when its interval changes, removed when it goes — Postgres tells every instance), and at each tick
 * one instance wins the connection's slot in source_state; the others skip. The run itself is also
 * one-per-connection (a manual or login run going on makes the tick a no-op).
 */
export class Scheduler {
  private readonly tasks = new Map<string, { expression: string; task: ScheduledTask }>();
  private readonly listener: ChannelListener;
  private readonly ticking = new Set<Promise<unknown>>();
  /** How its failures are logged: as every periodic job's (`every.ts`), a database that went away once. */
  private readonly failures: BackgroundFailures;

  constructor(private readonly d: SchedulerDeps) {
    this.failures = new BackgroundFailures(d.logger);
    this.listener = new ChannelListener(
      d.sequelize,
      'idp_sync_schedules',
      (id) => void this.refresh(id),
      () => void this.reload(),
      d.logger,
    );
  }

  async start(): Promise<void> {
    await this.listener.start();
    await this.reload();
  }

  async stop(): Promise<void> {
    await this.listener.stop();
    for (const { task } of this.tasks.values()) void task.destroy();
    this.tasks.clear();
    await Promise.allSettled([...this.ticking]);
  }

  /** The cron expression scheduled for a connection (tests, diagnostics). */
  expressionOf(connectionId: string): string | undefined {
    return this.tasks.get(connectionId)?.expression;
  }

  /** Re-reads one connection and (re)schedules or unschedules it. */
  async refresh(connectionId: string): Promise<void> {
    try {
      const c = await this.d.connections.byId(connectionId);
      this.apply(connectionId, c);
      this.failures.succeeded('connection schedules');
    } catch (err) {
      this.failures.failed('connection schedules', err, { connectionId });
    }
  }

  /** One scheduled tick: claim the slot, and if this instance won, run an incremental sync. */
  async tick(connectionId: string): Promise<'ran' | 'skipped' | 'busy'> {
    const c = await this.d.connections.byId(connectionId);
    const source = c && this.d.sources.for(c);
    if (!c || !source || c.pausedAt) return 'skipped';
    const minutes = source.scheduleMinutes(c);
    if (!minutes || !(await this.d.state.claimSchedule(c.id, minutes))) return 'skipped';
    const result = await this.d.engine.run(c, 'schedule', { pull: source.pull(c, 'auto') });
    return result.kind === 'busy' ? 'busy' : 'ran';
  }

  private async reload(): Promise<void> {
    try {
      const all = (await Promise.all(this.d.sources.kinds().map((k) => this.d.connections.allOfKind(k)))).flat();
      const ids = new Set(all.map((c) => c.id));
      for (const id of [...this.tasks.keys()]) if (!ids.has(id)) this.apply(id, undefined);
      for (const c of all) this.apply(c.id, c);
      this.failures.succeeded('connection schedules');
    } catch (err) {
      this.failures.failed('connection schedules', err);
    }
  }

  private apply(id: string, c: Connection | undefined): void {
    const minutes = (c && this.d.sources.for(c)?.scheduleMinutes(c)) || 0;
    const expression = minutes ? cronFor(minutes) : undefined;
    const current = this.tasks.get(id);
    if (current?.expression === expression) return;
    if (current) void current.task.destroy();
    this.tasks.delete(id);
    if (!expression) return;
    const task = cron.schedule(
      expression,
      () => {
        const p = this.tick(id).then(
          () => this.failures.succeeded('scheduled sync'),
          (err: unknown) => this.failures.failed('scheduled sync', err, { connectionId: id }),
        );
        this.ticking.add(p);
        void p.finally(() => this.ticking.delete(p));
      },
      { name: `sync:${id}`, noOverlap: true },
    );
    this.tasks.set(id, { expression, task });
  }
}
