import { JiraError } from '../../src/jira/errors';
import { TenantLimiter, type CallKind } from '../../src/jira/limiter';
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

const app = (endpoint: string): CallKind => ({ endpoint, traffic: 'app' });
const GET_MEMBERS = app('GET /rest/api/3/group/member');
const ADD_MEMBER: CallKind = { endpoint: 'POST /rest/api/3/group/user', traffic: 'token' };
const CREATE_USER: CallKind = { endpoint: 'POST /rest/api/3/user', traffic: 'token' };

/** A clock whose sleeps wake only when the test moves time on. */
function steppedClock() {
  const clock = {
    at: 0,
    pending: [] as Array<{ until: number; wake: () => void }>,
    now: () => clock.at,
    random: () => 0.5,
    sleep: (ms: number) => new Promise<void>((wake) => clock.pending.push({ until: clock.at + ms, wake })),
    /** Moves time to `to` and wakes every sleeper due by then. */
    async advance(to: number) {
      clock.at = to;
      for (const p of clock.pending.filter((p) => p.until <= to)) {
        clock.pending.splice(clock.pending.indexOf(p), 1);
        p.wake();
      }
      await new Promise((r) => setImmediate(r));
    },
  };
  return clock;
}

describe('TenantLimiter', () => {
  it("holds all of a site's app traffic when a quota is spent, until its reset; its token traffic and other sites go on", async () => {
    const clock = steppedClock();
    const limiter = new TenantLimiter(2, clock);
    limiter.rejected('a', GET_MEMBERS, { retryAfterMs: 20_000, reason: 'jira-quota-tenant-based' });
    const ran: string[] = [];
    const read = limiter.run('a', app('GET /rest/api/3/user/search'), async () => ran.push(`a-read@${clock.at}`));
    await limiter.run('a', ADD_MEMBER, async () => ran.push(`a-write@${clock.at}`));
    await limiter.run('b', GET_MEMBERS, async () => ran.push(`b-read@${clock.at}`));
    expect(ran).toEqual(['a-write@0', 'b-read@0']); // another endpoint of the same app waits for the reset
    expect(limiter.pausedUntil('a', 'app')).toBe(20_000);
    await clock.advance(20_000);
    await read;
    expect(ran).toEqual(['a-write@0', 'b-read@0', 'a-read@20000']);
  });

  it('holds only the endpoint a burst limit with a long Retry-After names', async () => {
    const clock = steppedClock();
    const limiter = new TenantLimiter(2, clock);
    limiter.rejected('a', ADD_MEMBER, { retryAfterMs: 10_000, reason: 'jira-burst-based' });
    const ran: string[] = [];
    const add = limiter.run('a', ADD_MEMBER, async () => ran.push(`add@${clock.at}`));
    await limiter.run('a', CREATE_USER, async () => ran.push(`create@${clock.at}`));
    expect(ran).toEqual(['create@0']);
    await clock.advance(10_000);
    await add;
    expect(ran).toEqual(['create@0', 'add@10000']);
  });

  it('runs at most N calls at once per site', async () => {
    const limiter = new TenantLimiter(3, new VirtualClock());
    let active = 0;
    let peak = 0;
    const task = () =>
      limiter.run('t', GET_MEMBERS, async () => {
        peak = Math.max(peak, ++active);
        await new Promise((r) => setTimeout(r, 5));
        active--;
      });
    await Promise.all(Array.from({ length: 10 }, task));
    expect(peak).toBe(3);
  });
});

