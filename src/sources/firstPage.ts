/** The first page of a paged list (Test connection's counts, a lookup): the rest is never asked for. */
export async function firstPage<T>(pages: AsyncGenerator<T[]>): Promise<T[]> {
  for await (const page of pages) return page;
  return [];
}
