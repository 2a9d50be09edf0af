import { holderOf, resolveAttr, type ResolvedAttr } from './attributes';
import { invalidFilter, invalidPath, invalidValue, mutability } from './errors';
import type { Filter } from '../directory/filter';
import type { PatchOperation } from './patchOps';
import { coerce, isObject, parseMembers, type Json, type JsonObject } from './resource';
import { asText } from '../text';
import type { AttrDef, ResourceTypeDef } from './schemas';

/** A change to a group's members, applied in order directly to the membership rows. */
export type MemberOp = { kind: 'removeAll' } | { kind: 'remove'; ids: string[] } | { kind: 'add'; ids: string[] };

/**
 * Applies PATCH operations (RFC 7644 §3.5.2) to a resource, without I/O. Group `members`
 * operations are not applied to the resource: they come back as MemberOps for the store.
 */
export function applyPatch(
  type: ResourceTypeDef,
  original: JsonObject,
  ops: PatchOperation[],
): { resource: JsonObject; memberOps: MemberOp[] } {
  const resource = structuredClone(original);
  const memberOps: MemberOp[] = [];
  for (const op of ops) {
    let r: ResolvedAttr;
    try {
      r = resolveAttr(type, op.path.path, (msg) => invalidPath(`Invalid path: ${msg}`));
    } catch (err) {
      if (op.fromPathless) continue; // unknown attributes in a path-less value are ignored
      throw err;
    }
    if (type.id === 'Group' && r.attr.name === 'members') {
      memberOps.push(...memberOperations(op, r));
      continue;
    }
    if (r.attr.mutability === 'readOnly' || r.sub?.mutability === 'readOnly')
      throw mutability(`"${r.attr.name}" is read-only.`);
    if (r.attr.mutability === 'writeOnly') continue; // a password is never stored
    applyOne(resource, r, op);
  }
  return { resource, memberOps };
}

function applyOne(resource: JsonObject, r: ResolvedAttr, op: PatchOperation): void {
  const name = r.attr.name;
  const removing = op.op === 'remove' || op.value === null;
  const box = holderOf(resource, r, !removing) as JsonObject | undefined;
  if (!box) return;
  if (op.path.filter) return applyFiltered(box, r, op);
  if (!r.sub) {
    if (removing) {
      if (r.attr.required) throw mutability(`"${name}" is required and cannot be removed.`);
      if (r.attr.multiValued && op.op === 'remove' && op.value !== undefined && Array.isArray(box[name])) {
        const drop = (coerce(r.attr, op.value, name) as Json[] | undefined) ?? [];
        box[name] = box[name].filter((el) => !drop.some((d) => sameElement(el, d)));
        if (box[name].length === 0) delete box[name];
      } else {
        delete box[name];
      }
      return;
    }
    const value = coerce(r.attr, unwrapSingle(r.attr, op.value), name);
    if (value === undefined) return;
    if (r.attr.multiValued && op.op === 'add' && Array.isArray(box[name])) {
      const list = box[name];
      if ((value as Json[]).some((v) => isObject(v) && v.primary === true)) demotePrimaries(list);
      for (const v of value as Json[]) if (!list.some((el) => sameElement(el, v))) list.push(v);
    } else if (r.attr.type === 'complex' && !r.attr.multiValued && isObject(box[name])) {
      Object.assign(box[name], value as JsonObject);
    } else {
      box[name] = value;
    }
    return;
  }
  // A sub-attribute: name.givenName, or every element's sub-attribute of a multi-valued attribute.
  const sub = r.sub;
  if (r.attr.multiValued) {
    const list = Array.isArray(box[name]) ? (box[name] as JsonObject[]) : [];
    if (removing) list.forEach((el) => delete el[sub.name]);
    else if (list.length === 0) box[name] = [{ [sub.name]: coerce(sub, op.value, `${name}.${sub.name}`) ?? null }];
    else list.forEach((el) => (el[sub.name] = coerce(sub, op.value, `${name}.${sub.name}`) ?? null));
    return;
  }
  const obj = isObject(box[name]) ? box[name] : {};
  if (removing) delete obj[sub.name];
  else {
    const v = coerce(sub, unwrapSingle(sub, op.value), `${name}.${sub.name}`);
    if (v !== undefined) obj[sub.name] = v;
  }
  if (Object.keys(obj).length) box[name] = obj;
  else delete box[name];
}

/** `emails[type eq "work"]` and `emails[type eq "work"].value`. */
function applyFiltered(box: JsonObject, r: ResolvedAttr, op: PatchOperation): void {
  const { filter, subAfterFilter } = op.path;
  if (!r.attr.multiValued || r.attr.type !== 'complex')
    throw invalidPath(`"${r.attr.name}" is not a multi-valued complex attribute; it takes no value filter.`);
  const sub = subAfterFilter
    ? r.attr.subAttributes!.find((s) => s.name.toLowerCase() === subAfterFilter.toLowerCase())
    : undefined;
  if (subAfterFilter && !sub) throw invalidPath(`unknown sub-attribute "${r.attr.name}.${subAfterFilter}"`);
  const list = Array.isArray(box[r.attr.name]) ? (box[r.attr.name] as JsonObject[]) : [];
  const matches = list.filter((el) => matchesElement(filter!, el, r.attr));
  if (op.op === 'remove' || op.value === null) {
    if (sub) matches.forEach((el) => delete el[sub.name]);
    const kept = sub ? list : list.filter((el) => !matches.includes(el));
    if (kept.length) box[r.attr.name] = kept;
    else delete box[r.attr.name];
    return;
  }
  const patchValue = sub ? { [sub.name]: op.value } : op.value;
  if (!isObject(patchValue))
    throw invalidValue(`The value for "${r.attr.name}[…]" must be an object of sub-attributes.`);
  const coerced = (coerce({ ...r.attr, multiValued: false }, patchValue, r.attr.name) ?? {}) as JsonObject;
  if (matches.length === 0) {
    // Entra adds with a filter path when no such element exists yet: create it from the filter.
    if (coerced.primary === true) demotePrimaries(list);
    list.push({ ...equalities(filter!), ...coerced });
    box[r.attr.name] = list;
    return;
  }
  if (coerced.primary === true) demotePrimaries(list);
  matches.forEach((el) => Object.assign(el, coerced));
}

