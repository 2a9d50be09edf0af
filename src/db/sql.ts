import { currentTraceparent } from '../tracing';
import crypto from 'node:crypto';
import type { Client } from 'pg';
import type { Sequelize, Transaction } from 'sequelize';
import { breathe } from '../slices';

interface PgConnectionManager {
  getConnection(options?: { type?: 'read' | 'write' }): Promise<Client>;
  releaseConnection(connection: Client): void;
}

/**
 * Plain SQL with positional parameters ($1, $2, …) on the Sequelize instance's own pool (or on a
 * transaction's connection). The directory's hot paths use it instead of sequelize.query, which
 * rewrites SQL text, wraps retries and maps rows on every call: there is one pool and one instance
 * still, minus the per-query overhead.
 */
const TRACEPARENT = ':traceparent';

export class Sql {
  /** SQL shapes run as named prepared statements (parsed and planned once per connection); bounded. */
  private readonly prepared = new Map<string, string>();

  constructor(
    readonly sequelize: Sequelize,
    private readonly maxPrepared = 200,
  ) {}

  /**
   * Rows of a query; within `tx` when given. `:traceparent` in a statement is bound to the active
   * span's W3C trace context (null when tracing is off): outbox rows keep the request's trace.
   */
  async query<T>(sql: string, params: unknown[] = [], tx?: Transaction): Promise<T[]> {
    const [text, values] = sql.includes(TRACEPARENT)
      ? [sql.replaceAll(TRACEPARENT, `$${params.length + 1}::text`), [...params, currentTraceparent()]]
      : [sql, params];
    const config = { text, values, name: this.statementName(text) };
    if (tx) return (await connectionOf(tx).query(config)).rows as T[];
    const manager = this.sequelize.connectionManager as unknown as PgConnectionManager;
    const client = await manager.getConnection({ type: 'write' });
    try {
      return (await client.query(config)).rows as T[];
    } finally {
      manager.releaseConnection(client);
    }
  }

  /**
   * A bulk write that a later step can redo (a pull's pages of users, groups and memberships),
   * committed without waiting for its WAL to reach the disk (`synchronous_commit` off for it alone).
   * A Postgres crash can lose only the last of these, never one that an ordinary commit after it
   * depends on: an ordinary commit flushes the WAL up to itself, these writes' included. Within
   * `tx`, an ordinary query.
   */
  async bulk<T>(text: string, values: unknown[] = [], tx?: Transaction): Promise<T[]> {
    if (tx) return this.query<T>(text, values, tx);
    const manager = this.sequelize.connectionManager as unknown as PgConnectionManager;
    const client = await manager.getConnection({ type: 'write' });
    try {
      await client.query('SET synchronous_commit TO off; SET plan_cache_mode TO force_custom_plan');
      try {
        return (await client.query({ text, values, name: this.statementName(text) })).rows as T[];
      } finally {
        await client.query('RESET synchronous_commit; RESET plan_cache_mode');
      }
    } finally {
      manager.releaseConnection(client);
    }
  }

  /**
   * Runs one query and hands its rows over `batch` at a time, through a cursor: Postgres plans and
   * runs it once (as for a plain query), and the event loop gives way between batches, since parsing
   * a whole large answer at once held it for up to 100 ms (100,000 directory users).
   */
  async inBatches<T>(text: string, values: unknown[], onBatch: (rows: T[]) => void, batch = 5000): Promise<void> {
    await this.sequelize.transaction(async (tx) => {
      const client = connectionOf(tx);
      await client.query('SET LOCAL cursor_tuple_fraction = 1');
      await client.query({ text: `DECLARE batches NO SCROLL CURSOR FOR ${text}`, values });
      for (;;) {
        const { rows } = await client.query(`FETCH ${Math.floor(batch)} FROM batches`);
        onBatch(rows as T[]);
        if (rows.length < batch) break;
        await breathe();
      }
      await client.query('CLOSE batches');
    });
  }

  /** The statement name of a SQL shape, while fewer than maxPrepared shapes have one (values never change a shape). */
  private statementName(text: string): string | undefined {
    let name = this.prepared.get(text);
    if (!name && this.prepared.size < this.maxPrepared) {
      name = `s${crypto.createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
      this.prepared.set(text, name);
    }
    return name;
  }

  /** Runs fn in a Sequelize-managed transaction (commit on success, rollback on error). */
  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    return this.sequelize.transaction(fn);
  }
}

/** The pg connection a Sequelize transaction runs on. */
function connectionOf(tx: Transaction): Client {
  return (tx as unknown as { connection: Client }).connection;
}

/** True for Postgres' unique_violation, whether it came through pg or Sequelize. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; name?: string; parent?: { code?: string } };
  return e?.code === '23505' || e?.name === 'SequelizeUniqueConstraintError' || e?.parent?.code === '23505';
}
