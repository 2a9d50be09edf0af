import { invalidSyntax, invalidValue, mutability, noTarget } from './errors';
import { parseAttrPath, parsePatchPath, type PatchPath } from '../directory/filter';
import { isObject } from './resource';
import { findSchema, type ResourceTypeDef } from './schemas';
import { invalidPath } from './errors';

export type PatchOpName = 'add' | 'replace' | 'remove';

/** One PATCH operation after normalisation: lower-case op, parsed path (absent only for whole-resource values). */
export interface PatchOperation {
  op: PatchOpName;
  path: PatchPath;
  value?: unknown;
  /** True when this came from a path-less value (its keys were attribute names). */
  fromPathless: boolean;
}

const MAX_OPERATIONS = 1000;

/**
 * Reads a PatchOp body the way real clients send it: `Operations` in any case, op names in any
 * case (Entra: "Replace"), path-less values whose keys are dotted (`name.givenName`),
 * URN-qualified (`urn:…:User:employeeNumber`) or whole extension objects; each becomes one
 * operation with a path. Okta's rename sends the group's own `id` along: it is ignored when it matches.
 */
export function normalizePatch(type: ResourceTypeDef, body: unknown, resourceId: string): PatchOperation[] {
  if (!isObject(body)) throw invalidSyntax('The PATCH body must be a JSON object.');
  const key = Object.keys(body).find((k) => k.toLowerCase() === 'operations');
  const ops = key ? body[key] : undefined;
  if (!Array.isArray(ops) || ops.length === 0)
    throw invalidSyntax('The PATCH body needs a non-empty "Operations" array.');
  if (ops.length > MAX_OPERATIONS) throw invalidSyntax(`At most ${MAX_OPERATIONS} operations per request.`);
  const out: PatchOperation[] = [];
  for (const raw of ops) {
    if (!isObject(raw)) throw invalidSyntax('Each operation must be an object.');
    const entries = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k.toLowerCase(), v]));
    const op = typeof entries.op === 'string' ? entries.op.toLowerCase() : '';
    if (op !== 'add' && op !== 'replace' && op !== 'remove')
      throw invalidSyntax(`Unknown operation "${String(entries.op)}": use add, replace or remove.`);
    const path = entries.path;
    if (path !== undefined && path !== null && (typeof path !== 'string' || path.trim() === ''))
      throw invalidPath('"path" must be a non-empty string.');
    if (typeof path === 'string') {
      out.push({ op, path: parsePatchPath(path, invalidPath), value: entries.value, fromPathless: false });
      continue;
    }
    if (op === 'remove') throw noTarget('A remove operation needs a "path".');
    out.push(...expandPathless(type, op, entries.value, resourceId));
  }
  return out;
}

function expandPathless(type: ResourceTypeDef, op: PatchOpName, value: unknown, resourceId: string): PatchOperation[] {
  if (!isObject(value)) throw invalidValue('An operation without "path" needs an object "value" of attributes.');
  const out: PatchOperation[] = [];
  const fail = (msg: string) => invalidPath(`Invalid attribute in value: ${msg}`);
  for (const [key, v] of Object.entries(value)) {
    const lower = key.toLowerCase();
    if (lower === 'schemas' || lower === 'meta') continue;
    if (lower === 'id') {
      if (v !== resourceId) throw mutability('"id" cannot be changed.');
      continue;
    }
    const schema = lower.startsWith('urn:') ? findSchema(type, key) : undefined;
    if (schema && isObject(v)) {
      for (const [k, sv] of Object.entries(v))
        out.push({ op, path: { path: { ...parseAttrPath(k, fail), uri: schema.id } }, value: sv, fromPathless: true });
      continue;
    }
    let path;
    try {
      path = parseAttrPath(key, fail);
    } catch {
      continue; // a key that is no attribute path at all is ignored, as unknown attributes are on create
    }
    out.push({ op, path: { path }, value: v, fromPathless: true });
  }
  return out;
}
