import { parsePatchPath, type Filter } from '../../directory/filter';

type Json = unknown;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A key of an object, matched case-insensitively (SCIM attribute names are). */
function pick(obj: Record<string, unknown>, key: string): unknown {
  if (key in obj) return obj[key];
  const k = Object.keys(obj).find((x) => x.toLowerCase() === key.toLowerCase());
  return k === undefined ? undefined : obj[k];
}

function scalar(v: Json): string | undefined {
  if (typeof v === 'string') return v.trim() === '' ? undefined : v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (isObject(v) && 'value' in v) return scalar(v.value);
  return undefined;
}

function matches(f: Filter, el: Record<string, unknown>): boolean {
  switch (f.op) {
    case 'and':
      return matches(f.left, el) && matches(f.right, el);
    case 'or':
      return matches(f.left, el) || matches(f.right, el);
    case 'not':
      return !matches(f.filter, el);
    case 'pr':
      return pick(el, f.path.attr) !== undefined && pick(el, f.path.attr) !== null;
    case 'eq':
      return (
        String((pick(el, f.path.attr) as string | undefined) ?? '').toLowerCase() ===
        String(f.value ?? '').toLowerCase()
      );
    case 'ne':
      return (
        String((pick(el, f.path.attr) as string | undefined) ?? '').toLowerCase() !==
        String(f.value ?? '').toLowerCase()
      );
    default:
      return false;
  }
}

/**
 * Reads one value from an IdP resource by an attribute path: `userName`, `name.givenName`,
 * `emails[primary]` (the primary, else first, value), `emails[type eq "work"].value`,
 * `urn:…:enterprise:2.0:User:department`. Undefined when absent or not a single value.
 */
export function readAttribute(resource: Record<string, unknown>, path: string): string | undefined {
  if (path.endsWith('[primary]')) {
    const list = readRaw(resource, path.slice(0, -'[primary]'.length));
    if (!Array.isArray(list)) return scalar(list);
    const el: unknown = list.find((x) => isObject(x) && x.primary === true) ?? list[0];
    return scalar(el);
  }
  let parsed;
  try {
    parsed = parsePatchPath(path);
  } catch {
    return undefined;
  }
  const { path: p, filter, subAfterFilter } = parsed;
  let value = readRaw(resource, p.uri ? `${p.uri}:${p.attr}` : p.attr);
  if (filter) {
    if (!Array.isArray(value)) return undefined;
    value = value.find((el) => isObject(el) && matches(filter, el));
    if (subAfterFilter) value = isObject(value) ? pick(value, subAfterFilter) : undefined;
  }
  if (p.sub) {
    if (Array.isArray(value))
      value = value.map((el) => (isObject(el) ? pick(el, p.sub!) : undefined)).find((x) => x !== undefined);
    else value = isObject(value) ? pick(value, p.sub) : undefined;
  }
  return Array.isArray(value) ? scalar(value[0]) : scalar(value);
}

/** The raw value of `attr` or `urn:…:attr` (extension attributes live under their schema URN). */
function readRaw(resource: Record<string, unknown>, name: string): unknown {
  if (!/^urn:/i.test(name)) return pick(resource, name);
  const cut = name.lastIndexOf(':');
  const ext = pick(resource, name.slice(0, cut));
  return isObject(ext) ? pick(ext, name.slice(cut + 1)) : undefined;
}

/** The top-level key of a resource that an attribute path reads (`emails[primary]` → `emails`, `urn:…:User:manager.value` → `urn:…:User`). */
export function topLevelKey(path: string): string {
  const head = path.split('[')[0];
  if (/^urn:/i.test(head)) return head.slice(0, head.lastIndexOf(':'));
  return head.split('.')[0];
}
