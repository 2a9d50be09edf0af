import type { Sql } from '../../db/sql';

/** What asking to retry a run's parked operations came to. */
export type RetryParked =
  | { kind: 'not-found' }
  /** The run is still working, or another run of its connection is (one run at a time per connection). */
  | { kind: 'busy'; runId: string }
  /** Nothing to put back: no parked operation, or only ones a later run planned again. */
  | { kind: 'nothing'; superseded: number }
  | { kind: 'requeued'; requeued: number; superseded: number };

/**
 * "Retry parked operations": a finished run's parked operations go back to the queue (pending, due
 * now, attempts from zero) and the run is applying again, closing as succeeded or partial when they
 * end. An operation whose subject (a user, a group) a later run of the connection planned for is
 * left parked: that run saw fresher state, and applying the older intent after it could undo it.
 */
export class ParkedOperations {
  constructor(private readonly sql: Sql) {}

  async retry(clientKey: string, runId: string): Promise<RetryParked> {
    try {
      return await this.sql.transaction(async (tx) => {
        const [run] = await this.sql.query<{ status: string; connection_id: string; started_at: Date }>(
          'SELECT status, connection_id, started_at FROM sync_runs WHERE client_key = $1 AND id = $2 FOR UPDATE',
          [clientKey, runId],
          tx,
        );
        if (!run) return { kind: 'not-found' } as const;
        if (run.status === 'running') return { kind: 'busy', runId } as const;
        const [counts] = await this.sql.query<{ requeued: string; superseded: string }>(
          `
          WITH later AS (
            SELECT DISTINCT o.subject FROM sync_operations o JOIN sync_runs r ON r.id = o.run_id
            WHERE r.connection_id = $2 AND r.started_at > $3 AND r.id <> $1
          ), requeued AS (
            UPDATE sync_operations SET status = 'pending', error = NULL, outcome = NULL, attempts = 0,
                   not_before = now(), claimed_at = NULL, finished_at = NULL
            WHERE run_id = $1 AND status = 'parked' AND subject NOT IN (SELECT subject FROM later) RETURNING 1
          )
          SELECT (SELECT count(*) FROM requeued) AS requeued,
                 (SELECT count(*) FROM sync_operations WHERE run_id = $1 AND status = 'parked') -
                 (SELECT count(*) FROM requeued) AS superseded`,
          [runId, run.connection_id, run.started_at],
          tx,
        );
        const requeued = Number(counts.requeued);
        const superseded = Number(counts.superseded);
        if (requeued === 0) return { kind: 'nothing', superseded } as const;
        // The connection's unique "one running run" index refuses this while another run is going.
        await this.sql.query(
          `UPDATE sync_runs SET status = 'running', stage = 'applying', finished_at = NULL, error = NULL, alongside = false,
                  done = GREATEST(done - $2, 0) WHERE id = $1`,
          [runId, requeued],
          tx,
        );
        return { kind: 'requeued', requeued, superseded } as const;
      });
    } catch (err) {
      if (
        (err as { parent?: { code?: string }; code?: string }).parent?.code === '23505' ||
        (err as { code?: string }).code === '23505'
      )
        return { kind: 'busy', runId };
      throw err;
    }
  }
}
