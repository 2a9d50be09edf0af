import { loadConfig } from '../../src/config';
import { OutboxTrigger, type OutboxTriggerDeps } from '../../src/jobs/outbox';
import { createLogger } from '../../src/logger';

/**
 * SCIM changes wait about their debounce, not a whole poll more: the outbox is looked at every half
 * of SYNC_DEBOUNCE_MS (500 ms by default: every 250 ms), or every SYNC_POLL_MS when that is shorter.
 */
afterEach(() => jest.useRealTimers());

function trigger(env: Record<string, string>) {
  const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: 'postgres://unused/db', ...env });
  const looks: number[] = [];
  const deps = {
    outbox: { quietOutboxes: async () => (looks.push(Date.now()), []) },
    logger: createLogger('silent'),
    options: config.sync,
  } as unknown as OutboxTriggerDeps;
  return { t: new OutboxTrigger(deps), looks, config };
}

it('looks for quiet changes every 250 ms by default (a debounce of 500 ms)', () => {
  jest.useFakeTimers();
  const { t, looks, config } = trigger({});
  expect(config.sync.debounceMs).toBe(500);
  t.start();
  jest.advanceTimersByTime(1000);
  t.stop();
  expect(looks).toHaveLength(4);
});

it('every SYNC_POLL_MS when that is shorter than half the debounce', () => {
  jest.useFakeTimers();
  const { t, looks } = trigger({ SYNC_DEBOUNCE_MS: '10000', SYNC_POLL_MS: '200' });
  t.start();
  jest.advanceTimersByTime(1000);
  t.stop();
  expect(looks).toHaveLength(5);
});

it("takes connections up side by side: one site's slow plan does not hold another site's run", async () => {
  const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: 'postgres://unused/db' });
  let release: () => void = () => undefined;
  const slow = new Promise<void>((r) => (release = r));
  const started: string[] = [];
  const deps = {
    outbox: {
      quietOutboxes: async () => [
        { connectionId: 'big', clientKey: 'site-a', lastId: '1' },
        { connectionId: 'small', clientKey: 'site-b', lastId: '2' },
      ],
      requestsUpTo: async () => ({ changes: { userIds: ['u'], groupIds: [], wide: false } }),
    },
    connections: { get: async (_: string, id: string) => ({ id, kind: 'scim' }) },
    runs: { nextTryOf: async () => null },
    engine: {
      run: async (c: { id: string }) => {
        started.push(c.id);
        if (c.id === 'big') await slow; // a plan of many users, seconds long
        return { kind: 'started' };
      },
    },
    logger: createLogger('silent'),
    options: config.sync,
  } as unknown as OutboxTriggerDeps;
  const t = new OutboxTrigger(deps);
  const first = t.drain();
  await new Promise((r) => setTimeout(r, 20));
  expect(started).toEqual(['big', 'small']); // the small site's run started while the big plan goes on
  await t.drain(); // a later look leaves the connection still being taken up to its first look
  expect(started).toEqual(['big', 'small', 'small']);
  release();
  await first;
});

it("a site's claims are bounded by twice JIRA_CONCURRENCY_PER_TENANT", () => {
  const base = { NODE_ENV: 'test', DATABASE_URL: 'postgres://unused/db' };
  expect(loadConfig(base).sync.perSiteInFlight).toBe(20); // 10 by default
  expect(loadConfig({ ...base, JIRA_CONCURRENCY_PER_TENANT: '4' }).sync.perSiteInFlight).toBe(8);
});