describe('TenantLimiter pacing', () => {
  it("after a 429, spaces that endpoint's calls just under the rate that got through, and probes faster slowly", async () => {
    const clock = new VirtualClock();
    const limiter = new TenantLimiter(4, clock);
    const endpoint = ADD_MEMBER.endpoint;
    expect(limiter.pace('t', endpoint)).toBe(0); // unpaced until Jira pushes back
    const burstBegan = clock.offset;
    for (let i = 0; i < 100; i++) await limiter.run('t', ADD_MEMBER, async () => clock.sleep(5)); // 100 calls within the second
    limiter.rejected('t', ADD_MEMBER, { retryAfterMs: 1000, reason: 'jira-burst-based' });
    // 98% of what Jira took in that second: 100 started, less the one it rejected
    expect(limiter.pace('t', endpoint)).toBeCloseTo(1000 / (99 * 0.98), 1);
    expect(limiter.pace('t', CREATE_USER.endpoint)).toBe(0); // another endpoint keeps its own pace
    // the first 429 of an unpaced endpoint ends a burst that filled Jira's window: the endpoint waits until a
    // second after the burst began (the 100 calls took 500 ms), not the whole Retry-After
    await limiter.run('t', ADD_MEMBER, async () => undefined);
    expect(clock.offset - burstBegan).toBeGreaterThanOrEqual(1000);
    expect(clock.offset - burstBegan).toBeLessThan(1100);
    await clock.sleep(1_500);
    limiter.rejected('t', ADD_MEMBER, { retryAfterMs: 1000, reason: 'jira-burst-based' }); // paced now
    const before = clock.offset;
    for (let i = 0; i < 10; i++) await limiter.run('t', ADD_MEMBER, async () => undefined);
    // a short Retry-After to a paced endpoint holds only the rejected call: the others go on, ~10 ms apart
    expect(clock.offset - before).toBeGreaterThanOrEqual(8 * (1000 / 98));
    expect(clock.offset - before).toBeLessThan(1000);
    const other = clock.offset;
    for (let i = 0; i < 10; i++) await limiter.run('t', CREATE_USER, async () => undefined);
    expect(clock.offset).toBe(other); // unpaced: no spacing at all
    const learnt = limiter.pace('t', endpoint);
    await clock.sleep(6_000);
    await limiter.run('t', ADD_MEMBER, async () => undefined);
    expect(limiter.pace('t', endpoint)).toBeLessThan(learnt); // probing faster after the hold
  });

  it('learns once from a burst of 429s: the calls rejected by the same full window do not ratchet the pace down', async () => {
    const clock = new VirtualClock();
    const limiter = new TenantLimiter(8, clock);
    const endpoint = ADD_MEMBER.endpoint;
    for (let i = 0; i < 100; i++) await limiter.run('t', ADD_MEMBER, async () => clock.sleep(5));
    limiter.rejected('t', ADD_MEMBER, { retryAfterMs: 1000, reason: 'jira-burst-based' });
    await clock.sleep(800); // the other rejected calls of that window answer later, when fewer calls started in the last second
    for (let i = 0; i < 5; i++) limiter.rejected('t', ADD_MEMBER, { retryAfterMs: 1000, reason: 'jira-burst-based' });
    expect(limiter.pace('t', endpoint)).toBeCloseTo(1000 / (99 * 0.98), 1);
    await clock.sleep(1_500);
    limiter.rejected('t', ADD_MEMBER, { retryAfterMs: 1000 }); // a later 429 is a new lesson
    expect(limiter.pace('t', endpoint)).toBeGreaterThan(1000 / (99 * 0.98));
  });

  it('near the limit, an unpaced endpoint keeps the rate it has; its first 429 still learns from what Jira took', async () => {
    const clock = new VirtualClock();
    const limiter = new TenantLimiter(4, clock);
    for (let i = 0; i < 50; i++) await limiter.run('t', CREATE_USER, async () => clock.sleep(10));
    limiter.nearLimit('t', CREATE_USER);
    expect(limiter.pace('t', CREATE_USER.endpoint)).toBeCloseTo(1000 / 50, 0);
    for (let i = 0; i < 20; i++) await limiter.run('t', CREATE_USER, async () => undefined);
    limiter.rejected('t', CREATE_USER, { retryAfterMs: 1000, reason: 'jira-burst-based' });
    const sent = 1000 / limiter.pace('t', CREATE_USER.endpoint) / 0.98 + 1; // what it learnt from, plus the rejected call
    expect(sent).toBeGreaterThan(50 * 0.97); // not 3% under the provisional pace: from the calls of the last second
  });
});
