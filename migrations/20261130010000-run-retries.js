'use strict';
/**
 * A run that could not start because Jira did not answer is retried with backoff, and its retries
 * are one row in the history: how many attempts, and when the next one is due.
 * @typedef {import('sequelize').QueryInterface} QueryInterface
 */

/** @param {{context: QueryInterface}} params */
async function up({ context: qi }) {
  await qi.sequelize.query(`
    ALTER TABLE sync_runs ADD COLUMN attempts integer NOT NULL DEFAULT 1;
    ALTER TABLE sync_runs ADD COLUMN next_try_at timestamptz;
  `);
}

/** @param {{context: QueryInterface}} params */
async function down({ context: qi }) {
  await qi.sequelize.query(`
    ALTER TABLE sync_runs DROP COLUMN next_try_at;
    ALTER TABLE sync_runs DROP COLUMN attempts;
  `);
}

module.exports = { up, down };
