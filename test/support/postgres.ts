import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { createSequelize } from '../../src/db/database';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/db/embedded';
import { migrateUp } from '../../src/db/migrator';
import { createLogger } from '../../src/logger';

export const TEMPLATE_DB = 'idp_sync_test_template';

/**
 * The Postgres a test run uses: DATABASE_URL's server when set, otherwise a throwaway embedded
 * server in a temporary folder. Returns the admin URL (its `postgres` database).
 */
export async function startTestPostgres(): Promise<{ adminUrl: string; stop: () => Promise<void> }> {
  if (process.env.DATABASE_URL) {
    const url = new URL(process.env.DATABASE_URL);
    url.pathname = '/postgres';
    return { adminUrl: url.toString(), stop: async () => undefined };
  }
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'idp-sync-test-pg-'));
  fs.chmodSync(dataDir, 0o755);
  const port = 20000 + Math.floor(Math.random() * 20000);
  const pg: EmbeddedDatabase = await startEmbeddedPostgres({
    dataDir,
    port,
    logger: createLogger('silent'),
    database: 'postgres',
    sharedDir: process.env.EMBEDDED_PG_SHARED_DIR,
  });
  return {
    adminUrl: pg.url,
    stop: async () => {
      await pg.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Builds the migrated template every test database is cloned from. */
export async function buildTemplate(adminUrl: string): Promise<void> {
  await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${TEMPLATE_DB} WITH (FORCE)`);
  await adminQuery(adminUrl, `CREATE DATABASE ${TEMPLATE_DB}`);
  const sequelize = createSequelize(withDatabase(adminUrl, TEMPLATE_DB), 2);
  try {
    await migrateUp(sequelize);
  } finally {
    await sequelize.close();
  }
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export async function adminQuery(adminUrl: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
