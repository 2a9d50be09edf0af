import { monitorEventLoopDelay } from 'node:perf_hooks';
/**
 * Long work in slices: a plan of 100,000 users, or the rows of a large read turned into maps, gives
 * the event loop back every few milliseconds (SLICE_MS), so SCIM calls and Forge invocations arriving
 * meanwhile are answered within milliseconds rather than after the whole of it.
 */

/** Gives the event loop back (what is waiting runs) before going on. */
export const breathe = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** The longest the work holds the event loop between two breaths. */
export const SLICE_MS = 5;

/**
 * Says when a slice of work is over: `due()` is true once SLICE_MS have passed since the last
 * breath (the clock is read every 32 calls, so a cheap item costs no clock read).
 */
export function sliceTimer(): { due: () => boolean } {
  let calls = 0;
  let since = performance.now();
  return {
    due: () => {
      if (++calls % 32 !== 0 || performance.now() - since < SLICE_MS) return false;
      since = performance.now();
      return true;
    },
  };
}

/** Maps every item, giving the event loop back between slices. */
export async function mapSliced<T, R>(items: readonly T[], fn: (item: T) => R): Promise<R[]> {
  const slice = sliceTimer();
  const out = new Array<R>(items.length);
  for (let i = 0; i < items.length; i++) {
    out[i] = fn(items[i]);
    if (slice.due()) await breathe();
  }
  return out;
}

/** Work written as a generator that yields between slices: run at once (small inputs, tests). */
export function runAtOnce<R>(steps: Generator<void, R, void>): R {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** The same work, giving the event loop back at each yield. */
export async function runSliced<R>(steps: Generator<void, R, void>): Promise<R> {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    await breathe();
  }
}

/** How long the event loop was held at worst while some work ran, all of this process's work included. */
export interface LoopDelay {
  p99Ms: number;
  maxMs: number;
}

/**
 * Starts measuring the event loop's delay (`perf_hooks.monitorEventLoopDelay`, sampled every 10 ms);
 * the function returned stops and says what it saw: what a run reports of its read and its plan.
 */
export function watchLoop(): () => LoopDelay {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  return () => {
    h.disable();
    return { p99Ms: Math.round(h.percentile(99) / 1e6), maxMs: Math.round(h.max / 1e6) };
  };
}
