import { buildTemplate, startTestPostgres } from './postgres';

/** Once per jest run: a real Postgres and a migrated template database for the test files. */
export default async function globalSetup(): Promise<void> {
  const pg = await startTestPostgres();
  await buildTemplate(pg.adminUrl);
  process.env.TEST_PG_ADMIN_URL = pg.adminUrl;
  (globalThis as { __testPostgres?: typeof pg }).__testPostgres = pg;
}
