import type { JiraPage } from './types';

/**
 * Walks an offset-paged Jira resource, yielding every value. Stops on isLast, or on an empty page
 * (so a misbehaving server cannot loop us forever).
 */
export async function* pageThrough<T>(fetchPage: (startAt: number) => Promise<JiraPage<T>>): AsyncGenerator<T> {
  for (let startAt = 0; ;) {
    const page = await fetchPage(startAt);
    for (const value of page.values) yield value;
    if (page.isLast || page.values.length === 0) return;
    startAt += page.values.length;
  }
}

/** Walks a JSM resource paged JSM's way (`start`, `isLastPage`), yielding every value; stops on an empty page too. */
export async function* pageThroughJsm<T>(
  fetchPage: (start: number) => Promise<{ values: T[]; isLastPage: boolean }>,
): AsyncGenerator<T> {
  for (let start = 0; ;) {
    const page = await fetchPage(start);
    for (const value of page.values) yield value;
    if (page.isLastPage || page.values.length === 0) return;
    start += page.values.length;
  }
}

/** Collects an async iterable into an array (for small results). */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}
