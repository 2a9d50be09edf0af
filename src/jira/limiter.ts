import type { Clock } from '../clock';

const NEAR_LIMIT_WINDOW_MS = 10_000;
/** After a 429, hold the learnt pace this long before probing faster. */
const HOLD_MS = 5_000;
const PROBE_EVERY_MS = 1_000;
/** 429s this close to the one that taught the pace belong to the same burst. */
const BURST_MS = 1_000;
/** A Retry-After this long (a quota, not a burst) holds the whole tenant; shorter ones only the rejected call. */
const LONG_PAUSE_MS = 5_000;

/**
 * Bounded concurrency per tenant, shared by every Jira call of that tenant in this process. A 429
 * with a long Retry-After pauses the whole tenant until Jira's reset; every 429 teaches the tenant its
 * pace: calls are then spaced at 98% of the rate sent in the second before the first 429 (3% slower
 * than the pace at each later one), held 5 s, then probed 1% faster every second, so a rate-limited
 * tenant runs near its limit instead of bursting into it. X-RateLimit-NearLimit drops the tenant to one call at a time for a while.
 */
export class TenantLimiter {
  private readonly lanes = new Map<string, Lane>();

  constructor(
    private readonly concurrency: number,
    private readonly clock: Clock,
  ) {}

  /** Runs fn when the tenant has a free slot and is not paused. */
  async run<T>(tenant: string, fn: () => Promise<T>): Promise<T> {
    const lane = this.lane(tenant);
    await lane.acquire();
    try {
      for (let wait = lane.readyAt() - this.clock.now(); wait > 0; wait = lane.readyAt() - this.clock.now()) {
        await this.clock.sleep(wait);
      }
      lane.started();
      return await fn();
    } finally {
      lane.release();
    }
  }

  /**
   * Jira said 429: learn the pace; and for a long Retry-After (a quota), hold every call of the
   * tenant until then. A short one is waited out by the rejected call alone (its retry), while the
   * others go on at the slower pace.
   */
  pause(tenant: string, ms: number): void {
    const lane = this.lane(tenant);
    if (ms >= LONG_PAUSE_MS) lane.pausedUntil = Math.max(lane.pausedUntil, this.clock.now() + ms);
    lane.learnLimit();
  }

  /** The tenant's current spacing between calls in ms (0 = not paced), for tests and metrics. */
  pace(tenant: string): number {
    return this.lanes.get(tenant)?.intervalMs ?? 0;
  }

  /** Jira said the tenant is close to its limit: one call at a time for a while. */
  nearLimit(tenant: string): void {
    this.lane(tenant).narrowUntil = this.clock.now() + NEAR_LIMIT_WINDOW_MS;
  }

  /** Calls in flight for a tenant (for tests and metrics). */
  active(tenant: string): number {
    return this.lanes.get(tenant)?.active ?? 0;
  }

  private lane(tenant: string): Lane {
    let lane = this.lanes.get(tenant);
    if (!lane) {
      lane = new Lane(this.concurrency, this.clock);
      this.lanes.set(tenant, lane);
    }
    return lane;
  }
}

class Lane {
  active = 0;
  pausedUntil = 0;
  narrowUntil = 0;
  intervalMs = 0;
  private nextStart = 0;
  private probeAt = 0;
  private learntAt = -Infinity;
  private readonly starts: number[] = [];
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly max: number,
    private readonly clock: Clock,
  ) {}

  /** When the next call may start: after any pause, and after the pace's spacing. */
  readyAt(): number {
    return Math.max(this.pausedUntil, this.nextStart);
  }

  /** A call starts now: book the next slot, remember the start, probe faster when it is time. */
  started(): void {
    const now = this.clock.now();
    this.nextStart = Math.max(now, this.nextStart) + this.intervalMs;
    this.starts.push(now);
    while (this.starts.length && this.starts[0] < now - 1000) this.starts.shift();
    if (this.intervalMs > 0 && now >= this.probeAt) {
      this.intervalMs *= 0.99;
      this.probeAt = now + PROBE_EVERY_MS;
    }
  }

  /**
   * After a 429: the first time, pace at 98% of the calls started in the last second; after that,
   * 3% slower than the current pace, so a limit is approached from just under it and one unlucky
   * sample cannot collapse the pace. Further 429s of the same burst only extend the hold.
   */
  learnLimit(): void {
    const now = this.clock.now();
    // Calls already in flight when the pace was learnt meet the same full window: one burst of 429s
    // teaches once, or the pace would ratchet down by 2% (or 12%) per rejected call.
    if (now - this.learntAt < BURST_MS) {
      this.probeAt = now + HOLD_MS;
      return;
    }
    this.learntAt = now;
    const current = this.intervalMs > 0 ? 1000 / this.intervalMs : 0;
    // First lesson: just under what we sent in the last second. Later ones: 3% slower than the pace
    // that met the limit — a second that looked slow (a pause, a stall) must not drag it down.
    const next = current > 0 ? current * 0.97 : this.starts.filter((t) => t >= now - 1000).length * 0.98;
    this.intervalMs = 1000 / Math.max(1, next);
    this.probeAt = now + HOLD_MS;
  }

  private limit(): number {
    return this.narrowUntil > this.clock.now() ? 1 : this.max;
  }

  acquire(): Promise<void> {
    if (this.active < this.limit()) {
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
    while (this.waiting.length > 0 && this.active < this.limit()) this.waiting.shift()!();
  }
}
