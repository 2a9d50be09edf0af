/** One of Okta's rate-limit buckets as its last answer reported it, and the requests still out. */
interface Bucket {
  limit: number;
  /** Requests this process may still send in the window (Infinity before Okta has said). */
  remaining: number;
  /** When it resets, on this server's clock (ms). */
  resetAt: number;
  /** Okta's reset (epoch seconds): the window's name. */
  reset: number;
  /** Requests sent and not answered yet. */
  inFlight: number;
}

/**
 * Okta's rate limits as its answers report them (`X-Rate-Limit-Limit`, `-Remaining`, `-Reset` in
 * epoch seconds, read against the answer's `Date` so clocks need not agree), per org and bucket,
 * shared by every read of the process. A request waits for its bucket's reset once the calls left
 * are down to the share kept for the org's other clients (`reserve`, 10 % by default) — paced before
 * a 429, never a storm; a 429 empties the bucket until its reset. An answer's `Remaining` does not
 * know of the requests still on their way: they are taken off it.
 */
export class OktaRates {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly reserve: number,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {}

  /** Waits until the bucket may be called (telling `onWait` why), and counts the call. */
  async turn(org: string, bucket: string, onWait?: (w: { reason: string; waitMs: number }) => void): Promise<void> {
    const key = `${org} ${bucket}`;
    for (;;) {
      const b = this.buckets.get(key) ?? this.fresh(key, 0);
      const now = Date.now();
      if (b.resetAt <= now) b.remaining = Infinity; // a new window: Okta says its count with the next answer
      const keep = Math.max(1, Math.ceil(b.limit * this.reserve));
      if (b.remaining > keep) {
        b.remaining--;
        b.inFlight++;
        return;
      }
      const waitMs = b.resetAt - now;
      onWait?.({ reason: b.remaining <= 0 ? 'rate limit reached' : 'rate limit nearly reached', waitMs });
      await this.sleep(waitMs);
    }
  }

  /** Records what an answer said of its bucket; a 429 empties it until the reset. */
  note(org: string, bucket: string, headers: Record<string, string>, refused: boolean): void {
    const key = `${org} ${bucket}`;
    const b = this.buckets.get(key) ?? this.fresh(key, 1);
    b.inFlight = Math.max(0, b.inFlight - 1);
    const limit = Number(headers['x-rate-limit-limit']);
    const remaining = Number(headers['x-rate-limit-remaining']);
    const reset = Number(headers['x-rate-limit-reset']);
    if (!headers['x-rate-limit-reset'] || !Number.isFinite(reset)) {
      // A 429 without Okta's headers: wait a second before asking again.
      if (refused) Object.assign(b, { remaining: 0, resetAt: Date.now() + 1000 });
      return;
    }
    const serverNow = Date.parse(headers.date ?? '') || Date.now();
    // Okta's reset is whole seconds: a second more, as Okta's own SDK waits.
    const resetAt = Date.now() + Math.max(0, reset * 1000 - serverNow) + 1000;
    const said = refused ? 0 : (Number.isFinite(remaining) ? remaining : 1) - b.inFlight;
    const sameWindow = b.reset === reset;
    b.limit = Number.isFinite(limit) && limit > 0 ? limit : 1;
    b.remaining = sameWindow ? Math.min(b.remaining, said) : said;
    b.resetAt = sameWindow ? Math.max(b.resetAt, resetAt) : resetAt;
    b.reset = reset;
  }

  private fresh(key: string, inFlight: number): Bucket {
    const b = { limit: 1, remaining: Infinity, resetAt: 0, reset: 0, inFlight };
    this.buckets.set(key, b);
    return b;
  }
}
