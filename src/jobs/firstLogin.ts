import type { ConnectionRepository } from '../db/connections';
import type { JiraClientFactory } from '../jira/factory';
import type { Logger } from '../logger';
import type { ProvisioningEngine } from '../provisioning/engine';
import type { Outbox } from '../provisioning/stores/outbox';
import { PullFailed } from '../sources/source';
import type { PullSources } from '../sources/registry';

export interface FirstLoginDeps {
  connections: ConnectionRepository;
  sources: PullSources;
  engine: ProvisioningEngine;
  outbox: Outbox;
  jira: JiraClientFactory;
  logger: Logger;
}

export interface UserCreatedEvent {
  user?: { accountId?: string; emailAddress?: string; accountType?: string };
}

/**
 * Jira's `user_created` webhook (JWT-verified by the host): each pull connection of the site pulls
 * that one user and their group memberships from its IdP, then a run provisions them at once (or,
 * when a run is already going, right after it: the request waits in the outbox).
 */
export async function onUserCreated(
  d: FirstLoginDeps,
  clientKey: string,
  event: UserCreatedEvent,
): Promise<Array<{ connectionId: string; outcome: string }>> {
  const accountId = event.user?.accountId;
  if (!accountId || (event.user?.accountType && event.user.accountType !== 'atlassian')) return [];
  const pullConnections = (await d.connections.list(clientKey)).flatMap((c) => {
    const source = d.sources.for(c);
    return source ? [{ c, source }] : [];
  });
  if (pullConnections.length === 0) return [];
  let email = event.user?.emailAddress;
  if (!email)
    email = (
      await d.jira
        .forTenant(clientKey)
        .getUser(accountId)
        .catch(() => undefined)
    )?.emailAddress;
  if (!email) {
    d.logger.info({ clientKey, accountId }, 'user_created: Jira did not share the email address; nothing to look up');
    return pullConnections.map(({ c }) => ({ connectionId: c.id, outcome: 'no-email' }));
  }
  const outcomes = [];
  for (const { c, source } of pullConnections) {
    if (c.pausedAt) {
      outcomes.push({ connectionId: c.id, outcome: 'paused' }); // resumed, its next read finds the user
      continue;
    }
    try {
      const found = await source.pullUser(c, email);
      if (found === 'absent') {
        outcomes.push({ connectionId: c.id, outcome: 'not-in-scope' });
        continue;
      }
      const run = await d.engine.run(c, 'login');
      if (run.kind === 'busy') await d.outbox.requestRun(c.id);
      outcomes.push({ connectionId: c.id, outcome: run.kind === 'busy' ? 'queued' : run.kind });
    } catch (err) {
      if (!(err instanceof PullFailed))
        d.logger.error({ err, connectionId: c.id }, 'user_created: pulling the user failed');
      else d.logger.warn({ connectionId: c.id, reason: err.message }, 'user_created: pulling the user failed');
      outcomes.push({ connectionId: c.id, outcome: 'failed' });
    }
  }
  d.logger.info({ clientKey, accountId, outcomes }, 'user_created handled');
  return outcomes;
}

/** How long a new user's first-login work stands: the same event again within it (a retry, or both hosts) is dropped. */
const SEEN_MS = 10 * 60_000;

/**
 * First-login work off the request: Connect's webhook and Forge's `avi:jira:created:user` hand the
 * event over and answer at once (Forge gives 5 s). The same user's event again within ten minutes
 * (Forge's redeliveries, or one from each host while a site moves) is dropped; the work is
 * idempotent anyway. `settle()` waits for the work in hand (shutdown).
 */
export class FirstLogins {
  private readonly work = new Set<Promise<unknown>>();
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly d: FirstLoginDeps,
    private readonly now: () => number = Date.now,
  ) {}

  enqueue(clientKey: string, event: UserCreatedEvent): void {
    const accountId = event.user?.accountId;
    if (!accountId) return;
    const key = `${clientKey}|${accountId}`;
    const at = this.now();
    const last = this.seen.get(key);
    if (last !== undefined && at - last < SEEN_MS) return;
    for (const [k, t] of this.seen) if (at - t >= SEEN_MS || this.seen.size > 10_000) this.seen.delete(k);
    this.seen.set(key, at);
    const p = onUserCreated(this.d, clientKey, event).catch((err) =>
      this.d.logger.error({ err }, 'user_created handling failed'),
    );
    this.work.add(p);
    void p.finally(() => this.work.delete(p));
  }

  async settle(): Promise<void> {
    await Promise.allSettled([...this.work]);
  }
}
