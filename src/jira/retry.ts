import { backoffDelay } from '../backoff';
import type { Clock } from '../clock';
import { JiraError } from './errors';

export { backoffDelay, parseRetryAfter } from '../backoff';

/** How hard to try: attempts, backoff and the longest wait we accept from Jira before giving up. */
export interface RetryPolicy {
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** A Retry-After longer than this is not slept through: the error surfaces for the job to reschedule. */
  maxRetryWaitMs: number;
}

/**
 * Runs `attempt` until it succeeds, fails for good, or runs out of attempts. A retryable JiraError
 * waits exactly what Jira asked for (never less), otherwise the backoff; anything else is thrown at once.
 */
export async function withRetry<T>(
  attempt: (n: number) => Promise<T>,
  policy: RetryPolicy,
  clock: Clock,
  onRetry?: (err: JiraError, waitMs: number, n: number) => void,
): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      if (!(err instanceof JiraError) || !err.retryable || n >= policy.maxAttempts) throw err;
      const wait = err.retryAfterMs ?? backoffDelay(n, policy, () => clock.random());
      if (wait > policy.maxRetryWaitMs) throw err;
      onRetry?.(err, wait, n);
      await clock.sleep(wait);
    }
  }
}
