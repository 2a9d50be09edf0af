'use strict';
/**
 * Connections (configured IdPs) and the directory store: users, groups and memberships as each
 * connection's IdP sees them, with the full SCIM resource in JSONB and the attributes that are
 * filtered or unique in indexed columns; plus the outbox of reconciliation requests that every
 * directory change writes in the same transaction.
 * @typedef {import('sequelize').QueryInterface} QueryInterface
 */

/** @param {{context: QueryInterface}} params */
async function up({ context: qi }) {
  await qi.sequelize.query(`
    CREATE TABLE connections (
      id                    uuid PRIMARY KEY,
      client_key            text NOT NULL REFERENCES tenants(client_key) ON DELETE CASCADE,
      name                  text NOT NULL,
      kind                  text NOT NULL CHECK (kind IN ('scim', 'entra', 'ldap')),
      provider              text NOT NULL,
      target                text NOT NULL DEFAULT 'users' CHECK (target IN ('users', 'customers')),
      import_users          boolean NOT NULL DEFAULT true,
      import_groups         boolean NOT NULL DEFAULT true,
      scim_token_hash       text,
      scim_token_hint       text,
      scim_token_created_at timestamptz,
      settings              jsonb NOT NULL DEFAULT '{}',
      created_at            timestamptz NOT NULL DEFAULT now(),
      updated_at            timestamptz NOT NULL DEFAULT now()
    );
    CREATE UNIQUE INDEX connections_tenant_name ON connections (client_key, lower(name));

    CREATE TABLE directory_users (
      connection_id uuid NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
      id            uuid NOT NULL,
      user_name     text NOT NULL,
      external_id   text,
      display_name  text,
      email         text,
      active        boolean NOT NULL DEFAULT true,
      resource      jsonb NOT NULL,
      version       integer NOT NULL DEFAULT 1,
      created_at    timestamptz NOT NULL DEFAULT now(),
      updated_at    timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (connection_id, id)
    );
    CREATE UNIQUE INDEX directory_users_user_name ON directory_users (connection_id, lower(user_name));
    CREATE INDEX directory_users_user_name_prefix ON directory_users (connection_id, lower(user_name) text_pattern_ops);
    CREATE INDEX directory_users_external_id ON directory_users (connection_id, external_id);
    CREATE INDEX directory_users_email ON directory_users (connection_id, lower(email));
    CREATE INDEX directory_users_display_name ON directory_users (connection_id, lower(display_name));
    CREATE INDEX directory_users_order ON directory_users (connection_id, created_at, id);

    CREATE TABLE directory_groups (
      connection_id uuid NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
      id            uuid NOT NULL,
      display_name  text NOT NULL,
      external_id   text,
      resource      jsonb NOT NULL,
      version       integer NOT NULL DEFAULT 1,
      created_at    timestamptz NOT NULL DEFAULT now(),
      updated_at    timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (connection_id, id)
    );
    CREATE UNIQUE INDEX directory_groups_display_name ON directory_groups (connection_id, lower(display_name));
    CREATE INDEX directory_groups_external_id ON directory_groups (connection_id, external_id);
    CREATE INDEX directory_groups_order ON directory_groups (connection_id, created_at, id);

    CREATE TABLE directory_memberships (
      connection_id uuid NOT NULL,
      group_id      uuid NOT NULL,
      user_id       uuid NOT NULL,
      created_at    timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (connection_id, group_id, user_id),
      FOREIGN KEY (connection_id, group_id) REFERENCES directory_groups (connection_id, id) ON DELETE CASCADE,
      FOREIGN KEY (connection_id, user_id) REFERENCES directory_users (connection_id, id) ON DELETE CASCADE
    );
    CREATE INDEX directory_memberships_user ON directory_memberships (connection_id, user_id);

    CREATE TABLE sync_requests (
      id            bigserial PRIMARY KEY,
      connection_id uuid NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
      subject_type  text NOT NULL CHECK (subject_type IN ('user', 'group')),
      subject_id    uuid NOT NULL,
      change        text NOT NULL CHECK (change IN ('created', 'updated', 'deleted', 'members')),
      created_at    timestamptz NOT NULL DEFAULT now(),
      processed_at  timestamptz
    );
    CREATE INDEX sync_requests_pending ON sync_requests (connection_id, id) WHERE processed_at IS NULL;
  `);
}

/** @param {{context: QueryInterface}} params */
async function down({ context: qi }) {
  await qi.sequelize.query(`
    DROP TABLE sync_requests; DROP TABLE directory_memberships; DROP TABLE directory_groups;
    DROP TABLE directory_users; DROP TABLE connections;
  `);
}

module.exports = { up, down };
