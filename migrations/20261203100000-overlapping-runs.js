'use strict';
/**
 * A connection's change no longer waits for its run going on: a run planned from directory changes
 * may start while another run of the connection applies (`alongside`), taking over that run's pending
 * operations for the users it planned again. At most one run that does not overlap (a full
 * reconciliation, a read) still runs at a time per connection. An index finds a run's operations
 * for given users.
 * @typedef {import('sequelize').QueryInterface} QueryInterface
 */

/** @param {{context: QueryInterface}} params */
async function up({ context: qi }) {
  await qi.sequelize.query(`
    ALTER TABLE sync_runs ADD COLUMN alongside boolean NOT NULL DEFAULT false;
    DROP INDEX sync_runs_one_active;
    CREATE UNIQUE INDEX sync_runs_one_active ON sync_runs (connection_id) WHERE status = 'running' AND NOT alongside;
    CREATE INDEX sync_operations_subject ON sync_operations (run_id, subject);
  `);
}

/** @param {{context: QueryInterface}} params */
async function down({ context: qi }) {
  await qi.sequelize.query(`
    DROP INDEX sync_operations_subject;
    UPDATE sync_runs SET status = 'failed', finished_at = now(), error = 'Stopped by a downgrade: the next sync plans again.'
      WHERE status = 'running' AND alongside;
    DROP INDEX sync_runs_one_active;
    CREATE UNIQUE INDEX sync_runs_one_active ON sync_runs (connection_id) WHERE status = 'running';
    ALTER TABLE sync_runs DROP COLUMN alongside;
  `);
}

module.exports = { up, down };
