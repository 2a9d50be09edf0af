import type { Transaction } from 'sequelize';
import type { Sql } from '../../db/sql';
import type { DirectoryChanges } from '../../directory/types';

/**
 * The outbox: every directory change writes a request row in the same statement (sync_requests);
 * once a connection's requests have gone quiet a trigger starts one run for them all, and the run
 * marks the requests it covers as processed.
 */
export class Outbox {
  constructor(private readonly sql: Sql) {}

  /**
   * Queues a run request for a connection (picked up by the outbox drain once no run is going);
   * `trigger` records what asked for it, where the run should say so (saved rules).
   */
  async requestRun(connectionId: string, trigger?: 'rules'): Promise<void> {
    await this.sql.query(
      "INSERT INTO sync_requests (connection_id, subject_type, subject_id, change, trigger) VALUES ($1, 'user', $1, 'updated', $2)",
      [connectionId, trigger ?? null],
    );
  }

  /** The newest unprocessed SCIM request of each connection that has gone quiet (debounced), with its tenant. */
  async quietOutboxes(
    debounceMs: number,
    maxDelayMs: number,
  ): Promise<Array<{ connectionId: string; clientKey: string; lastId: string }>> {
    return (
      await this.sql.query<{ connection_id: string; client_key: string; last_id: string }>(
        `
      SELECT q.connection_id, c.client_key, max(q.id)::text AS last_id FROM sync_requests q JOIN connections c ON c.id = q.connection_id
      WHERE q.processed_at IS NULL AND c.paused_at IS NULL GROUP BY q.connection_id, c.client_key
      HAVING max(q.created_at) < now() - ($1 || ' milliseconds')::interval OR min(q.created_at) < now() - ($2 || ' milliseconds')::interval`,
        [String(debounceMs), String(maxDelayMs)],
      )
    ).map((r) => ({ connectionId: r.connection_id, clientKey: r.client_key, lastId: r.last_id }));
  }

  /**
   * What a connection's unprocessed requests up to this one changed: users and groups of the
   * directory. `wide` when a group was renamed or deleted, or a run was asked for as such (a
   * first login's request, named by the connection's own id): then every user is planned.
   * `trigger`: what asked for the run, when that alone did (saved rules) — changes of the directory
   * among the requests make it the changes' run.
   */
  async requestsUpTo(
    connectionId: string,
    lastId: string,
  ): Promise<{ changes: DirectoryChanges; trigger?: 'rules'; traceparents: string[] }> {
    const rows = await this.sql.query<{
      subject_type: string;
      subject_id: string;
      change: string;
      trigger: 'rules' | null;
      traceparent: string | null;
    }>(
      `SELECT DISTINCT subject_type, subject_id::text AS subject_id, change, trigger, traceparent FROM sync_requests
       WHERE connection_id = $1 AND processed_at IS NULL AND id <= $2`,
      [connectionId, lastId],
    );
    // The requests' trace contexts (tracing on): the run continues the first's trace and links the others.
    const traceparents = [...new Set(rows.map((r) => r.traceparent).filter((t): t is string => !!t))].slice(0, 32);
    const userIds = new Set<string>();
    const groupIds = new Set<string>();
    let wide = false;
    let trigger: 'rules' | undefined;
    let onlyRunRequests = true;
    for (const r of rows) {
      if (r.subject_id === connectionId) trigger ??= r.trigger ?? undefined;
      else onlyRunRequests = false;
      if (
        r.subject_id === connectionId ||
        (r.subject_type === 'group' && (r.change === 'updated' || r.change === 'deleted'))
      )
        wide = true;
      else (r.subject_type === 'user' ? userIds : groupIds).add(r.subject_id);
    }
    return {
      changes: { userIds: [...userIds], groupIds: [...groupIds], wide },
      ...(onlyRunRequests && trigger ? { trigger } : {}),
      traceparents,
    };
  }

  /** Marks a connection's requests up to this one as covered by a run (in the run's transaction). */
  async markCovered(connectionId: string, lastId: string, tx: Transaction): Promise<void> {
    await this.sql.query(
      'UPDATE sync_requests SET processed_at = now() WHERE connection_id = $1 AND processed_at IS NULL AND id <= $2',
      [connectionId, lastId],
      tx,
    );
  }
}
