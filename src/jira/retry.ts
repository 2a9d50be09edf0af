import { JiraError } from './errors';

/** How hard to try: attempts, backoff and the longest wait we accept from Jira before giving up. */
export interface RetryPolicy {
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** A Retry-After longer than this is not slept through: the error surfaces for the job to reschedule. */
  maxRetryWaitMs: number;
}

/** Time, injectable so tests can watch the waits instead of sitting through them. */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
  random(): number;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: () => Math.random(),
};

/** Exponential backoff with "equal jitter": half the step fixed, half random, capped. */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number): number {
  const step = Math.min(policy.backoffMaxMs, policy.backoffBaseMs * 2 ** (attempt - 1));
  return Math.round(step / 2 + random() * (step / 2));
}

/**
 * Runs `attempt` until it succeeds, fails for good, or runs out of attempts. A retryable JiraError
 * waits exactly what Jira asked for (never less), otherwise the backoff; anything else is thrown at once.
 */
export async function withRetry<T>(attempt: (n: number) => Promise<T>, policy: RetryPolicy, clock: Clock, onRetry?: (err: JiraError, waitMs: number, n: number) => void): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      if (!(err instanceof JiraError) || !err.retryable || n >= policy.maxAttempts) throw err;
      const wait = err.retryAfterMs ?? backoffDelay(n, policy, clock.random);
      if (wait > policy.maxRetryWaitMs) throw err;
      onRetry?.(err, wait, n);
      await clock.sleep(wait);
    }
  }
}

/** Reads Retry-After (seconds or an HTTP date) or X-RateLimit-Reset (ISO-8601) as a wait in ms. */
export function parseRetryAfter(headers: Record<string, string | undefined>, now: number): number | undefined {
  const retryAfter = headers['retry-after'];
  if (retryAfter !== undefined && retryAfter.trim() !== '') {
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds * 1000);
    const date = Date.parse(retryAfter);
    if (!Number.isNaN(date)) return Math.max(0, date - now);
  }
  const reset = headers['x-ratelimit-reset'];
  if (reset) {
    const date = Date.parse(reset);
    if (!Number.isNaN(date)) return Math.max(0, date - now);
  }
  return undefined;
}
