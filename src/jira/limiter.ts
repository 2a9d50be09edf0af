import type { Clock } from './retry';

const NEAR_LIMIT_WINDOW_MS = 10_000;

/**
 * Bounded concurrency per tenant, shared by every Jira call of that tenant in this process. A 429
 * pauses the whole tenant until Jira's reset (no other call goes early); X-RateLimit-NearLimit
 * drops the tenant to one call at a time for a while.
 */
export class TenantLimiter {
  private readonly lanes = new Map<string, Lane>();

  constructor(private readonly concurrency: number, private readonly clock: Clock) {}

  /** Runs fn when the tenant has a free slot and is not paused. */
  async run<T>(tenant: string, fn: () => Promise<T>): Promise<T> {
    const lane = this.lane(tenant);
    await lane.acquire();
    try {
      for (let wait = lane.pausedUntil - this.clock.now(); wait > 0; wait = lane.pausedUntil - this.clock.now()) {
        await this.clock.sleep(wait);
      }
      return await fn();
    } finally {
      lane.release();
    }
  }

  /** Holds every call of the tenant until `ms` from now (Jira's Retry-After). */
  pause(tenant: string, ms: number): void {
    const lane = this.lane(tenant);
    lane.pausedUntil = Math.max(lane.pausedUntil, this.clock.now() + ms);
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
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly max: number, private readonly clock: Clock) {}

  private limit(): number {
    return this.narrowUntil > this.clock.now() ? 1 : this.max;
  }

  acquire(): Promise<void> {
    if (this.active < this.limit()) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(() => {
      this.active++;
      resolve();
    }));
  }

  release(): void {
    this.active--;
    while (this.waiting.length > 0 && this.active < this.limit()) this.waiting.shift()!();
  }
}
