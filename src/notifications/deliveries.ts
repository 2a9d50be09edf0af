import type { Sql } from '../db/sql';

/** One channel's delivery of a notice. */
export interface Delivery {
  id: string;
  noticeId: string;
  channel: 'webhook' | 'email';
  target: string;
  status: 'pending' | 'sent' | 'failed';
  attempts: number;
  error: string | null;
  sentAt: Date | null;
}

export const toDelivery = (r: Record<string, unknown>): Delivery => ({
  id: String(r.id),
  noticeId: String(r.notice_id),
  channel: r.channel as Delivery['channel'],
  target: r.target as string,
  status: r.status as Delivery['status'],
  attempts: r.attempts as number,
  error: r.error as string | null,
  sentAt: r.sent_at as Date | null,
});

/** Each channel's delivery of a notice: claimed when due, attempted, recorded. */
export class DeliveryStore {
  constructor(private readonly sql: Sql) {}

  /** Deliveries due, each taken for two minutes (a taker that dies leaves it to the next round). */
  async claimDeliveries(limit = 10): Promise<Delivery[]> {
    const rows = await this.sql.query<Record<string, unknown>>(
      `UPDATE notice_deliveries SET attempts = attempts + 1, next_attempt_at = now() + interval '2 minutes'
       WHERE id IN (SELECT id FROM notice_deliveries WHERE status = 'pending' AND next_attempt_at <= now()
                    ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
       RETURNING *`,
      [limit],
    );
    return rows.map(toDelivery);
  }

  /** A delivery's outcome: sent, tried again after `retryInMs`, or failed for good (the error kept either way). */
  async delivered(
    id: string,
    outcome: { ok: true; note?: string } | { ok: false; error: string; retryInMs?: number },
  ): Promise<Delivery> {
    const [row] = outcome.ok
      ? await this.sql.query<Record<string, unknown>>(
          "UPDATE notice_deliveries SET status = 'sent', sent_at = now(), error = $2 WHERE id = $1 RETURNING *",
          [id, outcome.note?.slice(0, 1000) ?? null],
        )
      : await this.sql.query<Record<string, unknown>>(
          `UPDATE notice_deliveries SET error = $2,
             status = CASE WHEN $3::bigint IS NULL THEN 'failed' ELSE 'pending' END,
             next_attempt_at = CASE WHEN $3::bigint IS NULL THEN next_attempt_at ELSE now() + make_interval(secs => $3::bigint / 1000.0) END
           WHERE id = $1 RETURNING *`,
          [id, outcome.error.slice(0, 1000), outcome.retryInMs ?? null],
        );
    return toDelivery(row);
  }
}
