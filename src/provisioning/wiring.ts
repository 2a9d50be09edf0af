import type { Clock } from '../clock';
import type { Config } from '../config';
import type { Sql } from '../db/sql';
import { SnapshotReader } from '../directory/snapshot';
import type { JiraClientFactory } from '../jira/factory';
import type { Logger } from '../logger';
import { CustomerGrants } from './stores/customerGrants';
import { ProvisioningEngine } from './engine';
import { OperationQueue } from './executor/queue';
import { Executor } from './executor/worker';
import { JiraStateStore } from './stores/jiraState';
import { LinkRepository } from './stores/links';
import { ManagedMemberships } from './stores/managedMemberships';
import { Outbox } from './stores/outbox';
import { RunRepository } from './stores/runs';

/** The provisioning room built once: its stores, the durable executor, and the engine over them. */
export function buildProvisioning(d: {
  sql: Sql;
  jira: JiraClientFactory;
  config: Config;
  logger: Logger;
  clock: Clock;
}) {
  const { sql, jira, config, logger, clock } = d;
  const queue = new OperationQueue(sql);
  const outbox = new Outbox(sql);
  const runs = new RunRepository(sql, queue, outbox);
  const links = new LinkRepository(sql);
  const managed = new ManagedMemberships(sql);
  const jiraState = new JiraStateStore(sql);
  const grants = new CustomerGrants(sql);
  const stores = { runs, links, managed, jiraState, grants, jira, logger, clock };
  const executor = new Executor({ ...stores, queue, options: config.sync });
  const engine = new ProvisioningEngine({
    ...stores,
    snapshot: new SnapshotReader(sql),
    executor,
    retry: config.sync.runRetry,
  });
  return { queue, outbox, runs, links, engine };
}
