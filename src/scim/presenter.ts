import type { DirectoryGroup, DirectoryUser, MemberRef } from '../directory/types';
import { holderOf, resolveAttr, type ResolvedAttr } from './attributes';
import { parseAttrPath } from '../directory/filter';
import { isObject, type JsonObject } from './resource';
import { ENTERPRISE_SCHEMA, GROUP_SCHEMA, GROUP_TYPE, USER_SCHEMA, USER_TYPE, type ResourceTypeDef } from './schemas';

/** The weak ETag of a resource version. */
export const etag = (version: number) => `W/"${version}"`;

const urnKeys = (resource: Record<string, unknown>) =>
  Object.keys(resource).filter((k) => k.toLowerCase().startsWith('urn:'));

/** A directory user as a SCIM User (core + extensions present, groups when given, meta). */
export function presentUser(u: DirectoryUser, baseUrl: string, groups?: MemberRef[]): JsonObject {
  const { userName: _u, externalId: _e, active: _a, ...rest } = u.resource;
  const extensions = urnKeys(u.resource);
  return {
    schemas: [
      USER_SCHEMA,
      ...extensions.filter((k) => k === ENTERPRISE_SCHEMA),
      ...extensions.filter((k) => k !== ENTERPRISE_SCHEMA),
    ],
    id: u.id,
    ...(u.externalId !== null ? { externalId: u.externalId } : {}),
    userName: u.userName,
    ...(rest as JsonObject),
    active: u.active,
    ...(groups
      ? {
          groups: groups.map((g) => ({
            value: g.id,
            display: g.display,
            $ref: `${baseUrl}/Groups/${g.id}`,
            type: 'direct',
          })),
        }
      : {}),
    meta: {
      resourceType: 'User',
      created: u.createdAt.toISOString(),
      lastModified: u.updatedAt.toISOString(),
      location: `${baseUrl}/Users/${u.id}`,
      version: etag(u.version),
    },
  };
}

/** A directory group as a SCIM Group (members when given). */
export function presentGroup(g: DirectoryGroup, baseUrl: string, members?: MemberRef[]): JsonObject {
  const { displayName: _d, externalId: _e, ...rest } = g.resource;
  return {
    schemas: [GROUP_SCHEMA, ...urnKeys(g.resource)],
    id: g.id,
    ...(g.externalId !== null ? { externalId: g.externalId } : {}),
    displayName: g.displayName,
    ...(rest as JsonObject),
    ...(members
      ? {
          members: members.map((m) => ({
            value: m.id,
            display: m.display,
            $ref: `${baseUrl}/Users/${m.id}`,
            type: 'User',
          })),
        }
      : {}),
    meta: {
      resourceType: 'Group',
      created: g.createdAt.toISOString(),
      lastModified: g.updatedAt.toISOString(),
      location: `${baseUrl}/Groups/${g.id}`,
      version: etag(g.version),
    },
  };
}

/** What the attributes / excludedAttributes parameters ask for, resolved against the schemas. */
export interface Projection {
  include?: ResolvedAttr[];
  exclude?: ResolvedAttr[];
}

/**
 * Reads `attributes` / `excludedAttributes` (comma-separated, case-insensitive, URN-qualified or
 * not; a value filter such as `emails[type eq "work"]` is read as its attribute). Unknown names are ignored.
 */
export function parseProjection(type: ResourceTypeDef, attributes?: string, excluded?: string): Projection {
  const read = (list?: string) =>
    list === undefined
      ? undefined
      : list
          .split(',')
          .map((s) => s.replace(/\[.*\]/, '').trim())
          .filter(Boolean)
          .flatMap((s) => {
            try {
              return [
                resolveAttr(
                  type,
                  parseAttrPath(s, (m) => new Error(m)),
                  (m) => new Error(m),
                ),
              ];
            } catch {
              return [];
            }
          });
  return { include: read(attributes), exclude: read(excluded) };
}

/** True when the projection leaves out an attribute (so it need not be loaded, e.g. members). */
export function excludes(p: Projection, name: string): boolean {
  if (p.include) return !p.include.some((r) => r.attr.name === name);
  return Boolean(p.exclude?.some((r) => r.attr.name === name && !r.sub));
}

/** Applies a projection to a presented resource; `id` and `schemas` are always returned. */
export function project(resource: JsonObject, p: Projection): JsonObject {
  if (p.include) {
    const out: JsonObject = { schemas: resource.schemas, id: resource.id };
    for (const r of p.include) copyAttr(resource, out, r);
    return out;
  }
  if (p.exclude?.length) {
    const out = structuredClone(resource);
    for (const r of p.exclude) if (r.attr.name !== 'id') removeAttr(out, r);
    return out;
  }
  return resource;
}

function copyAttr(from: JsonObject, to: JsonObject, r: ResolvedAttr): void {
  const src = holderOf(from, r, false);
  const value = src?.[r.attr.name];
  if (value === undefined) return;
  const dst = holderOf(to, r, true)!;
  if (!r.sub) {
    dst[r.attr.name] = value;
  } else if (Array.isArray(value)) {
    dst[r.attr.name] = value.map((el) => (isObject(el) && r.sub!.name in el ? { [r.sub!.name]: el[r.sub!.name] } : {}));
  } else if (isObject(value) && r.sub.name in value) {
    const existing = dst[r.attr.name];
    dst[r.attr.name] = { ...(isObject(existing) ? existing : {}), [r.sub.name]: value[r.sub.name] };
  }
}

function removeAttr(obj: JsonObject, r: ResolvedAttr): void {
  const box = holderOf(obj, r, false);
  if (!box || !(r.attr.name in box)) return;
  if (!r.sub) {
    delete box[r.attr.name];
    return;
  }
  const value = box[r.attr.name];
  for (const el of Array.isArray(value) ? value : [value]) if (isObject(el)) delete el[r.sub.name];
}

export { GROUP_TYPE, USER_TYPE };