/** A new primary value takes the role from the old one (RFC 7643 §2.4: at most one primary). */
function demotePrimaries(list: Json[]): void {
  for (const el of list) if (isObject(el) && el.primary === true) el.primary = false;
}

/** The `sub eq value` conditions of an and-filter, as an element's fields. */
function equalities(f: Filter): JsonObject {
  if (f.op === 'and') return { ...equalities(f.left), ...equalities(f.right) };
  if (f.op === 'eq' && !f.path.uri && !f.path.sub && f.value !== null) return { [f.path.attr]: f.value };
  return {};
}

/** Evaluates a value filter against one element of a multi-valued attribute. */
export function matchesElement(f: Filter, el: JsonObject, parent: AttrDef): boolean {
  switch (f.op) {
    case 'and':
      return matchesElement(f.left, el, parent) && matchesElement(f.right, el, parent);
    case 'or':
      return matchesElement(f.left, el, parent) || matchesElement(f.right, el, parent);
    case 'not':
      return !matchesElement(f.filter, el, parent);
    case 'valuePath':
      throw invalidFilter('Invalid filter: value filters cannot be nested');
    default: {
      const def = parent.subAttributes!.find((s) => s.name.toLowerCase() === f.path.attr.toLowerCase());
      if (!def || f.path.sub || f.path.uri)
        throw invalidPath(`Invalid path: unknown sub-attribute "${parent.name}.${f.path.attr}"`);
      const actual = el[def.name];
      if (f.op === 'pr') return actual !== undefined && actual !== null && actual !== '';
      return compareValues(actual, f.op, f.value, def);
    }
  }
}

function compareValues(actual: unknown, op: string, expected: unknown, def: AttrDef): boolean {
  if (expected === null)
    return op === 'eq' ? actual === undefined || actual === null : actual !== undefined && actual !== null;
  if (actual === undefined || actual === null) return op === 'ne';
  if (def.type === 'boolean') {
    const e = typeof expected === 'string' ? expected.toLowerCase() === 'true' : expected === true;
    return op === 'eq' ? actual === e : op === 'ne' ? actual !== e : false;
  }
  const norm = (v: unknown) => (typeof v === 'string' && !def.caseExact ? v.toLowerCase() : v);
  const a = norm(actual) as string | number;
  const e = norm(typeof actual === 'number' ? Number(expected) : asText(expected)) as string | number;
  switch (op) {
    case 'eq':
      return a === e;
    case 'ne':
      return a !== e;
    case 'co':
      return String(a).includes(String(e));
    case 'sw':
      return String(a).startsWith(String(e));
    case 'ew':
      return String(a).endsWith(String(e));
    case 'gt':
      return a > e;
    case 'ge':
      return a >= e;
    case 'lt':
      return a < e;
    case 'le':
      return a <= e;
    default:
      return false;
  }
}

/** Group members: add, remove (all, these, or `members[value eq "…"]`), replace. */
function memberOperations(op: PatchOperation, r: ResolvedAttr): MemberOp[] {
  if (r.sub) throw invalidPath('Member sub-attributes cannot be changed; add or remove the member.');
  if (op.path.filter) {
    if (op.op !== 'remove') throw invalidPath('A member filter path is supported for remove only.');
    return [{ kind: 'remove', ids: memberFilterIds(op.path.filter) }];
  }
  if (op.op === 'add') return [{ kind: 'add', ids: parseMembers(op.value) }];
  if (op.op === 'replace') return [{ kind: 'removeAll' }, { kind: 'add', ids: parseMembers(op.value) }];
  // Entra's legacy dialect removes the listed members with path "members" and a value list.
  return op.value === undefined || op.value === null
    ? [{ kind: 'removeAll' }]
    : [{ kind: 'remove', ids: parseMembers(op.value) }];
}

function memberFilterIds(f: Filter): string[] {
  if (f.op === 'or') return [...memberFilterIds(f.left), ...memberFilterIds(f.right)];
  if (f.op === 'eq' && f.path.attr.toLowerCase() === 'value' && !f.path.sub && typeof f.value === 'string')
    return [f.value];
  throw invalidFilter('Invalid filter: members can be selected by `value eq "<id>"` (joined with or) only.');
}

/** Single-valued attributes sometimes arrive wrapped in a one-element array. */
function unwrapSingle(def: AttrDef, value: unknown): unknown {
  return !def.multiValued && Array.isArray(value) && value.length === 1 ? value[0] : value;
}

function sameElement(a: Json, b: Json): boolean {
  if (isObject(a) && isObject(b) && 'value' in a && 'value' in b) {
    return asText(a.value).toLowerCase() === asText(b.value).toLowerCase() && (a.type ?? null) === (b.type ?? null);
  }
  return JSON.stringify(a) === JSON.stringify(b);
}
