import type { Clock } from '../clock';

/** After a 429, hold the learnt pace this long before probing faster. */
const HOLD_MS = 5_000;
const PROBE_EVERY_MS = 1_000;
/** 429s this close to the one that taught the pace belong to the same burst. */
const BURST_MS = 1_000;
/** A burst 429's Retry-After this long holds the whole endpoint; shorter ones only the rejected call. */
const LONG_PAUSE_MS = 5_000;

/**
 * Which limit a call counts against. Jira's burst limits apply per site, per endpoint and per HTTP
 * method; its hourly quotas to all of an app's traffic to a site (Connect JWT, Forge, OAuth — not
 * API tokens, which burst limits alone hold). The organization API is another service again.
 */
export interface CallKind {
  /** Method and path template, e.g. `POST /rest/api/3/group/user`. */
  endpoint: string;
  /** Whose traffic: the app's (quota-counted), the site-admin token's, or the org key's. */
  traffic: 'app' | 'token' | 'org';
}

/** What a 429 said: how long to wait, and why (`RateLimit-Reason`). */
export interface Rejection {
  retryAfterMs?: number;
  reason?: string;
}

/**
 * Jira's limits as this process learns them, per site: bounded concurrency for all of a site's
 * calls; a pace per endpoint and method, learnt from that endpoint's 429s (burst limits); and a
 * pause of a whole kind of traffic when Jira says a quota is spent (`RateLimit-Reason:
 * jira-quota-…`), until its reset.
 *
 * An endpoint's pace: after its first 429, calls to it are spaced at 98% of the rate sent to it in
 * the second before (3% slower than the pace at each later one), held 5 s, then probed 1% faster
 * every second, so it runs near its limit instead of bursting into it. A 429 on `POST /group/user`
 * slows that endpoint only: `POST /user` goes on at its own pace. A call waits for its endpoint's
 * turn before it takes one of the site's slots, so a paced endpoint never holds up the others.
 */
export class TenantLimiter {
  private readonly sites = new Map<string, Site>();

  constructor(
    private readonly concurrency: number,
    private readonly clock: Clock,
  ) {}

  /** Runs fn when the site has a free slot, the endpoint's pace allows, and its traffic is not paused. */
  async run<T>(tenant: string, call: CallKind, fn: () => Promise<T>): Promise<T> {
    const site = this.site(tenant);
    const endpoint = site.endpoint(call.endpoint);
    for (;;) {
      const wait = Math.max(endpoint.readyAt(), site.pausedUntil(call.traffic)) - this.clock.now();
      if (wait > 0) {
        await this.clock.sleep(wait);
        continue;
      }
      await site.acquire();
      // Others may have taken this turn while we waited for a slot, or a quota pause begun.
      if (Math.max(endpoint.readyAt(), site.pausedUntil(call.traffic)) <= this.clock.now()) break;
      site.release();
    }
    try {
      endpoint.started();
      return await fn();
    } finally {
      site.release();
    }
  }

  /**
   * Jira answered 429. A quota (`jira-quota-…`) pauses all of that traffic to the site until the
   * reset. A burst limit teaches the endpoint its pace; a long Retry-After also holds the endpoint
   * (a short one is waited out by the rejected call alone, while the others go on at the slower
   * pace). Without a reason, a long wait holds the site's traffic of that kind, a short one the endpoint.
   */
  rejected(tenant: string, call: CallKind, why: Rejection): void {
    const site = this.site(tenant);
    const ms = why.retryAfterMs;
    const reason = why.reason?.toLowerCase() ?? '';
    if (reason.includes('quota')) {
      site.pause(call.traffic, this.clock.now() + (ms ?? LONG_PAUSE_MS));
      return;
    }
    const endpoint = site.endpoint(call.endpoint);
    if (ms !== undefined && ms >= LONG_PAUSE_MS) {
      if (reason) endpoint.pausedUntil = Math.max(endpoint.pausedUntil, this.clock.now() + ms);
      else site.pause(call.traffic, this.clock.now() + ms);
    }
    // The first 429 of an endpoint that was not paced comes from a burst that filled Jira's window:
    // calls before the window turns would be refused too, so the endpoint waits for it as a whole —
    // a second after the burst began, or the Retry-After if that is sooner (the rejected call itself
    // always waits its whole Retry-After, which Jira rounds up to seconds).
    if (!endpoint.paced()) endpoint.pausedUntil = Math.max(endpoint.pausedUntil, endpoint.windowTurns(ms ?? 1000));
    endpoint.learnLimit();
  }

  /** Jira said the endpoint is close to its limit (`X-RateLimit-NearLimit`): stop speeding up on it. */
  nearLimit(tenant: string, call: CallKind): void {
    this.site(tenant).endpoint(call.endpoint).nearLimit();
  }

  /** An endpoint's current spacing between calls in ms (0 = not paced), for tests and metrics. */
  pace(tenant: string, endpoint: string): number {
    return this.sites.get(tenant)?.endpoints.get(endpoint)?.intervalMs ?? 0;
  }

  /** When the site's traffic of this kind may go on (0 when it is not paused). */
  pausedUntil(tenant: string, traffic: CallKind['traffic']): number {
    return this.sites.get(tenant)?.pausedUntil(traffic) ?? 0;
  }

