'use strict';
/**
 * What Forge hands the remote for a site: where to call Jira as the app (`apiBaseUrl`) and the app
 * system token (sealed with the app's secret key, like every other secret), refreshed by every
 * lifecycle event and scheduled trigger. Background work reads Jira with the latest one.
 * @typedef {import('sequelize').QueryInterface} QueryInterface
 */

/** @param {{context: QueryInterface}} params */
async function up({ context: qi }) {
  await qi.sequelize.query(`
    CREATE TABLE forge_tokens (
      client_key        text PRIMARY KEY REFERENCES tenants(client_key) ON DELETE CASCADE,
      api_base_url      text NOT NULL,
      system_token_enc  text,
      system_token_exp  timestamptz,
      updated_at        timestamptz NOT NULL DEFAULT now()
    );
  `);
}

/** @param {{context: QueryInterface}} params */
async function down({ context: qi }) {
  await qi.sequelize.query('DROP TABLE forge_tokens;');
}

module.exports = { up, down };
