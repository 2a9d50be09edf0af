import { createLogger } from '../../src/logger';
import { PushTracker } from '../../src/notifications/pushes';

/** When an IdP last called is written at most once per window per connection (docs/notifications.md#for-operators). */
it('writes when a connection was last called at most once per window, each connection on its own', async () => {
  const written: string[][] = [];
  const tracker = new PushTracker({ pushed: async (ids) => void written.push(ids) }, createLogger('silent'), 60_000);
  for (let i = 0; i < 100; i++) tracker.seen('a');
  tracker.seen('b');
  await new Promise((r) => setImmediate(r));
  expect(written).toEqual([['a'], ['b']]);
});

it('tries again at the next request when a write failed', async () => {
  let fail = true;
  const written: string[] = [];
  const tracker = new PushTracker(
    {
      pushed: async (ids) => {
        if (fail) throw new Error('the database went away');
        written.push(...ids);
      },
    },
    createLogger('silent'),
    60_000,
  );
  tracker.seen('a');
  await new Promise((r) => setImmediate(r));
  fail = false;
  tracker.seen('a');
  await new Promise((r) => setImmediate(r));
  expect(written).toEqual(['a']);
});
