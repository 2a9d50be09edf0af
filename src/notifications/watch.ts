import type { Sql } from '../db/sql';
import type { NoticeFacts, RunFacts } from './messages';
import type { Notice } from './notices';

/** What a notice is about (see `about`). */
export interface About {
  siteUrl: string;
  connection?: { id: string; name: string; kind: string };
  pauseReason: string | null;
  run?: RunFacts;
  parked: NonNullable<NoticeFacts['parked']>;
}

/** What the notifier reads of runs and connections: what a notice is about, silent IdPs, failed runs in a row. */
export class Watch {
  constructor(private readonly sql: Sql) {}

  /**
   * What a notice is about, read once when it is processed: the site's URL, the connection, and for
   * a run's notice the run with its parked count and first three parked operations.
   */
  async about(n: Notice): Promise<About | undefined> {
    const [row] = await this.sql.query<Record<string, unknown>>(
      `SELECT t.base_url, c.name AS connection_name, c.kind AS connection_kind, c.pause_reason,
         r.id AS run_id, r.trigger, r.status AS run_status, r.error, r.started_at, r.total,
         (SELECT count(*) FROM sync_operations o WHERE o.run_id = r.id AND o.status = 'parked')::int AS parked,
         (SELECT COALESCE(jsonb_agg(jsonb_build_object('kind', p.kind, 'reason', p.error)), '[]') FROM (
            SELECT kind, error FROM sync_operations o WHERE o.run_id = r.id AND o.status = 'parked' ORDER BY o.id LIMIT 3) p) AS first_parked
       FROM tenants t LEFT JOIN connections c ON c.id = $2 LEFT JOIN sync_runs r ON r.id = $3
       WHERE t.client_key = $1`,
      [n.clientKey, n.connectionId, n.runId],
    );
    if (!row) return undefined;
    return {
      siteUrl: row.base_url as string,
      connection: row.connection_name
        ? { id: n.connectionId!, name: row.connection_name as string, kind: row.connection_kind as string }
        : undefined,
      pauseReason: row.pause_reason as string | null,
      run: row.run_id
        ? {
            id: row.run_id as string,
            trigger: row.trigger as string,
            status: row.run_status as string,
            error: row.error as string | null,
            startedAt: row.started_at as Date,
            total: row.total as number,
            parked: row.parked as number,
          }
        : undefined,
      parked: row.first_parked as Array<{ kind: string; reason: string }>,
    };
  }

  /**
   * SCIM connections whose IdP used to call and has been silent for the site's `silentDays`: one
   * notice each per silence (a later request starts a new one).
   */
  async noticeSilent(): Promise<number> {
    const rows = await this.sql.query(
      `WITH silent AS (
         SELECT c.id, c.client_key, c.pushed_at, COALESCE(s.silent_days, 3) AS days
         FROM connections c LEFT JOIN notification_settings s ON s.client_key = c.client_key
         WHERE c.kind = 'scim' AND c.pushed_at IS NOT NULL AND COALESCE(s.silent_days, 3) > 0
           AND c.pushed_at < now() - make_interval(days => COALESCE(s.silent_days, 3))
           AND (c.silent_noticed_at IS NULL OR c.silent_noticed_at < c.pushed_at)
         FOR UPDATE OF c SKIP LOCKED),
       marked AS (UPDATE connections c SET silent_noticed_at = now() FROM silent WHERE c.id = silent.id)
       INSERT INTO notices (client_key, connection_id, kind, details)
       SELECT client_key, id, 'idp.silent', jsonb_build_object('days', days, 'lastPushAt', pushed_at) FROM silent
       RETURNING id`,
    );
    return rows.length;
  }

  /**
   * Pauses the connection when its last `after` runs since it was last resumed all failed; the
   * reason when it paused now (undefined when it stays as it was).
   */
  async pauseAfterFailures(id: string, after: number): Promise<string | undefined> {
    if (after <= 0) return undefined;
    const reason = `${after} runs in a row failed`;
    const [row] = await this.sql.query<{ id: string }>(
      `UPDATE connections c SET paused_at = now(), pause_reason = $3
       WHERE c.id = $1 AND c.paused_at IS NULL AND (
         SELECT count(*) FILTER (WHERE r.status = 'failed') = $2 AND count(*) = $2 FROM (
           SELECT status FROM sync_runs r WHERE r.connection_id = c.id AND r.status <> 'running'
             AND r.started_at > COALESCE(c.resumed_at, '-infinity') ORDER BY r.started_at DESC LIMIT $2) r)
       RETURNING c.id`,
      [id, after, reason],
    );
    return row && reason;
  }

  /** The IdP called these connections' SCIM URLs now. */
  async pushed(ids: string[]): Promise<void> {
    await this.sql.query('UPDATE connections SET pushed_at = now() WHERE id = ANY($1::uuid[])', [ids]);
  }
}
