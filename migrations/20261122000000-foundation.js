'use strict';
/**
 * Foundation: tenants (one per Jira site), ACE's key-value store (clientInfo with the shared secret
 * encrypted), and the site-admin credentials each tenant stores for user and group writes.
 * @typedef {import('sequelize').QueryInterface} QueryInterface
 */

/** @param {{context: QueryInterface}} params */
async function up({ context: qi }) {
  await qi.sequelize.query(`
    CREATE TABLE tenants (
      client_key        text PRIMARY KEY,
      base_url          text NOT NULL,
      display_url       text,
      product_type      text NOT NULL DEFAULT 'jira',
      description       text,
      server_version    text,
      plugins_version   text,
      enabled           boolean NOT NULL DEFAULT false,
      installed_at      timestamptz NOT NULL DEFAULT now(),
      enabled_changed_at timestamptz,
      created_at        timestamptz NOT NULL DEFAULT now(),
      updated_at        timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE addon_settings (
      client_key  text NOT NULL,
      key         text NOT NULL,
      val         jsonb NOT NULL,
      updated_at  timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (client_key, key)
    );

    CREATE TABLE site_credentials (
      client_key          text PRIMARY KEY REFERENCES tenants(client_key) ON DELETE CASCADE,
      email               text NOT NULL,
      api_token_enc       text NOT NULL,
      token_account_id    text,
      org_id              text,
      org_api_key_enc     text,
      verified_at         timestamptz,
      updated_by          text,
      created_at          timestamptz NOT NULL DEFAULT now(),
      updated_at          timestamptz NOT NULL DEFAULT now()
    );
  `);
}

/** @param {{context: QueryInterface}} params */
async function down({ context: qi }) {
  await qi.sequelize.query('DROP TABLE site_credentials; DROP TABLE addon_settings; DROP TABLE tenants;');
}

module.exports = { up, down };
