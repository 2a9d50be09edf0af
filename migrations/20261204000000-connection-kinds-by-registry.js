'use strict';
/**
 * A connection's kind is no longer fixed by the table: `scim`, or a pull source the app registers
 * (src/sources/registry.ts), checked by the admin API when a connection is created. A new source
 * then needs no migration for its kind. The `sync_mark` columns that full reads wrote before the
 * read ledger (2026-12-03) go too: nothing reads or writes them.
 * @typedef {import('sequelize').QueryInterface} QueryInterface
 */

/** @param {{context: QueryInterface}} params */
async function up({ context: qi }) {
  await qi.sequelize.query('ALTER TABLE connections DROP CONSTRAINT IF EXISTS connections_kind_check');
  await qi.sequelize.query(
    "ALTER TABLE connections ADD CONSTRAINT connections_kind_named CHECK (kind ~ '^[a-z][a-z0-9]*$')",
  );
  for (const table of ['directory_users', 'directory_groups', 'directory_memberships'])
    await qi.sequelize.query(`ALTER TABLE ${table} DROP COLUMN IF EXISTS sync_mark`);
}

/** @param {{context: QueryInterface}} params */
async function down({ context: qi }) {
  for (const table of ['directory_users', 'directory_groups', 'directory_memberships'])
    await qi.sequelize.query(`ALTER TABLE ${table} ADD COLUMN sync_mark uuid`);
  await qi.sequelize.query('ALTER TABLE connections DROP CONSTRAINT IF EXISTS connections_kind_named');
  await qi.sequelize.query(
    "ALTER TABLE connections ADD CONSTRAINT connections_kind_check CHECK (kind IN ('scim', 'entra', 'ldap'))",
  );
}

module.exports = { up, down };
