'use strict';
/**
 * The audit trail (every change an admin or a script makes to a site's configuration, never a
 * secret) and the site's admin API tokens (stored as SHA-256 hashes). Both go with the site.
 * @typedef {import('sequelize').QueryInterface} QueryInterface
 */

/** @param {{context: QueryInterface}} params */
async function up({ context: qi }) {
  await qi.sequelize.query(`
    CREATE TABLE audit_events (
      id            bigserial PRIMARY KEY,
      client_key    text NOT NULL REFERENCES tenants(client_key) ON DELETE CASCADE,
      at            timestamptz NOT NULL DEFAULT now(),
      actor_kind    text NOT NULL CHECK (actor_kind IN ('user', 'api-token')),
      actor_id      text NOT NULL,
      actor_name    text,
      via           text NOT NULL CHECK (via IN ('connect', 'forge', 'api-token')),
      kind          text NOT NULL,
      connection_id uuid,
      summary       text NOT NULL,
      details       jsonb NOT NULL DEFAULT '{}'
    );
    CREATE INDEX audit_events_site ON audit_events (client_key, id DESC);
    CREATE INDEX audit_events_at ON audit_events (at);
    CREATE TABLE api_tokens (
      id           uuid PRIMARY KEY,
      client_key   text NOT NULL REFERENCES tenants(client_key) ON DELETE CASCADE,
      name         text NOT NULL,
      access       text NOT NULL CHECK (access IN ('read', 'write')),
      token_hash   text NOT NULL UNIQUE,
      token_hint   text NOT NULL,
      created_by   text NOT NULL,
      created_at   timestamptz NOT NULL DEFAULT now(),
      expires_at   timestamptz,
      last_used_at timestamptz,
      revoked_at   timestamptz
    );
    CREATE INDEX api_tokens_site ON api_tokens (client_key, created_at DESC);
  `);
}

/** @param {{context: QueryInterface}} params */
async function down({ context: qi }) {
  await qi.sequelize.query('DROP TABLE api_tokens; DROP TABLE audit_events;');
}

module.exports = { up, down };
