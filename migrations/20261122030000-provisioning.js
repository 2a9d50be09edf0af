'use strict';
/**
 * The provisioning engine: links (IdP user ↔ Jira account), the memberships each connection added
 * (so each removes only what it added), sync runs and their durable operations.
 * @typedef {import('sequelize').QueryInterface} QueryInterface
 */

/** @param {{context: QueryInterface}} params */
async function up({ context: qi }) {
  await qi.sequelize.query(`
    CREATE TABLE jira_links (
      connection_id  uuid NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
      user_id        uuid NOT NULL,
      account_id     text NOT NULL,
      email          text,
      deprovisioned  boolean NOT NULL DEFAULT false,
      properties     jsonb NOT NULL DEFAULT '{}',
      removed_groups jsonb NOT NULL DEFAULT '[]',
      linked_at      timestamptz NOT NULL DEFAULT now(),
      updated_at     timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (connection_id, user_id)
    );
    CREATE INDEX jira_links_account ON jira_links (connection_id, account_id);

    CREATE TABLE managed_memberships (
      connection_id  uuid NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
      account_id     text NOT NULL,
      group_id       text NOT NULL,
      group_name     text NOT NULL,
      added_at       timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (connection_id, account_id, group_id)
    );
    CREATE INDEX managed_memberships_group ON managed_memberships (group_id, account_id);

    CREATE TABLE sync_runs (
      id            uuid PRIMARY KEY,
      connection_id uuid NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
      client_key    text NOT NULL,
      trigger       text NOT NULL CHECK (trigger IN ('scim', 'manual', 'schedule', 'login')),
      status        text NOT NULL CHECK (status IN ('running', 'succeeded', 'partial', 'failed')),
      total         integer NOT NULL DEFAULT 0,
      done          integer NOT NULL DEFAULT 0,
      counts        jsonb NOT NULL DEFAULT '{}',
      error         text,
      started_at    timestamptz NOT NULL DEFAULT now(),
      finished_at   timestamptz
    );
    CREATE UNIQUE INDEX sync_runs_one_active ON sync_runs (connection_id) WHERE status = 'running';
    CREATE INDEX sync_runs_history ON sync_runs (connection_id, started_at DESC);

    CREATE TABLE sync_operations (
      id          bigserial PRIMARY KEY,
      run_id      uuid NOT NULL REFERENCES sync_runs(id) ON DELETE CASCADE,
      client_key  text NOT NULL,
      phase       smallint NOT NULL,
      kind        text NOT NULL,
      subject     text NOT NULL,
      payload     jsonb NOT NULL,
      reason      text NOT NULL,
      status      text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'done', 'parked')),
      attempts    integer NOT NULL DEFAULT 0,
      not_before  timestamptz NOT NULL DEFAULT now(),
      claimed_at  timestamptz,
      outcome     text,
      error       text,
      finished_at timestamptz
    );
    CREATE INDEX sync_operations_run ON sync_operations (run_id, id);
    CREATE INDEX sync_operations_ready ON sync_operations (not_before, id) WHERE status = 'pending';
    CREATE INDEX sync_operations_running ON sync_operations (claimed_at) WHERE status = 'running';
    -- The claim's phase gate ("nothing of an earlier phase still open in this run") probes only open operations.
    CREATE INDEX sync_operations_open ON sync_operations (run_id, phase) WHERE status IN ('pending', 'running');
  `);
}

/** @param {{context: QueryInterface}} params */
async function down({ context: qi }) {
  await qi.sequelize.query(
    'DROP TABLE sync_operations; DROP TABLE sync_runs; DROP TABLE managed_memberships; DROP TABLE jira_links;',
  );
}

module.exports = { up, down };
