import type { ConnectionRepository } from '../db/connections';
import type { Outbox } from '../provisioning/stores/outbox';
import type { RunRepository } from '../provisioning/stores/runs';

export interface WakeDeps {
  connections: ConnectionRepository;
  runs: RunRepository;
  outbox: Outbox;
}

/**
 * What a site's runs waited for is there now (site credentials were saved, or Forge handed over a
 * fresh app token): each connection's run that could not start is tried at once, and a run is asked
 * for (`onlyWaiting`: only for connections whose last run could not start).
 */
export async function wakeSite(d: WakeDeps, clientKey: string, opts: { onlyWaiting?: boolean } = {}): Promise<void> {
  for (const c of await d.connections.list(clientKey)) {
    if (opts.onlyWaiting && !(await d.runs.nextTryOf(c.id))) continue;
    await d.runs.stopWaitingFor(c.id);
    await d.outbox.requestRun(c.id);
  }
}