  /** Calls in flight for a site (for tests and metrics). */
  active(tenant: string): number {
    return this.sites.get(tenant)?.active ?? 0;
  }

  private site(tenant: string): Site {
    let site = this.sites.get(tenant);
    if (!site) {
      site = new Site(this.concurrency, this.clock);
      this.sites.set(tenant, site);
    }
    return site;
  }
}

/** One site: its slots, its endpoints' paces, and its paused kinds of traffic. */
class Site {
  active = 0;
  readonly endpoints = new Map<string, Endpoint>();
  private readonly paused = new Map<CallKind['traffic'], number>();
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly max: number,
    private readonly clock: Clock,
  ) {}

  endpoint(key: string): Endpoint {
    let e = this.endpoints.get(key);
    if (!e) {
      e = new Endpoint(this.clock);
      this.endpoints.set(key, e);
    }
    return e;
  }

  pause(traffic: CallKind['traffic'], until: number): void {
    this.paused.set(traffic, Math.max(this.paused.get(traffic) ?? 0, until));
  }

  pausedUntil(traffic: CallKind['traffic']): number {
    return this.paused.get(traffic) ?? 0;
  }

  acquire(): Promise<void> {
    if (this.active < this.max) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((resolve) =>
      this.waiting.push(() => {
        this.active++;
        resolve();
      }),
    );
  }

  release(): void {
    this.active--;
    while (this.waiting.length > 0 && this.active < this.max) this.waiting.shift()!();
  }
}

/** One endpoint and method of a site: its pace, learnt from its own 429s. */
class Endpoint {
  pausedUntil = 0;
  intervalMs = 0;
  private nextStart = 0;
  private probeAt = 0;
  private learntAt = -Infinity;
  /** Whether a 429 taught the pace (a pace kept on X-RateLimit-NearLimit is only provisional). */
  private learnt = false;
  private readonly starts: number[] = [];
  private readonly rejects: number[] = [];

  constructor(private readonly clock: Clock) {}

  /** When the next call may start: after any pause, and after the pace's spacing. */
  readyAt(): number {
    return Math.max(this.pausedUntil, this.nextStart);
  }

  /** When a one-second window that began with the current burst turns: at most `retryAfterMs` from now. */
  windowTurns(retryAfterMs: number): number {
    const now = this.clock.now();
    const began = this.starts.find((t) => t >= now - 1000) ?? now;
    return Math.min(now + retryAfterMs, began + 1000);
  }

  /** Whether a 429 taught this endpoint its pace. */
  paced(): boolean {
    return this.learnt;
  }

  /**
   * A call starts now: book the next slot, remember the start, probe faster when it is time — 1% a
   * second once a 429 taught the pace, 5% while it is only the provisional one NearLimit kept.
   */
  started(): void {
    const now = this.clock.now();
    // Slots follow each other at the pace from the booked one, not from when a timer woke the caller
    // (a millisecond late each time would cost 10% at 100 calls/s); after an idle spell, from now.
    this.nextStart = (this.nextStart < now - this.intervalMs ? now : this.nextStart) + this.intervalMs;
    this.starts.push(now);
    while (this.starts.length && this.starts[0] < now - 1000) this.starts.shift();
    if (this.intervalMs > 0 && now >= this.probeAt) {
      this.intervalMs *= this.learnt ? 0.99 : 0.95;
      this.probeAt = now + PROBE_EVERY_MS;
    }
  }

  /**
   * After a 429: the first time, pace at 98% of the calls Jira took in the last second (started,
   * less those it rejected); after that, 3% slower than the current pace, so a limit is approached
   * from just under it and one unlucky sample cannot collapse the pace. Further 429s of the same
   * burst only extend the hold.
   */
  learnLimit(): void {
    const now = this.clock.now();
    this.rejects.push(now);
    while (this.rejects.length && this.rejects[0] < now - 1000) this.rejects.shift();
    // Calls already in flight when the pace was learnt meet the same full window: one burst of 429s
    // teaches once, or the pace would ratchet down by 2% (or 12%) per rejected call.
    if (now - this.learntAt < BURST_MS) {
      this.probeAt = now + HOLD_MS;
      return;
    }
    this.learntAt = now;
    // First lesson: just under what Jira took in the last second. Later ones: 3% slower than the pace
    // that met the limit — a second that looked slow (a pause, a stall) must not drag it down.
    const next = this.learnt
      ? (1000 / this.intervalMs) * 0.97
      : (this.sentLastSecond(now) - this.rejects.length) * 0.98;
    this.learnt = true;
    this.intervalMs = 1000 / Math.max(1, next);
    this.probeAt = now + HOLD_MS;
  }

  /**
   * Close to the limit: an endpoint not yet paced keeps the rate it has now (when it has one worth
   * keeping) instead of speeding into a 429 — provisionally: it probes faster sooner, and its first
   * 429 still teaches from what Jira took. A paced one is already just under its limit.
   */
  nearLimit(): void {
    if (this.intervalMs > 0) return;
    const now = this.clock.now();
    const sent = this.sentLastSecond(now);
    if (sent < 10) return;
    this.intervalMs = 1000 / sent;
    this.probeAt = now + PROBE_EVERY_MS;
  }

  private sentLastSecond(now: number): number {
    return this.starts.filter((t) => t >= now - 1000).length;
  }
}
