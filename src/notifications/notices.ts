import type { Transaction } from 'sequelize';
import type { Sql } from '../db/sql';
import { toDelivery, type Delivery } from './deliveries';
import type { NoticeKind } from './settings';

/** A notice as stored. */
export interface Notice {
  id: string;
  clientKey: string;
  connectionId: string | null;
  runId: string | null;
  kind: NoticeKind;
  status: string;
  details: Record<string, unknown>;
  repeats: number;
  createdAt: Date;
}

const toNotice = (r: Record<string, unknown>): Notice => ({
  id: String(r.id),
  clientKey: r.client_key as string,
  connectionId: r.connection_id as string | null,
  runId: r.run_id as string | null,
  kind: r.kind as NoticeKind,
  status: r.status as string,
  details: r.details as Record<string, unknown>,
  repeats: r.repeats as number,
  createdAt: r.created_at as Date,
});

/** A notice as the log shows it, with the connection's name and each delivery. */
export interface LoggedNotice extends Notice {
  connectionName: string | null;
  deliveries: Delivery[];
}

/** The notices of each site: added (by the database as runs end, or by the notifier), processed once, logged. */
export class NoticeStore {
  constructor(private readonly sql: Sql) {}

  /** Adds a notice (the notifier's own kinds; runs' notices are added by the database as runs end). */
  async add(n: {
    clientKey: string;
    connectionId: string | null;
    kind: NoticeKind;
    details?: object;
    /** 'sent' for a notice its maker sends itself (a test, a digest): no notifier round takes it up. */
    status?: 'new' | 'sent';
  }): Promise<Notice> {
    const [row] = await this.sql.query<Record<string, unknown>>(
      'INSERT INTO notices (client_key, connection_id, kind, details, status) VALUES ($1, $2, $3, $4, $5) RETURNING *',
      [n.clientKey, n.connectionId, n.kind, JSON.stringify(n.details ?? {}), n.status ?? 'new'],
    );
    return toNotice(row);
  }

  /** Takes new notices to process (and ones whose taker died five minutes ago), oldest first, never twice at once. */
  async claimNew(limit = 20): Promise<Notice[]> {
    const rows = await this.sql.query<Record<string, unknown>>(
      `UPDATE notices SET status = 'working', claimed_at = now() WHERE id IN (
         SELECT id FROM notices WHERE status = 'new' OR (status = 'working' AND claimed_at < now() - interval '5 minutes')
         ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED) RETURNING *`,
      [limit],
    );
    return rows.map(toNotice).sort((a, b) => Number(a.id) - Number(b.id));
  }

  /**
   * Sends a notice at most once per repeat window: folded into the same alert (its site, kind and
   * connection) sent or kept for the digest within `hours` — counted there, not sent —, else kept
   * for the digest or sent (its deliveries queued). Decided under a lock of that alert's key, in one
   * transaction: two instances processing two such notices at the same moment send one and fold the
   * other.
   */
  async sendOnce(
    n: Notice,
    hours: number,
    details: object,
    then: 'digest' | Array<{ channel: Delivery['channel']; target: string }>,
  ): Promise<'folded' | 'digest' | 'sent'> {
    return this.sql.transaction(async (tx) => {
      await this.sql.query(
        'SELECT pg_advisory_xact_lock(hashtextextended($1, 0))',
        [`idp-sync:notice:${n.clientKey}:${n.kind}:${n.connectionId ?? ''}`],
        tx,
      );
      const [earlier] =
        hours > 0
          ? await this.sql.query<{ id: string }>(
              `SELECT id FROM notices WHERE client_key = $1 AND kind = $2 AND connection_id IS NOT DISTINCT FROM $3
                 AND id <> $4 AND status IN ('sent', 'digest', 'digested') AND created_at > now() - make_interval(hours => $5)
               ORDER BY id DESC LIMIT 1`,
              [n.clientKey, n.kind, n.connectionId, n.id, hours],
              tx,
            )
          : [];
      if (earlier) {
        await this.sql.query(
          "UPDATE notices SET status = 'folded', details = $2 WHERE id = $1",
          [n.id, JSON.stringify(details)],
          tx,
        );
        await this.sql.query('UPDATE notices SET repeats = repeats + 1 WHERE id = $1', [earlier.id], tx);
        return 'folded';
      }
      if (then === 'digest') {
        await this.settleIn(tx, n.id, 'digest', details, [], false);
        return 'digest';
      }
      await this.settleIn(tx, n.id, 'sent', details, then, false);
      return 'sent';
    });
  }

