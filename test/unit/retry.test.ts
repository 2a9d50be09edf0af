import { JiraError } from '../../src/jira/errors';
import { TenantLimiter } from '../../src/jira/limiter';
import { backoffDelay, parseRetryAfter, withRetry, type RetryPolicy } from '../../src/jira/retry';
import { VirtualClock } from '../support/clock';

const policy: RetryPolicy = { maxAttempts: 5, backoffBaseMs: 100, backoffMaxMs: 1000, maxRetryWaitMs: 60_000 };
const retryable = (retryAfterMs?: number) => new JiraError('x', 'http', true, { status: 503, retryAfterMs });

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-11-22T12:00:00Z');
  it.each([
    [{ 'retry-after': '5' }, 5000],
    [{ 'retry-after': '0.5' }, 500],
    [{ 'retry-after': 'Sun, 22 Nov 2026 12:00:30 GMT' }, 30_000],
    [{ 'x-ratelimit-reset': '2026-11-22T12:01:00Z' }, 60_000],
    [{ 'retry-after': 'soon' }, undefined],
    [{}, undefined],
  ])('%p → %p ms', (headers, expected) => {
    expect(parseRetryAfter(headers, now)).toBe(expected);
  });
});

describe('backoffDelay', () => {
  it('doubles each attempt, jittered within [step/2, step], and stops at the cap', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, policy, () => 0))).toEqual([50, 100, 200, 400, 500, 500]);
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, policy, () => 1))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });
});

describe('withRetry', () => {
  it("prefers Jira's wait to its own backoff", async () => {
    const clock = new VirtualClock();
    let n = 0;
    await withRetry(
      async () => {
        if (++n < 3) throw retryable(n === 1 ? 4000 : undefined);
        return 'ok';
      },
      policy,
      clock,
    );
    expect(clock.sleeps).toEqual([4000, 150]);
  });

  it('throws non-retryable and foreign errors at once', async () => {
    const clock = new VirtualClock();
    await expect(
      withRetry(
        async () => {
          throw new JiraError('no', 'http', false, { status: 400 });
        },
        policy,
        clock,
      ),
    ).rejects.toThrow('no');
    await expect(
      withRetry(
        async () => {
          throw new TypeError('bug');
        },
        policy,
        clock,
      ),
    ).rejects.toThrow(TypeError);
    expect(clock.sleeps).toEqual([]);
  });
});

describe('TenantLimiter', () => {
  it('holds every call of a tenant paused by a long Retry-After until it ends, and leaves other tenants alone', async () => {
    let now = 0;
    const pending: Array<{ until: number; wake: () => void }> = [];
    const clock = {
      now: () => now,
      random: () => 0.5,
      sleep: (ms: number) => new Promise<void>((wake) => pending.push({ until: now + ms, wake })),
    };
    const limiter = new TenantLimiter(2, clock);
    limiter.pause('a', 20_000);
    const ran: string[] = [];
    const a = limiter.run('a', async () => ran.push(`a@${now}`));
    await limiter.run('b', async () => ran.push(`b@${now}`));
    expect(ran).toEqual(['b@0']); // b went straight through while a waits
    expect(pending).toHaveLength(1);
    expect(pending[0].until).toBe(20_000);
    now = 20_000;
    pending.shift()!.wake();
    await a;
    expect(ran).toEqual(['b@0', 'a@20000']);
  });

  it('runs at most N calls at once per tenant, and one at a time when near the limit', async () => {
    const limiter = new TenantLimiter(3, new VirtualClock());
    let active = 0;
    let peak = 0;
    const task = () =>
      limiter.run('t', async () => {
        peak = Math.max(peak, ++active);
        await new Promise((r) => setTimeout(r, 5));
        active--;
      });
    await Promise.all(Array.from({ length: 10 }, task));
    expect(peak).toBe(3);
    limiter.nearLimit('t');
    peak = 0;
    await Promise.all(Array.from({ length: 5 }, task));
    expect(peak).toBe(1);
  });
});

describe('TenantLimiter pacing', () => {
  it('after a 429, spaces calls just under the rate that got through, and probes faster slowly', async () => {
    const clock = new VirtualClock();
    const limiter = new TenantLimiter(4, clock);
    expect(limiter.pace('t')).toBe(0); // unpaced until Jira pushes back
    for (let i = 0; i < 100; i++) await limiter.run('t', async () => clock.sleep(5)); // 100 calls within the second
    limiter.pause('t', 1000);
    expect(limiter.pace('t')).toBeCloseTo(1000 / 98, 1);
    const before = clock.offset;
    for (let i = 0; i < 10; i++) await limiter.run('t', async () => undefined);
    // a short Retry-After holds only the rejected call: the others start at once, ~10.2 ms apart
    expect(clock.offset - before).toBeGreaterThanOrEqual(9 * (1000 / 98) - 1);
    expect(clock.offset - before).toBeLessThan(1000);
    await clock.sleep(6_000);
    await limiter.run('t', async () => undefined);
    expect(limiter.pace('t')).toBeLessThan(1000 / 98); // probing faster after the hold
  });

  it('learns once from a burst of 429s: the calls rejected by the same full window do not ratchet the pace down', async () => {
    const clock = new VirtualClock();
    const limiter = new TenantLimiter(8, clock);
    for (let i = 0; i < 100; i++) await limiter.run('t', async () => clock.sleep(5));
    limiter.pause('t', 1000);
    await clock.sleep(800); // the other rejected calls of that window answer later, when fewer calls started in the last second
    for (let i = 0; i < 5; i++) limiter.pause('t', 1000);
    expect(limiter.pace('t')).toBeCloseTo(1000 / 98, 1);
    await clock.sleep(1_500);
    limiter.pause('t', 1000); // a later 429 is a new lesson
    expect(limiter.pace('t')).toBeGreaterThan(1000 / 98);
  });
});
