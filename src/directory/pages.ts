import type { Transaction } from 'sequelize';
import { isUniqueViolation, type Sql } from '../db/sql';
import type { ListQuery } from './types';

/**
 * A page of rows of a directory table (alias r) with the total count: one query with a window
 * count, or a plain count when the page is empty or count=0 was asked for.
 */
export async function listPage<Row extends { total?: string }>(
  db: Sql,
  table: string,
  select: string,
  q: ListQuery,
): Promise<{ rows: Row[]; total: number }> {
  const count = async () =>
    Number(
      (await db.query<{ total: string }>(`SELECT count(*) AS total FROM ${table} r WHERE ${q.where}`, q.values))[0]
        .total,
    );
  if (q.limit === 0) return { rows: [], total: await count() };
  const rows = await db.query<Row>(
    `SELECT ${select}, count(*) OVER () AS total FROM ${table} r WHERE ${q.where} ORDER BY ${q.orderBy} LIMIT $${q.values.length + 1} OFFSET $${q.values.length + 2}`,
    [...q.values, q.limit, q.offset],
  );
  if (rows.length === 0) return { rows, total: q.offset > 0 ? await count() : 0 };
  return { rows, total: Number(rows[0].total) };
}

/** Runs a write; Postgres' unique_violation becomes the caller's conflict error. */
export async function writeUnique<T>(
  db: Sql,
  sql: string,
  values: unknown[],
  conflict: () => Error,
  tx?: Transaction,
): Promise<T[]> {
  try {
    return await db.query<T>(sql, values, tx);
  } catch (err) {
    if (isUniqueViolation(err)) throw conflict();
    throw err;
  }
}
