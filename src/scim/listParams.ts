import type { Request } from 'express';
import { resolveAttr } from './attributes';
import { invalidFilter, invalidValue } from './errors';
import { parseAttrPath, parseFilter, type Filter } from '../directory/filter';
import { Bind, filterToSql, sortExpression } from './filterSql';
import { parseProjection, type Projection } from './presenter';
import type { ResourceTypeDef } from './schemas';

export const MAX_RESULTS = 1000;
const DEFAULT_COUNT = 100;
const INT_MAX = 2_147_483_647;

/** A list request: the SQL for the store, the page asked for, and the projection. */
export interface ListRequest {
  where: string;
  values: unknown[];
  orderBy: string;
  startIndex: number;
  count: number;
  projection: Projection;
}

/** Query parameters, matched case-insensitively (clients differ). */
export function queryParam(req: Request, name: string): string | undefined {
  const key = Object.keys(req.query).find((k) => k.toLowerCase() === name.toLowerCase());
  const v = key === undefined ? undefined : req.query[key];
  return typeof v === 'string' ? v : Array.isArray(v) && typeof v[0] === 'string' ? v[0] : undefined;
}

function integerParam(req: Request, name: string): number | undefined {
  const raw = queryParam(req, name);
  if (raw === undefined || raw === '') return undefined;
  if (!/^-?\d+$/.test(raw.trim())) throw invalidValue(`"${name}" must be an integer.`);
  // Past what a page could be (Postgres' OFFSET is 64-bit; JavaScript's integers are exact to 2^53): the largest int.
  return Math.max(-INT_MAX, Math.min(INT_MAX, Number(raw)));
}

/**
 * Reads filter, startIndex, count, sortBy, sortOrder, attributes and excludedAttributes
 * (RFC 7644 §3.4.2) into a SQL query over the connection's rows. startIndex < 1 is read as 1,
 * a negative count as 0, and count is capped at MAX_RESULTS.
 */
export function readListRequest(req: Request, type: ResourceTypeDef, connectionId: string): ListRequest {
  const bind = new Bind();
  const conditions = [`r.connection_id = ${bind.add(connectionId)}::uuid`];
  const filterText = queryParam(req, 'filter');
  if (filterText !== undefined && filterText.trim() !== '') {
    const filter: Filter = parseFilter(filterText, invalidFilter);
    conditions.push(filterToSql(filter, type, bind));
  }
  const startIndex = Math.max(1, integerParam(req, 'startIndex') ?? 1);
  const count = Math.min(MAX_RESULTS, Math.max(0, integerParam(req, 'count') ?? DEFAULT_COUNT));
  let orderBy = 'r.created_at, r.id';
  const sortBy = queryParam(req, 'sortBy');
  if (sortBy) {
    const fail = (msg: string) => invalidValue(`Invalid sortBy: ${msg}`);
    const expr = sortExpression(type, resolveAttr(type, parseAttrPath(sortBy.trim(), fail), fail));
    const order = (queryParam(req, 'sortOrder') ?? 'ascending').toLowerCase();
    if (order !== 'ascending' && order !== 'descending')
      throw invalidValue('"sortOrder" must be "ascending" or "descending".');
    orderBy = `${expr} ${order === 'descending' ? 'DESC NULLS LAST' : 'ASC NULLS LAST'}, r.created_at, r.id`;
  }
  return {
    where: conditions.join(' AND '),
    values: bind.values,
    orderBy,
    startIndex,
    count,
    projection: parseProjection(type, queryParam(req, 'attributes'), queryParam(req, 'excludedAttributes')),
  };
}
