'use strict';
/**
 * A pull source's users carry a digest of what the source last wrote (`digest`: SHA-1 of the
 * identity columns and the resource, computed by the app): a full read loads the digests as it
 * begins, and a user whose digest is unchanged is not sent to the database at all. Rows without
 * one (SCIM connections, rows written before this) are compared in the database as before.
 * @typedef {import('sequelize').QueryInterface} QueryInterface
 */

/** @param {{context: QueryInterface}} params */
async function up({ context: qi }) {
  await qi.sequelize.query('ALTER TABLE directory_users ADD COLUMN digest text');
}

/** @param {{context: QueryInterface}} params */
async function down({ context: qi }) {
  await qi.sequelize.query('ALTER TABLE directory_users DROP COLUMN digest');
}

module.exports = { up, down };
