import { resolveAttr, storageKeys, type ResolvedAttr } from './attributes';
import { invalidFilter } from './errors';
import type { CompareOp, Filter, FilterValue } from '../directory/filter';
import type { AttrDef, AttrType, ResourceTypeDef } from './schemas';
import { isUuid } from '../db/ids';

/** Collects bind parameters and hands out their $n placeholders. */
export class Bind {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/** A scalar SQL expression of a known SCIM type. */
interface Scalar {
  sql: string;
  type: AttrType;
  caseExact: boolean;
}

/** A JSON key inlined in SQL (names come from the schema definitions, never from requests). */
const sqlKey = (k: string) => k.replace(/'/g, "''");
const keyPath = (keys: string[]) => `'{${keys.map((k) => `"${sqlKey(k)}"`).join(',')}}'`;

const fail = (msg: string) => invalidFilter(`Invalid filter: ${msg}`);

/** Table-specific columns; everything else is read from the JSONB resource. */
const COLUMNS: Record<'User' | 'Group', Record<string, Scalar>> = {
  User: {
    userName: { sql: 'r.user_name', type: 'string', caseExact: false },
    externalId: { sql: 'r.external_id', type: 'string', caseExact: true },
    displayName: { sql: 'r.display_name', type: 'string', caseExact: false },
    active: { sql: 'r.active', type: 'boolean', caseExact: true },
  },
  Group: {
    displayName: { sql: 'r.display_name', type: 'string', caseExact: false },
    externalId: { sql: 'r.external_id', type: 'string', caseExact: true },
  },
};

/**
 * Translates a parsed filter into a SQL condition over the directory table aliased `r`, with every
 * value bound as a parameter. Runs in Postgres (indexes on userName, externalId, displayName…).
 */
export function filterToSql(filter: Filter, type: ResourceTypeDef, bind: Bind): string {
  switch (filter.op) {
    case 'and':
    case 'or':
      return `(${filterToSql(filter.left, type, bind)} ${filter.op.toUpperCase()} ${filterToSql(filter.right, type, bind)})`;
    case 'not':
      return `(NOT COALESCE(${filterToSql(filter.filter, type, bind)}, false))`;
    case 'valuePath': {
      const r = resolveAttr(type, filter.path, fail);
      if (!r.attr.multiValued || r.attr.type !== 'complex' || r.sub)
        throw fail(`"${r.attr.name}[…]" needs a multi-valued complex attribute`);
      const rel = relation(type, r);
      if (rel) return `EXISTS (SELECT 1 ${rel.from} AND ${elementFilter(filter.filter, r.attr, rel.column, bind)})`;
      return elementsExist(type, r, (el) =>
        elementFilter(filter.filter, r.attr, (sub) => elementScalar(el, sub), bind),
      );
    }
    case 'pr':
      return present(type, resolveAttr(type, filter.path, fail));
    default:
      return compareAttr(type, resolveAttr(type, filter.path, fail), filter.op, filter.value, bind);
  }
}

function compareAttr(type: ResourceTypeDef, r: ResolvedAttr, op: CompareOp, value: FilterValue, bind: Bind): string {
  const special = specialAttr(type, r, op, value, bind);
  if (special) return special;
  if (r.attr.multiValued) {
    const leaf =
      r.sub ?? (r.attr.type === 'complex' ? r.attr.subAttributes!.find((s) => s.name === 'value') : undefined);
    const exists = elementsExist(type, r, (el) =>
      compare(
        leaf ? elementScalar(el, leaf) : { sql: `(${el} #>> '{}')`, type: r.attr.type, caseExact: r.attr.caseExact },
        op === 'ne' ? 'eq' : op,
        value,
        bind,
      ),
    );
    return op === 'ne' ? `(NOT ${exists})` : exists;
  }
  return compare(scalarOf(type, r), op, value, bind);
}

/** Attributes that are not plain JSON: id, meta, and the membership relations. */
function specialAttr(
  type: ResourceTypeDef,
  r: ResolvedAttr,
  op: CompareOp,
  value: FilterValue,
  bind: Bind,
): string | undefined {
  const name = r.attr.name;
  if (name === 'id') {
    if (op === 'eq') return typeof value === 'string' && isUuid(value) ? `r.id = ${bind.add(value)}::uuid` : 'false';
    return compare({ sql: 'r.id::text', type: 'string', caseExact: true }, op, value, bind);
  }
  if (name === 'meta') {
    const sub = r.sub?.name;
    if (sub === 'created') return compare({ sql: 'r.created_at', type: 'dateTime', caseExact: true }, op, value, bind);
    if (sub === 'lastModified')
      return compare({ sql: 'r.updated_at', type: 'dateTime', caseExact: true }, op, value, bind);
    if (sub === 'resourceType')
      return compare({ sql: `'${type.id}'::text`, type: 'string', caseExact: true }, op, value, bind);
    if (sub === 'version')
      return compare({ sql: `('W/"' || r.version || '"')`, type: 'string', caseExact: true }, op, value, bind);
    throw fail(`filtering on "meta${sub ? `.${sub}` : ''}" is not supported`);
  }
  const rel = relation(type, r);
  if (!rel) return undefined;
  const leaf = r.sub ?? r.attr.subAttributes!.find((s) => s.name === 'value')!;
  const exists = `EXISTS (SELECT 1 ${rel.from} AND ${compare(rel.column(leaf), op === 'ne' ? 'eq' : op, value, bind)})`;
  return op === 'ne' ? `(NOT ${exists})` : exists;
}

/**
 * User.groups and Group.members live in the membership table, not in the resource: a query over
 * them joins it (alias m) and the other side (alias o), whose value and display can be compared.
 */
function relation(
  type: ResourceTypeDef,
  r: ResolvedAttr,
): { from: string; column: (sub: AttrDef) => Scalar } | undefined {
  const isRelation =
    (type.id === 'User' && r.attr.name === 'groups') || (type.id === 'Group' && r.attr.name === 'members');
  if (!isRelation) return undefined;
  const [mine, other, table] =
    type.id === 'User' ? ['user_id', 'group_id', 'directory_groups'] : ['group_id', 'user_id', 'directory_users'];
  return {
    from: `FROM directory_memberships m JOIN ${table} o ON o.connection_id = m.connection_id AND o.id = m.${other} WHERE m.connection_id = r.connection_id AND m.${mine} = r.id`,
    column: (sub) => {
      if (sub.name === 'value') return { sql: `m.${other}::text`, type: 'string', caseExact: true };
      if (sub.name === 'display') return { sql: 'o.display_name', type: 'string', caseExact: false };
      if (sub.name === 'type')
        return { sql: `'${type.id === 'User' ? 'direct' : 'User'}'::text`, type: 'string', caseExact: false };
      throw fail(`filtering on "${r.attr.name}.${sub.name}" is not supported`);
    },
  };
}

function present(type: ResourceTypeDef, r: ResolvedAttr): string {
  if (r.attr.name === 'id' || r.attr.name === 'meta') return 'true';
  if ((type.id === 'User' && r.attr.name === 'groups') || (type.id === 'Group' && r.attr.name === 'members')) {
    const col = type.id === 'User' ? 'user_id' : 'group_id';
    return `EXISTS (SELECT 1 FROM directory_memberships m WHERE m.connection_id = r.connection_id AND m.${col} = r.id)`;
  }
  if (r.attr.multiValued) {
    return r.sub
      ? elementsExist(type, r, (el) => nonEmpty(`(${el} ->> '${sqlKey(r.sub!.name)}')`))
      : `(jsonb_array_length(${jsonArray(r)}) > 0)`;
  }
  const s = scalarOf(type, r);
  return s.type === 'complex' ? `(${s.sql} IS NOT NULL)` : nonEmpty(s.sql);
}

const nonEmpty = (sql: string) => `(${sql} IS NOT NULL AND ${sql}::text <> '')`;

/** A single-valued attribute (or sub-attribute) as a scalar SQL expression. */
function scalarOf(type: ResourceTypeDef, r: ResolvedAttr): Scalar {
  const column = !r.extension && !r.sub ? COLUMNS[type.id][r.attr.name] : undefined;
  if (column) return column;
  const keys = [...storageKeys(r), ...(r.sub ? [r.sub.name] : [])];
  const leaf = r.sub ?? r.attr;
  const op = leaf.type === 'complex' ? '#>' : '#>>';
  return { sql: `(r.resource ${op} ${keyPath(keys)})`, type: leaf.type, caseExact: leaf.caseExact };
}

function jsonArray(r: ResolvedAttr): string {
  return `COALESCE(r.resource #> ${keyPath(storageKeys(r))}, '[]'::jsonb)`;
}

function elementsExist(_type: ResourceTypeDef, r: ResolvedAttr, cond: (el: string) => string): string {
  return `EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(${jsonArray(r)}) = 'array' THEN ${jsonArray(r)} ELSE '[]'::jsonb END) AS el(v) WHERE ${cond('el.v')})`;
}

function elementScalar(el: string, sub: AttrDef): Scalar {
  return { sql: `(${el} ->> '${sqlKey(sub.name)}')`, type: sub.type, caseExact: sub.caseExact };
}

/** A filter inside `attr[…]`: its attribute names are the multi-valued attribute's sub-attributes. */
function elementFilter(f: Filter, parent: AttrDef, column: (sub: AttrDef) => Scalar, bind: Bind): string {
  switch (f.op) {
    case 'and':
    case 'or':
      return `(${elementFilter(f.left, parent, column, bind)} ${f.op.toUpperCase()} ${elementFilter(f.right, parent, column, bind)})`;
    case 'not':
      return `(NOT COALESCE(${elementFilter(f.filter, parent, column, bind)}, false))`;
    case 'valuePath':
      throw fail('value filters cannot be nested');
    default: {
      if (f.path.uri || f.path.sub)
        throw fail(`"${f.path.attr}" inside "${parent.name}[…]" must be a plain sub-attribute`);
      const sub = parent.subAttributes!.find((s) => s.name.toLowerCase() === f.path.attr.toLowerCase());
      if (!sub) throw fail(`unknown sub-attribute "${parent.name}.${f.path.attr}"`);
      return f.op === 'pr' ? nonEmpty(column(sub).sql) : compare(column(sub), f.op, f.value, bind);
    }
  }
}

/** One comparison, typed by the attribute's SCIM type. */
function compare(s: Scalar, op: CompareOp, value: FilterValue, bind: Bind): string {
  if (typeof value === 'string' && value.includes('\u0000')) throw fail('values cannot contain the NUL character');
  if (value === null) {
    if (op === 'eq') return `(${s.sql} IS NULL)`;
    if (op === 'ne') return `(${s.sql} IS NOT NULL)`;
    throw fail(`"${op}" cannot compare with null`);
  }
  switch (s.type) {
    case 'boolean': {
      const b =
        typeof value === 'boolean'
          ? value
          : typeof value === 'string' && /^(true|false)$/i.test(value)
            ? value.toLowerCase() === 'true'
            : undefined;
      if (b === undefined)
        throw fail(`a boolean attribute compares only with true or false, not ${JSON.stringify(value)}`);
      if (op === 'eq') return `(${s.sql})::boolean = ${bind.add(b)}::boolean`;
      if (op === 'ne') return `(${s.sql})::boolean IS DISTINCT FROM ${bind.add(b)}::boolean`;
      throw fail(`"${op}" does not apply to boolean attributes`);
    }
    case 'dateTime': {
      const ms = typeof value === 'string' ? Date.parse(value) : NaN;
      if (Number.isNaN(ms)) throw fail(`${JSON.stringify(value)} is not a dateTime`);
      if (['co', 'sw', 'ew'].includes(op)) throw fail(`"${op}" does not apply to dateTime attributes`);
      return `(${s.sql})::timestamptz ${SQL_OPS[op]} ${bind.add(new Date(ms).toISOString())}::timestamptz`;
    }
    case 'integer':
    case 'decimal': {
      if (typeof value !== 'number')
        throw fail(`a numeric attribute compares only with numbers, not ${JSON.stringify(value)}`);
      if (['co', 'sw', 'ew'].includes(op)) throw fail(`"${op}" does not apply to numeric attributes`);
      return `(${s.sql})::numeric ${SQL_OPS[op]} ${bind.add(value)}::numeric`;
    }
    case 'complex':
      throw fail('a complex attribute cannot be compared; name a sub-attribute or use a value filter');
    default: {
      const text = String(value);
      const [lhs, rhs] = s.caseExact ? [s.sql, (p: string) => p] : [`lower(${s.sql})`, (p: string) => `lower(${p})`];
      if (op === 'co' || op === 'sw' || op === 'ew') {
        const pattern = `${op === 'sw' ? '' : '%'}${escapeLike(text)}${op === 'ew' ? '' : '%'}`;
        return `${lhs} LIKE ${rhs(`${bind.add(pattern)}::text`)}`;
      }
      if (op === 'ne') return `${lhs} IS DISTINCT FROM ${rhs(`${bind.add(text)}::text`)}`;
      return `${lhs} ${SQL_OPS[op]} ${rhs(`${bind.add(text)}::text`)}`;
    }
  }
}

const SQL_OPS: Record<CompareOp, string> = {
  eq: '=',
  ne: '<>',
  gt: '>',
  ge: '>=',
  lt: '<',
  le: '<=',
  co: 'LIKE',
  sw: 'LIKE',
  ew: 'LIKE',
};

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** The ORDER BY expression for sortBy (multi-valued: the primary, else first, value). */
export function sortExpression(type: ResourceTypeDef, r: ResolvedAttr): string {
  if (r.attr.name === 'id') return 'r.id';
  if (r.attr.name === 'meta') return r.sub?.name === 'lastModified' ? 'r.updated_at' : 'r.created_at';
  if (r.attr.multiValued) {
    const leaf = sqlKey(r.sub?.name ?? 'value');
    return `(SELECT lower(e ->> '${leaf}') FROM jsonb_array_elements(CASE WHEN jsonb_typeof(${jsonArray(r)}) = 'array' THEN ${jsonArray(r)} ELSE '[]'::jsonb END) e ORDER BY (e ->> 'primary') = 'true' DESC LIMIT 1)`;
  }
  const s = scalarOf(type, r);
  if (s.type === 'complex') throw fail('cannot sort by a complex attribute');
  return s.type === 'string' && !s.caseExact ? `lower(${s.sql})` : s.sql;
}
