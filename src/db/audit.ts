import type { Sql } from './sql';

/** Who made a change: a Jira user (through the admin page or a context JWT) or one of the site's API tokens. */
export interface AuditActor {
  kind: 'user' | 'api-token';
  id: string;
  name: string | null;
}

/** One recorded change. `details` never holds a secret or a token: only what changed, and how. */
export interface AuditEvent {
  id: string;
  at: Date;
  actor: AuditActor;
  via: 'connect' | 'forge' | 'api-token';
  kind: string;
  connectionId: string | null;
  summary: string;
  details: Record<string, unknown>;
}

export type NewAuditEvent = Omit<AuditEvent, 'id' | 'at'>;

/** Which events to read: one connection's, one actor's, one kind (or kinds starting `kind.`), older than a cursor. */
export interface AuditFilter {
  connectionId?: string;
  actor?: string;
  kind?: string;
  /** Events older than this one (the previous page's last id). */
  before?: string;
}

interface Row {
  id: string;
  at: Date;
  actor_kind: AuditActor['kind'];
  actor_id: string;
  actor_name: string | null;
  via: AuditEvent['via'];
  kind: string;
  connection_id: string | null;
  summary: string;
  details: Record<string, unknown>;
}

const toEvent = (r: Row): AuditEvent => ({
  id: String(r.id),
  at: r.at,
  actor: { kind: r.actor_kind, id: r.actor_id, name: r.actor_name },
  via: r.via,
  kind: r.kind,
  connectionId: r.connection_id,
  summary: r.summary,
  details: r.details,
});

/** The audit trail of each site: appended to, read newest first by keyset, pruned by age. */
export class AuditRepository {
  constructor(private readonly sql: Sql) {}

  async record(clientKey: string, e: NewAuditEvent): Promise<string> {
    const [row] = await this.sql.query<{ id: string }>(
      `INSERT INTO audit_events (client_key, actor_kind, actor_id, actor_name, via, kind, connection_id, summary, details)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
      [clientKey, e.actor.kind, e.actor.id, e.actor.name, e.via, e.kind, e.connectionId, e.summary, e.details],
    );
    return String(row.id);
  }

  /** Names a user's events that were recorded before the name was known. */
  async nameActor(clientKey: string, actorId: string, name: string): Promise<void> {
    await this.sql.query(
      `UPDATE audit_events SET actor_name = $3
        WHERE client_key = $1 AND actor_id = $2 AND actor_kind = 'user' AND actor_name IS NULL`,
      [clientKey, actorId, name],
    );
  }

  /** A page of events, newest first. */
  async page(clientKey: string, f: AuditFilter, limit: number): Promise<AuditEvent[]> {
    const where = ['client_key = $1'];
    const values: unknown[] = [clientKey];
    const add = (sql: string, value: unknown) => {
      values.push(value);
      where.push(sql.replace('?', `$${values.length}`));
    };
    if (f.connectionId) add('connection_id = ?', f.connectionId);
    if (f.actor) add('actor_id = ?', f.actor);
    if (f.kind) {
      values.push(f.kind, `${f.kind}.%`);
      where.push(`(kind = $${values.length - 1} OR kind LIKE $${values.length})`);
    }
    if (f.before) add('id < ?', f.before);
    const rows = await this.sql.query<Row>(
      `SELECT * FROM audit_events WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ${Math.trunc(limit)}`,
      values,
    );
    return rows.map(toEvent);
  }

  /** Deletes events older than `days`; how many went. */
  async purge(days: number): Promise<number> {
    const rows = await this.sql.query<{ id: string }>(
      `DELETE FROM audit_events WHERE at < now() - make_interval(days => $1) RETURNING id`,
      [days],
    );
    return rows.length;
  }
}
