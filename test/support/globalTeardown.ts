import { stopAd } from './samba';

/** Stops the run's embedded Postgres (if it started one) and the Samba AD DC (if a test started it). */
export default async function globalTeardown(): Promise<void> {
  const pg = (globalThis as { __testPostgres?: { stop: () => Promise<void> } }).__testPostgres;
  await pg?.stop();
  stopAd();
}
