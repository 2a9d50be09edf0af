'use strict';
/**
 * Sites installed through Forge ("Connect on Forge"): the installed event carries an installationId,
 * the key Forge uses for the site from then on (invocation tokens, app system tokens). Stored with
 * the tenant in its full ARI form. Forge sends no enabled / disabled events, so an install now
 * counts as enabled.
 * @typedef {import('sequelize').QueryInterface} QueryInterface
 */

/** @param {{context: QueryInterface}} params */
async function up({ context: qi }) {
  await qi.sequelize.query(`
    ALTER TABLE tenants ADD COLUMN installation_id text;
    CREATE UNIQUE INDEX tenants_installation_id ON tenants (installation_id) WHERE installation_id IS NOT NULL;
    ALTER TABLE tenants ALTER COLUMN enabled SET DEFAULT true;
  `);
}

/** @param {{context: QueryInterface}} params */
async function down({ context: qi }) {
  await qi.sequelize.query(`
    ALTER TABLE tenants ALTER COLUMN enabled DROP DEFAULT;
    DROP INDEX tenants_installation_id;
    ALTER TABLE tenants DROP COLUMN installation_id;
  `);
}

module.exports = { up, down };
