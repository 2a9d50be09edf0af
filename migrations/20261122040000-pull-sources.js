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
