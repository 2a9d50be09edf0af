import type { ConnectionRepository } from '../db/connections';
import { every, type Job } from '../every';
import type { Logger } from '../logger';
import type { ProvisioningEngine } from '../provisioning/engine';

export interface ReconcilerDeps {
  connections: ConnectionRepository;
  engine: ProvisioningEngine;
  logger: Logger;
  /** How often to look for connections due (ms). */
  checkMs: number;
}

/**
 * Scheduled full reconciliation of every connection: every few minutes, each connection whose last
 * full reconciliation is older than its rules' `reconcileEveryHours` (24 by default; 0: only on
 * demand) is claimed by one instance and gets a run that reads Jira again and plans every user of
 * the directory store, correcting what was changed in Jira outside the app (SCIM changes and Entra
 * ID delta reads in between plan from the Jira state the app knows).
 */
export class Reconciler {
  private job: Job | undefined;

  constructor(private readonly d: ReconcilerDeps) {}

  start(): void {
    this.job = every('starting scheduled reconciliations', this.d.checkMs, () => this.check(), this.d.logger);
  }

  stop(): void {
    this.job?.stop();
    this.job = undefined;
  }

  /** Starts the reconciliations that are due; how many started. */
  async check(): Promise<number> {
    let started = 0;
    for (;;) {
      const due = await this.d.connections.claimReconciliation();
      if (!due) return started;
      const c = await this.d.connections.byId(due.connectionId);
      const result = c && (await this.d.engine.run(c, 'schedule'));
      if (result?.kind === 'started') started++;
      else if (result?.kind === 'busy') await this.d.connections.unclaimReconciliation(due); // try again at the next check
      this.d.logger.info({ connectionId: due.connectionId, result: result?.kind }, 'scheduled full reconciliation');
    }
  }
}
