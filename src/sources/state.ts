import type { Transaction } from 'sequelize';
import type { Sql } from '../db/sql';

export interface SourceState {
  usersDeltaLink: string | null;
  groupsDeltaLink: string | null;
  deltaSince: Date | null;
  lastFullAt: Date | null;
  lastIncrementalAt: Date | null;
}

/** A pull connection's incremental state (delta links) and its schedule claim, one row per connection. */
export class SourceStateRepository {
  constructor(private readonly sql: Sql) {}

  async get(connectionId: string): Promise<SourceState | undefined> {
    const rows = await this.sql.query<Record<string, unknown>>('SELECT * FROM source_state WHERE connection_id = $1', [
      connectionId,
    ]);
    const r = rows[0];
    return (
      r && {
        usersDeltaLink: r.users_delta_link as string | null,
        groupsDeltaLink: r.groups_delta_link as string | null,
        deltaSince: r.delta_since as Date | null,
        lastFullAt: r.last_full_at as Date | null,
        lastIncrementalAt: r.last_incremental_at as Date | null,
      }
    );
  }

  /** Saves links (in the caller's transaction, with the changes they cover); undefined leaves a field as it is. */
  async save(
    connectionId: string,
    s: { usersDeltaLink?: string | null; groupsDeltaLink?: string | null; full?: boolean; incremental?: boolean },
    tx?: Transaction,
  ): Promise<void> {
    await this.sql.query(
      `
      INSERT INTO source_state AS s (connection_id, users_delta_link, groups_delta_link, delta_since, last_full_at, last_incremental_at)
      VALUES ($1, $2, $3, CASE WHEN $4 THEN now() END, CASE WHEN $4 THEN now() END, CASE WHEN $5 THEN now() END)
      ON CONFLICT (connection_id) DO UPDATE SET
        users_delta_link = CASE WHEN $6 THEN EXCLUDED.users_delta_link ELSE s.users_delta_link END,
        groups_delta_link = CASE WHEN $7 THEN EXCLUDED.groups_delta_link ELSE s.groups_delta_link END,
        delta_since = CASE WHEN $4 THEN now() ELSE s.delta_since END,
        last_full_at = CASE WHEN $4 THEN now() ELSE s.last_full_at END,
        last_incremental_at = CASE WHEN $5 THEN now() ELSE s.last_incremental_at END,
        updated_at = now()`,
      [
        connectionId,
        s.usersDeltaLink ?? null,
        s.groupsDeltaLink ?? null,
        !!s.full,
        !!s.incremental,
        s.usersDeltaLink !== undefined,
        s.groupsDeltaLink !== undefined,
      ],
      tx,
    );
  }

  /** An LDAP connection's position for its next incremental read (undefined: none, read everything). */
  async cursor<T>(connectionId: string): Promise<T | undefined> {
    const rows = await this.sql.query<{ cursor: T | null }>(
      'SELECT cursor FROM source_state WHERE connection_id = $1',
      [connectionId],
    );
    return rows[0]?.cursor ?? undefined;
  }

  /** Saves the position a read reached (null forgets it), and when it was full or incremental. */
  async saveCursor(connectionId: string, cursor: unknown, how: 'full' | 'incremental'): Promise<void> {
    const full = how === 'full';
    await this.sql.query(
      `
      INSERT INTO source_state AS s (connection_id, cursor, last_full_at, last_incremental_at)
      VALUES ($1, $2::jsonb, CASE WHEN $3 THEN now() END, CASE WHEN NOT $3 THEN now() END)
      ON CONFLICT (connection_id) DO UPDATE SET cursor = EXCLUDED.cursor,
        last_full_at = CASE WHEN $3 THEN now() ELSE s.last_full_at END,
        last_incremental_at = CASE WHEN NOT $3 THEN now() ELSE s.last_incremental_at END,
        updated_at = now()`,
      [connectionId, cursor === null ? null : JSON.stringify(cursor), full],
    );
  }

  /** Forgets the delta links (the next sync reads everything), e.g. when the scope or attributes change. */
  async reset(connectionId: string): Promise<void> {
    await this.sql.query(
      'UPDATE source_state SET users_delta_link = NULL, groups_delta_link = NULL, delta_since = NULL, cursor = NULL, updated_at = now() WHERE connection_id = $1',
      [connectionId],
    );
  }

  /**
   * Claims a scheduled slot: true for exactly one instance per slot (the row's scheduled_at moves
   * on only when the last claim is older than half the interval).
   */
  async claimSchedule(connectionId: string, intervalMinutes: number): Promise<boolean> {
    const rows = await this.sql.query(
      `
      INSERT INTO source_state AS s (connection_id, scheduled_at) VALUES ($1, now())
      ON CONFLICT (connection_id) DO UPDATE SET scheduled_at = now()
      WHERE s.scheduled_at IS NULL OR s.scheduled_at < now() - make_interval(secs => $2::double precision)
      RETURNING 1`,
      [connectionId, intervalMinutes * 30],
    );
    return rows.length > 0;
  }
}
