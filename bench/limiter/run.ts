/**
 * The Jira limiter alone against one endpoint's fixed one-second window (as the fake Jira keeps it):
 * WORKERS workers each run OPERATIONS calls in all (a few ms each, then a little database work),
 * retrying a 429 after its Retry-After. Prints, per second, the calls the window accepted / refused,
 * and the pace learnt. No server, no database: the limiter's own behaviour, in seconds.
 * Usage: npm run bench:limiter [-- --operations 1500 --workers 32 --limit 100]
 */
import { systemClock } from '../../src/clock';
import { TenantLimiter, type CallKind } from '../../src/jira/limiter';
import { numberArg } from '../support';

const LIMIT = numberArg('limit', 100);
const limiter = new TenantLimiter(10, systemClock);
const kind: CallKind = { endpoint: 'POST /x', traffic: 'token' };
let win = { start: 0, count: 0 };
const t0 = Date.now();
const secs = new Map<number, { ok: number; r: number }>();
function fake(): { status: number; retryAfter?: number; near?: boolean } {
  const now = Date.now();
  if (!win.start || now - win.start >= 1000) win = { start: now, count: 0 };
  const s = Math.floor((now - t0) / 1000);
  const e = secs.get(s) ?? { ok: 0, r: 0 };
  secs.set(s, e);
  if (++win.count > LIMIT) {
    e.r++;
    return { status: 429, retryAfter: Math.max(1, Math.ceil((win.start + 1000 - now) / 1000)) };
  }
  e.ok++;
  return { status: 200, near: LIMIT - win.count < LIMIT * 0.2 };
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let remaining = numberArg('operations', 1500);
async function worker() {
  while (remaining-- > 0) {
    for (;;) {
      const res = await limiter.run('t', kind, async () => {
        await sleep(3 + Math.random() * 4);
        const r = fake();
        if (r.near) limiter.nearLimit('t', kind);
        if (r.status === 429)
          limiter.rejected('t', kind, { retryAfterMs: r.retryAfter! * 1000, reason: 'jira-burst-based' });
        return r;
      });
      if (res.status === 200) break;
      await sleep(res.retryAfter! * 1000);
    }
    await sleep(2); // db work
  }
}
void (async () => {
  await Promise.all(Array.from({ length: numberArg('workers', 32) }, worker));
  console.log([...secs.entries()].map(([s, e]) => `${s}:${e.ok}/${e.r}`).join(' '));
  console.log('pace', (1000 / limiter.pace('t', 'POST /x')).toFixed(1));
})();
