'use strict';
/**
 * Optional tracing's W3C trace context, kept where another instance takes the work up: a SCIM
 * request's with its outbox row (the run it starts continues its trace), a run's with the run (its
 * operations' spans are its children). Null when tracing is off.
 * @typedef {import('sequelize').QueryInterface} QueryInterface
 */

/** @param {{context: QueryInterface}} params */
async function up({ context: qi }) {
  await qi.sequelize.query(`
    ALTER TABLE sync_requests ADD COLUMN traceparent text;
    ALTER TABLE sync_runs ADD COLUMN traceparent text;
  `);
}

/** @param {{context: QueryInterface}} params */
async function down({ context: qi }) {
  await qi.sequelize.query(`
    ALTER TABLE sync_requests DROP COLUMN traceparent;
    ALTER TABLE sync_runs DROP COLUMN traceparent;
  `);
}

module.exports = { up, down };
