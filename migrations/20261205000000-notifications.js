'use strict';
/**
 * Alerts for a site's admins: the site's notification settings (a webhook, sealed, and e-mail
 * addresses), the notices (every run that ends failed or partial becomes one in the same
 * transaction, by trigger, whichever code path ends it; the notifier adds gone-silent and paused
 * ones), and their deliveries (each channel's attempts, recorded). Connections learn when their IdP
 * last pushed, and can be paused after repeated failed runs. Everything goes with the site.
 * @typedef {import('sequelize').QueryInterface} QueryInterface
 */

/** @param {{context: QueryInterface}} params */
async function up({ context: qi }) {
  await qi.sequelize.query(`
    CREATE TABLE notification_settings (
      client_key      text PRIMARY KEY REFERENCES tenants(client_key) ON DELETE CASCADE,
      webhook_url_enc text,
      webhook_host    text,
      webhook_format  text NOT NULL DEFAULT 'json' CHECK (webhook_format IN ('json', 'slack', 'teams')),
      emails          text[] NOT NULL DEFAULT '{}',
      events          text[] NOT NULL,
      silent_days     integer NOT NULL DEFAULT 3,
      repeat_hours    integer NOT NULL DEFAULT 24,
      digest          boolean NOT NULL DEFAULT false,
      digest_hour     integer NOT NULL DEFAULT 8,
      digest_sent_at  timestamptz,
      updated_at      timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE notices (
      id            bigserial PRIMARY KEY,
      client_key    text NOT NULL REFERENCES tenants(client_key) ON DELETE CASCADE,
      connection_id uuid REFERENCES connections(id) ON DELETE CASCADE,
      run_id        uuid,
      kind          text NOT NULL,
      status        text NOT NULL DEFAULT 'new',
      details       jsonb NOT NULL DEFAULT '{}',
      repeats       integer NOT NULL DEFAULT 0,
      created_at    timestamptz NOT NULL DEFAULT now(),
      claimed_at    timestamptz
    );
    CREATE INDEX notices_new ON notices (id) WHERE status IN ('new', 'working');
    CREATE INDEX notices_site ON notices (client_key, id DESC);
    CREATE INDEX notices_digest ON notices (client_key) WHERE status = 'digest';
    CREATE INDEX notices_created ON notices (created_at);
    CREATE TABLE notice_deliveries (
      id              bigserial PRIMARY KEY,
      notice_id       bigint NOT NULL REFERENCES notices(id) ON DELETE CASCADE,
      channel         text NOT NULL CHECK (channel IN ('webhook', 'email')),
      target          text NOT NULL,
      status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
      attempts        integer NOT NULL DEFAULT 0,
      next_attempt_at timestamptz NOT NULL DEFAULT now(),
      error           text,
      sent_at         timestamptz
    );
    CREATE INDEX notice_deliveries_notice ON notice_deliveries (notice_id);
    CREATE INDEX notice_deliveries_due ON notice_deliveries (next_attempt_at) WHERE status = 'pending';
    ALTER TABLE connections
      ADD COLUMN pushed_at timestamptz,
      ADD COLUMN silent_noticed_at timestamptz,
      ADD COLUMN paused_at timestamptz,
      ADD COLUMN pause_reason text,
      ADD COLUMN resumed_at timestamptz;
    ALTER TABLE sync_runs ADD COLUMN failure text;
    CREATE FUNCTION notice_run_ended() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.status IN ('failed', 'partial') AND (TG_OP = 'INSERT' OR OLD.status IS DISTINCT FROM NEW.status) THEN
        INSERT INTO notices (client_key, connection_id, run_id, kind)
        VALUES (NEW.client_key, NEW.connection_id, NEW.id,
                CASE WHEN NEW.failure = 'credentials' THEN 'credentials.failed' ELSE 'run.' || NEW.status END);
      END IF;
      RETURN NULL;
    END $$;
    CREATE TRIGGER sync_runs_notice AFTER INSERT OR UPDATE OF status ON sync_runs
      FOR EACH ROW EXECUTE FUNCTION notice_run_ended();
  `);
}

/** @param {{context: QueryInterface}} params */
async function down({ context: qi }) {
  await qi.sequelize.query(`
    DROP TRIGGER sync_runs_notice ON sync_runs;
    DROP FUNCTION notice_run_ended();
    ALTER TABLE sync_runs DROP COLUMN failure;
    ALTER TABLE connections DROP COLUMN pushed_at, DROP COLUMN silent_noticed_at, DROP COLUMN paused_at,
      DROP COLUMN pause_reason, DROP COLUMN resumed_at;
    DROP TABLE notice_deliveries; DROP TABLE notices; DROP TABLE notification_settings;
  `);
}

module.exports = { up, down };
