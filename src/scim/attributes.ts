import type { AttrPath } from '../directory/filter';
import { COMMON_ATTRIBUTES, findAttr, findSchema, type AttrDef, type ResourceTypeDef, type SchemaDef } from './schemas';

/** An attribute path resolved against a resource type's schemas, with canonical names. */
export interface ResolvedAttr {
  /** The schema holding the attribute; undefined for the common attributes (id, externalId, meta). */
  schema?: SchemaDef;
  /** True when the attribute lives in an extension schema (stored under its URN). */
  extension: boolean;
  attr: AttrDef;
  sub?: AttrDef;
}

/**
 * Resolves `name.sub` or `urn:…:name.sub` case-insensitively. Unqualified names are looked up in
 * the common attributes, then the core schema, then the extensions (clients send `manager` alone).
 */
export function resolveAttr(type: ResourceTypeDef, path: AttrPath, fail: (msg: string) => Error): ResolvedAttr {
  let schema: SchemaDef | undefined;
  let attr: AttrDef | undefined;
  if (path.uri) {
    schema = findSchema(type, path.uri);
    if (!schema) throw fail(`unknown schema "${path.uri}"`);
    attr = findAttr(schema.attributes, path.attr);
  } else {
    attr = findAttr(COMMON_ATTRIBUTES, path.attr);
    if (!attr) {
      for (const s of [type.core, ...type.extensions]) {
        attr = findAttr(s.attributes, path.attr);
        if (attr) {
          schema = s;
          break;
        }
      }
    }
  }
  if (!attr) throw fail(`unknown attribute "${path.uri ? `${path.uri}:` : ''}${path.attr}"`);
  let sub: AttrDef | undefined;
  if (path.sub) {
    sub = findAttr(attr.subAttributes, path.sub);
    if (!sub) throw fail(`unknown sub-attribute "${attr.name}.${path.sub}"`);
  }
  return { schema, extension: schema !== undefined && schema !== type.core, attr, sub };
}

/** The JSON keys under which a resolved attribute is stored in a resource. */
export function storageKeys(r: ResolvedAttr): string[] {
  return r.extension ? [r.schema!.id, r.attr.name] : [r.attr.name];
}

/**
 * The object an attribute lives in: the resource itself, or its extension's object (created when
 * `create` is set, else undefined when absent).
 */
export function holderOf(
  resource: Record<string, unknown>,
  r: ResolvedAttr,
  create: boolean,
): Record<string, unknown> | undefined {
  if (!r.extension) return resource;
  const key = r.schema!.id;
  const current = resource[key];
  if (typeof current === 'object' && current !== null && !Array.isArray(current))
    return current as Record<string, unknown>;
  if (!create) return undefined;
  const created: Record<string, unknown> = {};
  resource[key] = created;
  return created;
}
