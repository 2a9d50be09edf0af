'use strict';
/**
 * Pull sources (Microsoft Entra ID through Graph; LDAP later): a connection's sealed client secret,
 * its incremental state (delta links) and schedule claim, a mark on directory rows for the
 * mark-and-sweep of a full read, and runs that start by reading the IdP (stage "reading", with
 * progress and a heartbeat) before they plan and apply.
 * @typedef {import('sequelize').QueryInterface} QueryInterface
 */

/** @param {{context: QueryInterface}} params */
async function up({ context: qi }) {
  await qi.sequelize.query(`
    ALTER TABLE connections ADD COLUMN secret_enc text;

    CREATE TABLE source_state (
      connection_id      uuid PRIMARY KEY REFERENCES connections(id) ON DELETE CASCADE,
      users_delta_link   text,
      groups_delta_link  text,
      delta_since        timestamptz,
      last_full_at       timestamptz,
      last_incremental_at timestamptz,
      scheduled_at       timestamptz,
      updated_at         timestamptz NOT NULL DEFAULT now()
    );

    ALTER TABLE directory_users ADD COLUMN sync_mark uuid;
    ALTER TABLE directory_groups ADD COLUMN sync_mark uuid;
    ALTER TABLE directory_memberships ADD COLUMN sync_mark uuid;

    ALTER TABLE sync_runs ADD COLUMN stage text NOT NULL DEFAULT 'applying' CHECK (stage IN ('reading', 'applying'));
    ALTER TABLE sync_runs ADD COLUMN progress jsonb NOT NULL DEFAULT '{}';
    ALTER TABLE sync_runs ADD COLUMN heartbeat_at timestamptz;

    -- The claim looks up each applying run's current phase, then that phase's due operations:
    -- both through indexes whose scans stop at the first live row, however many finished rows
    -- (dead index entries until vacuum) a 100,000-operation run leaves behind.
    CREATE INDEX sync_operations_claim ON sync_operations (run_id, phase, not_before, id) WHERE status = 'pending';
    CREATE INDEX sync_runs_applying ON sync_runs (id) WHERE status = 'running' AND stage = 'applying';

    -- Memberships lose their two foreign keys: each checked row took a KEY SHARE lock on its user and
    -- group (multixacts when a user is in several groups), almost doubling the cost of writing a
    -- 300,000-membership directory. Every writer inserts only pairs whose user and group it has just
    -- joined; deleting a user or a group (or their connection) removes its memberships through these
    -- statement-level triggers, set-based.
    ALTER TABLE directory_memberships DROP CONSTRAINT directory_memberships_connection_id_group_id_fkey;
    ALTER TABLE directory_memberships DROP CONSTRAINT directory_memberships_connection_id_user_id_fkey;
    CREATE FUNCTION directory_users_gone() RETURNS trigger LANGUAGE plpgsql AS $fn$
    BEGIN
      DELETE FROM directory_memberships m USING gone g WHERE m.connection_id = g.connection_id AND m.user_id = g.id;
      RETURN NULL;
    END
    $fn$;
    CREATE FUNCTION directory_groups_gone() RETURNS trigger LANGUAGE plpgsql AS $fn$
    BEGIN
      DELETE FROM directory_memberships m USING gone g WHERE m.connection_id = g.connection_id AND m.group_id = g.id;
      RETURN NULL;
    END
    $fn$;
    CREATE TRIGGER directory_users_memberships AFTER DELETE ON directory_users REFERENCING OLD TABLE AS gone
      FOR EACH STATEMENT EXECUTE FUNCTION directory_users_gone();
    CREATE TRIGGER directory_groups_memberships AFTER DELETE ON directory_groups REFERENCING OLD TABLE AS gone
      FOR EACH STATEMENT EXECUTE FUNCTION directory_groups_gone();

    -- Every instance schedules pull connections; this tells them all when one is added, changed or deleted.
    CREATE FUNCTION notify_schedule_change() RETURNS trigger LANGUAGE plpgsql AS $fn$
    BEGIN
      PERFORM pg_notify('idp_sync_schedules', COALESCE(NEW.id, OLD.id)::text);
      RETURN NULL;
    END
    $fn$;
    CREATE TRIGGER connections_schedule_changed AFTER INSERT OR UPDATE OF settings OR DELETE ON connections
      FOR EACH ROW EXECUTE FUNCTION notify_schedule_change();
  `);
}

/** @param {{context: QueryInterface}} params */
async function down({ context: qi }) {
  await qi.sequelize.query(`
    DROP TRIGGER directory_groups_memberships ON directory_groups;
    DROP TRIGGER directory_users_memberships ON directory_users;
    DROP FUNCTION directory_groups_gone();
    DROP FUNCTION directory_users_gone();
    DELETE FROM directory_memberships m WHERE NOT EXISTS (SELECT 1 FROM directory_users u WHERE u.connection_id = m.connection_id AND u.id = m.user_id)
      OR NOT EXISTS (SELECT 1 FROM directory_groups g WHERE g.connection_id = m.connection_id AND g.id = m.group_id);
    ALTER TABLE directory_memberships ADD CONSTRAINT directory_memberships_connection_id_group_id_fkey
      FOREIGN KEY (connection_id, group_id) REFERENCES directory_groups (connection_id, id) ON DELETE CASCADE;
    ALTER TABLE directory_memberships ADD CONSTRAINT directory_memberships_connection_id_user_id_fkey
      FOREIGN KEY (connection_id, user_id) REFERENCES directory_users (connection_id, id) ON DELETE CASCADE;
    DROP INDEX sync_runs_applying;
    DROP INDEX sync_operations_claim;
    DROP TRIGGER connections_schedule_changed ON connections;
    DROP FUNCTION notify_schedule_change();
    ALTER TABLE sync_runs DROP COLUMN heartbeat_at, DROP COLUMN progress, DROP COLUMN stage;
    ALTER TABLE directory_memberships DROP COLUMN sync_mark;
    ALTER TABLE directory_groups DROP COLUMN sync_mark;
    ALTER TABLE directory_users DROP COLUMN sync_mark;
    DROP TABLE source_state;
    ALTER TABLE connections DROP COLUMN secret_enc;
  `);
}

module.exports = { up, down };
