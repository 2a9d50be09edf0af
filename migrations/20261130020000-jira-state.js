'use strict';
/**
 * What the app knows of each site's Jira: its groups, and the members of the groups it has read or
 * written, kept in step with every write the executor makes. Runs started by directory changes plan
 * from it instead of re-reading Jira; a full reconciliation reads Jira again and replaces it, and
 * is scheduled per connection from when the last one was planned (reconciled_at).
 * @typedef {import('sequelize').QueryInterface} QueryInterface
 */

/** @param {{context: QueryInterface}} params */
async function up({ context: qi }) {
  await qi.sequelize.query(`
    CREATE TABLE jira_groups (
      client_key    text NOT NULL REFERENCES tenants(client_key) ON DELETE CASCADE,
      group_id      text NOT NULL,
      name          text NOT NULL,
      members_known boolean NOT NULL DEFAULT false,
      PRIMARY KEY (client_key, group_id)
    );
    CREATE TABLE jira_group_members (
      client_key text NOT NULL REFERENCES tenants(client_key) ON DELETE CASCADE,
      group_id   text NOT NULL,
      account_id text NOT NULL,
      PRIMARY KEY (client_key, group_id, account_id)
    );
    CREATE INDEX jira_group_members_account ON jira_group_members (client_key, account_id);
    CREATE TABLE jira_state_reads (
      client_key text PRIMARY KEY REFERENCES tenants(client_key) ON DELETE CASCADE,
      read_at    timestamptz NOT NULL
    );
    ALTER TABLE connections ADD COLUMN reconciled_at timestamptz;
  `);
}

/** @param {{context: QueryInterface}} params */
async function down({ context: qi }) {
  await qi.sequelize.query(`
    ALTER TABLE connections DROP COLUMN reconciled_at;
    DROP TABLE jira_state_reads;
    DROP TABLE jira_group_members;
    DROP TABLE jira_groups;
  `);
}

module.exports = { up, down };
