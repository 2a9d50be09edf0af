import { invalidSyntax, invalidValue } from './errors';
import { COMMON_ATTRIBUTES, findAttr, findSchema, type AttrDef, type ResourceTypeDef } from './schemas';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** A resource as a client sent it, cleaned and typed by the schema, ready to store. */
export interface NormalizedResource {
  resource: JsonObject;
  /** Group members' user IDs when the body had `members` (undefined when absent). */
  members?: string[];
}

export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Cleans a User or Group body: attribute names to their canonical case, values coerced by the
 * schema (`"False"` → false), read-only and write-only attributes dropped (a password is never
 * stored), unknown core attributes ignored, extension objects kept. Required attributes must be there.
 */
export function normalizeResource(type: ResourceTypeDef, body: unknown): NormalizedResource {
  if (!isObject(body)) throw invalidSyntax('The request body must be a JSON object.');
  const resource: JsonObject = {};
  let members: string[] | undefined;
  for (const [key, value] of Object.entries(body)) {
    const lower = key.toLowerCase();
    if (lower === 'schemas') {
      if (value !== undefined && value !== null && (!Array.isArray(value) || value.some((s) => typeof s !== 'string')))
        throw invalidSyntax('"schemas" must be an array of strings.');
      continue;
    }
    if (type.id === 'Group' && lower === 'members') {
      members = parseMembers(value);
      continue;
    }
    if (lower.startsWith('urn:')) {
      putUrnKey(type, resource, key, value);
      continue;
    }
    const def = findAttr(COMMON_ATTRIBUTES, key) ?? findAttr(type.core.attributes, key);
    if (!def) continue; // unknown core attributes are ignored, as clients send extras
    const coerced = coerce(def, value, def.name);
    if (coerced !== undefined) resource[def.name] = coerced;
  }
  // Postgres cannot store NUL, nor jsonb half a UTF-16 surrogate pair; say so instead of failing at the database.
  const bad = unstorableText(resource);
  if (bad) throw invalidValue(bad);
  for (const def of type.core.attributes) {
    if (def.required && (typeof resource[def.name] !== 'string' || (resource[def.name] as string).trim() === '')) {
      throw invalidValue(`"${def.name}" is required.`);
    }
  }
  if (members?.some((m) => m.includes('\u0000'))) throw invalidValue('Values cannot contain the NUL character.');
  return { resource, members };
}

/** `urn:…:Schema` objects and `urn:…:Schema:attr` keys; other URNs (custom extensions) are kept as sent. */
function putUrnKey(type: ResourceTypeDef, resource: JsonObject, key: string, value: unknown): void {
  const schema = findSchema(type, key);
  if (schema) {
    if (value === null || value === undefined) return;
    if (!isObject(value)) throw invalidValue(`"${key}" must be an object.`);
    const target: JsonObject =
      schema === type.core ? resource : ((resource[schema.id] as JsonObject | undefined) ?? {});
    for (const [k, v] of Object.entries(value)) {
      const def = findAttr(schema.attributes, k);
      const c = def ? coerce(def, v, `${schema.id}:${def.name}`) : undefined;
      if (def && c !== undefined) target[def.name] = c;
    }
    if (schema !== type.core && Object.keys(target).length > 0) resource[schema.id] = target;
    return;
  }
  const cut = key.lastIndexOf(':');
  const owner = findSchema(type, key.slice(0, cut));
  if (owner) {
    putUrnKey(type, resource, owner.id, { [key.slice(cut + 1)]: value });
    return;
  }
  if (isObject(value)) resource[key] = value as JsonObject; // a custom extension: kept for attribute mapping
}

/** Member ids from a members value: one member or a list, each `{value: id}` or the bare id. */
export function parseMembers(value: unknown): string[] {
  if (value === null || value === undefined) return [];
  const list: unknown[] = Array.isArray(value) ? value : [value];
  return list.map((m) => {
    const id = isObject(m) ? m.value : m;
    if (typeof id !== 'string' || !id) throw invalidValue('Each member needs a "value" with the member\'s id.');
    return id;
  });
}

/** Coerces a value to an attribute's type; undefined means "not set" (null, read-only, write-only). */
export function coerce(def: AttrDef, value: unknown, where: string): Json | undefined {
  if (value === null || value === undefined) return undefined;
  if (def.mutability === 'readOnly' || def.mutability === 'writeOnly') return undefined;
  if (def.multiValued) {
    const list = (Array.isArray(value) ? value : [value])
      .map((v) => coerceOne(def, v, where))
      .filter((v): v is Json => v !== undefined);
    if (list.length === 0) return undefined;
    return onePrimary(list);
  }
  return coerceOne(def, value, where);
}

