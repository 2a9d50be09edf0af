/**
 * Waiting between attempts, for every outside service (Jira, Microsoft): exponential backoff with
 * jitter, and the wait a server asks for in Retry-After or X-RateLimit-Reset.
 */

/** Exponential backoff with "equal jitter": half the step fixed, half random, capped. */
export function backoffDelay(
  attempt: number,
  policy: { backoffBaseMs: number; backoffMaxMs: number },
  random: () => number,
): number {
  const step = Math.min(policy.backoffMaxMs, policy.backoffBaseMs * 2 ** (attempt - 1));
  return Math.round(step / 2 + random() * (step / 2));
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