  /**
   * Ends the processing of a notice: `status` sent (its deliveries queued in the same transaction),
   * digest (waits for the daily digest), or off (no channel, or the kind is turned off).
   */
  async settle(
    id: string,
    status: 'sent' | 'digest' | 'off',
    details: object,
    deliveries: Array<{ channel: Delivery['channel']; target: string }> = [],
    /** The deliveries are taken by the caller, who attempts them now (a test): no round takes them meanwhile. */
    taken = false,
  ): Promise<Delivery[]> {
    return this.sql.transaction((tx) => this.settleIn(tx, id, status, details, deliveries, taken));
  }

  private async settleIn(
    tx: Transaction,
    id: string,
    status: 'sent' | 'digest' | 'off',
    details: object,
    deliveries: Array<{ channel: Delivery['channel']; target: string }>,
    taken: boolean,
  ): Promise<Delivery[]> {
    await this.sql.query(
      'UPDATE notices SET status = $2, details = $3 WHERE id = $1',
      [id, status, JSON.stringify(details)],
      tx,
    );
    const out: Delivery[] = [];
    for (const d of deliveries) {
      const [row] = await this.sql.query<Record<string, unknown>>(
        taken
          ? `INSERT INTO notice_deliveries (notice_id, channel, target, attempts, next_attempt_at)
             VALUES ($1, $2, $3, 1, now() + interval '2 minutes') RETURNING *`
          : 'INSERT INTO notice_deliveries (notice_id, channel, target) VALUES ($1, $2, $3) RETURNING *',
        [id, d.channel, d.target],
        tx,
      );
      out.push(toDelivery(row));
    }
    return out;
  }

  /** Sites whose daily digest is due (past today's hour, not sent since) with notices waiting, claimed for this instance. */
  async claimDigests(): Promise<Array<{ clientKey: string; notices: Notice[] }>> {
    return this.sql.transaction(async (tx) => {
      const sites = await this.sql.query<{ client_key: string }>(
        `UPDATE notification_settings s SET digest_sent_at = now() WHERE client_key IN (
           SELECT t.client_key FROM notification_settings t
           CROSS JOIN LATERAL (SELECT date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' + make_interval(hours => t.digest_hour) AS due) today
           WHERE t.digest AND now() >= today.due AND (t.digest_sent_at IS NULL OR t.digest_sent_at < today.due)
             AND EXISTS (SELECT 1 FROM notices n WHERE n.client_key = t.client_key AND n.status = 'digest')
           FOR UPDATE OF t SKIP LOCKED) RETURNING s.client_key`,
        [],
        tx,
      );
      const out: Array<{ clientKey: string; notices: Notice[] }> = [];
      for (const s of sites) {
        const rows = await this.sql.query<Record<string, unknown>>(
          "UPDATE notices SET status = 'digested' WHERE client_key = $1 AND status = 'digest' RETURNING *",
          [s.client_key],
          tx,
        );
        out.push({ clientKey: s.client_key, notices: rows.map(toNotice).sort((a, b) => Number(a.id) - Number(b.id)) });
      }
      return out;
    });
  }

  async notice(id: string): Promise<Notice | undefined> {
    const [row] = await this.sql.query<Record<string, unknown>>('SELECT * FROM notices WHERE id = $1', [id]);
    return row && toNotice(row);
  }

  /** The site's notices, newest first (`before`: the previous page's last id), with their deliveries. */
  async log(clientKey: string, opts: { before?: string; limit?: number } = {}): Promise<LoggedNotice[]> {
    const rows = await this.sql.query<Record<string, unknown>>(
      `SELECT n.*, c.name AS connection_name,
         COALESCE((SELECT jsonb_agg(to_jsonb(d) ORDER BY d.id) FROM notice_deliveries d WHERE d.notice_id = n.id), '[]') AS deliveries
       FROM notices n LEFT JOIN connections c ON c.id = n.connection_id
       WHERE n.client_key = $1 AND ($2::bigint IS NULL OR n.id < $2::bigint)
       ORDER BY n.id DESC LIMIT $3`,
      [clientKey, opts.before ?? null, opts.limit ?? 50],
    );
    return rows.map((r) => ({
      ...toNotice(r),
      connectionName: r.connection_name as string | null,
      deliveries: (r.deliveries as Array<Record<string, unknown>>).map((d) =>
        toDelivery({ ...d, sent_at: d.sent_at ? new Date(d.sent_at as string) : null }),
      ),
    }));
  }

  /** Drops notices older than `days` (the hourly retention job), with their deliveries. */
  async prune(days: number): Promise<number> {
    const rows = await this.sql.query(
      "DELETE FROM notices WHERE created_at < now() - make_interval(days => $1) AND status NOT IN ('new', 'working', 'digest') RETURNING 1",
      [days],
    );
    return rows.length;
  }
}
