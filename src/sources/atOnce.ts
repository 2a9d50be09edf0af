/**
 * Requests a read makes at once to an IdP: a few, never a storm (Google counts concurrent requests
 * per account, Okta allows 75 per org shared with every other client, Keycloak documents no limit).
 */
export const REQUESTS_AT_ONCE = 4;

/**
 * Runs `fn` over the items, `n` at a time (items pushed while it runs are taken too, by the workers
 * still running); the first failure is rethrown once all have settled — a failed worker never leaves
 * the others working after the read has failed.
 */
export async function atOnce<T>(items: readonly T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  const settled = await Promise.allSettled(Array.from({ length: Math.min(n, items.length) }, worker));
  const failed = settled.find((x): x is PromiseRejectedResult => x.status === 'rejected');
  if (failed) throw failed.reason;
}
