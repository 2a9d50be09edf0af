'use strict';
/**
 * JSM Customer Sync: the portal accesses (service desks) and organization memberships a customers
 * connection granted, so that it withdraws only what it granted (keep-existing) and never fights
 * another connection of the same site.
 * @typedef {import('sequelize').QueryInterface} QueryInterface
 */

/** @param {{context: QueryInterface}} params */
async function up({ context: qi }) {
  await qi.sequelize.query(`
    CREATE TABLE customer_grants (
      connection_id uuid NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
      target_kind   text NOT NULL CHECK (target_kind IN ('desk', 'org')),
      target_id     text NOT NULL,
      account_id    text NOT NULL,
      granted_at    timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (connection_id, target_kind, target_id, account_id)
    );
    CREATE INDEX customer_grants_account ON customer_grants (connection_id, account_id);
  `);
}

/** @param {{context: QueryInterface}} params */
async function down({ context: qi }) {
  await qi.sequelize.query('DROP TABLE customer_grants;');
}

module.exports = { up, down };
