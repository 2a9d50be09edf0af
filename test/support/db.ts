import crypto from 'node:crypto';
import type { Sequelize } from 'sequelize';
import { createSequelize } from '../../src/db/database';
import { adminQuery, TEMPLATE_DB, withDatabase } from './postgres';

/** A fresh, migrated database of its own for one test file. */
export interface TestDatabase {
  url: string;
  sequelize: Sequelize;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = process.env.TEST_PG_ADMIN_URL;
  if (!adminUrl) throw new Error('TEST_PG_ADMIN_URL is not set: run the tests through jest (globalSetup)');
  const name = `t_${crypto.randomBytes(6).toString('hex')}`;
  await adminQuery(adminUrl, `CREATE DATABASE ${name} TEMPLATE ${TEMPLATE_DB}`);
  const url = withDatabase(adminUrl, name);
  const sequelize = createSequelize(url, 5);
  return {
    url,
    sequelize,
    async drop() {
      await sequelize.close();
      await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

/** A site and an LDAP connection row of their own (for reader tests that need no app): the connection's id. */
export async function insertLdapConnection(
  query: (text: string, params: unknown[]) => Promise<unknown>,
  name: string,
  provider: string,
): Promise<string> {
  const clientKey = `site-${name}`;
  const connectionId = crypto.randomUUID();
  await query(
    "INSERT INTO tenants (client_key, base_url, product_type, enabled, installed_at, created_at, updated_at) VALUES ($1, 'https://x.atlassian.net', 'jira', true, now(), now(), now())",
    [clientKey],
  );
  await query("INSERT INTO connections (id, client_key, name, kind, provider) VALUES ($1, $2, $3, 'ldap', $4)", [
    connectionId,
    clientKey,
    name,
    provider,
  ]);
  return connectionId;
}
