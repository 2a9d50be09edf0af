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
