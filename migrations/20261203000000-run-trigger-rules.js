'use strict';
/**
 * A run asked for by saving a connection's rules is recorded as started by `rules` (it was recorded
 * as `login`): the request row says what asked for the run, and the run takes it.
 * @typedef {import('sequelize').QueryInterface} QueryInterface
 */

/** @param {{context: QueryInterface}} params */
async function up({ context: qi }) {
  await qi.sequelize.query(`
    ALTER TABLE sync_requests ADD COLUMN trigger text CHECK (trigger IN ('rules'));
    ALTER TABLE sync_runs DROP CONSTRAINT sync_runs_trigger_check;
    ALTER TABLE sync_runs ADD CONSTRAINT sync_runs_trigger_check CHECK (trigger IN ('scim', 'manual', 'schedule', 'login', 'rules'));
  `);
}

/** @param {{context: QueryInterface}} params */
async function down({ context: qi }) {
  await qi.sequelize.query(`
    UPDATE sync_runs SET trigger = 'login' WHERE trigger = 'rules';
    ALTER TABLE sync_runs DROP CONSTRAINT sync_runs_trigger_check;
    ALTER TABLE sync_runs ADD CONSTRAINT sync_runs_trigger_check CHECK (trigger IN ('scim', 'manual', 'schedule', 'login'));
    ALTER TABLE sync_requests DROP COLUMN trigger;
  `);
}

module.exports = { up, down };