function coerceOne(def: AttrDef, value: unknown, where: string): Json | undefined {
  if (value === null || value === undefined) return undefined;
  if (def.type === 'complex') {
    // Entra sends manager as a bare string: read it as the value sub-attribute.
    if (!isObject(value)) {
      if (typeof value === 'string' && findAttr(def.subAttributes, 'value')) return { value };
      throw invalidValue(`"${where}" must be an object.`);
    }
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(value)) {
      const sub = findAttr(def.subAttributes, k);
      const c = sub ? coerce(sub, v, `${where}.${sub.name}`) : undefined;
      if (sub && c !== undefined) out[sub.name] = c;
    }
    return Object.keys(out).length ? out : undefined;
  }
  return coerceSimple(def, value, where);
}

/** Coerces a simple (non-complex) value by its SCIM type. */
export function coerceSimple(def: AttrDef, value: unknown, where: string): Json {
  switch (def.type) {
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (typeof value === 'string' && /^(true|false)$/i.test(value.trim()))
        return value.trim().toLowerCase() === 'true';
      throw invalidValue(`"${where}" must be a boolean, not ${JSON.stringify(value)}.`);
    case 'integer':
    case 'decimal': {
      const n =
        typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
      if (!Number.isFinite(n) || (def.type === 'integer' && !Number.isInteger(n)))
        throw invalidValue(`"${where}" must be ${def.type === 'integer' ? 'an integer' : 'a number'}.`);
      return n;
    }
    case 'dateTime':
      if (typeof value !== 'string' || Number.isNaN(Date.parse(value)))
        throw invalidValue(`"${where}" must be an xsd:dateTime string.`);
      return value;
    default:
      // RFC 7643 §2.3.1: a string is a JSON string; 42 or true where one belongs is refused, never stored as "42".
      if (typeof value === 'string') return value;
      throw invalidValue(`"${where}" must be a string, not ${JSON.stringify(value)}.`);
  }
}

/** At most one element of a multi-valued attribute may be primary (RFC 7643 §2.4). */
function onePrimary(list: Json[]): Json[] {
  let seen = false;
  return list.map((v) => {
    if (!isObject(v) || v.primary !== true) return v;
    if (!seen) {
      seen = true;
      return v;
    }
    return { ...v, primary: false };
  });
}

/** The primary (else first) value of a multi-valued attribute, e.g. the user's email. */
export function primaryValue(list: Json | undefined): string | null {
  if (!Array.isArray(list)) return null;
  const el = list.find((v) => isObject(v) && v.primary === true) ?? list[0];
  return isObject(el) && typeof el.value === 'string' ? el.value : null;
}

/**
 * The longest userName, externalId, display name or primary email taken (in characters): these are
 * indexed, and a Postgres index entry holds at most about 2.7 kB (512 characters of up to 4 bytes
 * fit). Jira's own limit for names and emails is 255.
 */
export const MAX_INDEXED_LENGTH = 512;

/** The fields that are indexed, each checked against MAX_INDEXED_LENGTH (400 invalidValue when longer). */
export function checkIndexedLengths<T extends Record<string, unknown>>(fields: T): T {
  for (const [name, value] of Object.entries(fields))
    if (typeof value === 'string' && value.length > MAX_INDEXED_LENGTH)
      throw invalidValue(`"${name}" is ${value.length} characters long; at most ${MAX_INDEXED_LENGTH} are taken.`);
  return fields;
}

/** A lone UTF-16 surrogate: half of a character, which is not text (no UTF-8 encoding exists for it). */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why a value cannot be stored as text (a NUL, a lone surrogate, in any string or key), or undefined. */
export function unstorableText(value: unknown): string | undefined {
  if (typeof value === 'string') {
    if (value.includes('\u0000')) return 'Values cannot contain the NUL character.';
    if (LONE_SURROGATE.test(value)) return 'Values must be well-formed Unicode text (a lone UTF-16 surrogate is not).';
    return undefined;
  }
  if (Array.isArray(value)) {
    for (const v of value) {
      const bad = unstorableText(v);
      if (bad) return bad;
    }
  } else if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) {
      const bad = unstorableText(k) ?? unstorableText(v);
      if (bad) return bad;
    }
  return undefined;
}
