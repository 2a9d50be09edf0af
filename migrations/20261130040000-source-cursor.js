'use strict';
/**
 * A pull source's position for its next incremental read, in the source's own terms: for LDAP the
 * domain controller, its invocationId and highestCommittedUSN (Active Directory), or the time of the
 * last read (OpenLDAP's modifyTimestamp). Entra ID keeps its delta links in their own columns.
 * @typedef {import('sequelize').QueryInterface} QueryInterface
 */

/** @param {{context: QueryInterface}} params */
async function up({ context: qi }) {
  await qi.sequelize.query('ALTER TABLE source_state ADD COLUMN cursor jsonb;');
}

/** @param {{context: QueryInterface}} params */
async function down({ context: qi }) {
  await qi.sequelize.query('ALTER TABLE source_state DROP COLUMN cursor;');
}

module.exports = { up, down };
