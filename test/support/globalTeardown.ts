/** Stops the run's embedded Postgres (if it started one). */
export default async function globalTeardown(): Promise<void> {
  const pg = (globalThis as { __testPostgres?: { stop: () => Promise<void> } }).__testPostgres;
  await pg?.stop();
}
