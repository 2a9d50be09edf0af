import type { PulledGroup, PulledUser } from '../../directory/pulled';
import { nameUuid } from '../nameUuid';
import type { GoogleGroup, GoogleUser } from './client';
import type { GoogleSettings } from './settings';

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
/** The namespace of the store's ids for Google's objects (a name-based UUID, RFC 9562 version 5). */
const NAMESPACE = Buffer.from('6f1c2b0e8e4a4d4f9a51c3d0e7b2a9f4', 'hex');

/**
 * The directory store's id of a Google user or group: a UUID derived from Google's immutable id
 * (the store keys everything by UUID), so the same object always has the same row, whatever its
 * email or name becomes.
 */
export function storeId(kind: 'user' | 'group', googleId: string): string {
  return nameUuid(NAMESPACE, `${kind}:${googleId}`);
}

type Obj = Record<string, unknown>;

/** The user's employee ID (`externalIds` of type organization), if it has one. */
export function employeeIdOf(u: GoogleUser): string | undefined {
  const ids = (u.externalIds ?? []) as Array<{ type?: string; value?: string }>;
  return ids.find((e) => e.type === 'organization' && e.value)?.value;
}

/**
 * A Google user as the directory stores it: Google's fields as they are (kind and etag dropped),
 * plus SCIM's names so one attribute mapping serves every source — userName (the primary email, or
 * the employee ID when chosen and present), emails (the primary one; aliases are never a second
 * user, they stay in `aliases`), name, title and department from the primary organization, the
 * employee number, and each custom schema at the top level (`EmployeeData.costCenter`). Suspended
 * or archived is inactive.
 */
export function toPulledUser(u: GoogleUser, s: GoogleSettings): PulledUser {
  const { kind: _kind, etag: _etag, customSchemas, ...google } = u as Obj & { customSchemas?: Obj };
  const primaryEmail = String(u.primaryEmail);
  const employeeId = employeeIdOf(u);
  const userName = s.usernameAttribute === 'employeeId' && employeeId ? employeeId : primaryEmail;
  const orgs = (u.organizations ?? []) as Array<{ title?: string; department?: string; primary?: boolean }>;
  const org = orgs.find((o) => o.primary) ?? orgs[0];
  const displayName = u.name?.fullName ?? null;
  const active = !u.suspended && !u.archived;
  const custom: Obj = {};
  for (const [schema, fields] of Object.entries(customSchemas ?? {}))
    if (!(schema in google) && !['userName', 'emails', 'name', 'title', 'active', 'displayName'].includes(schema))
      custom[schema] = fields;
  return {
    id: storeId('user', String(u.id)),
    userName,
    email: primaryEmail,
    displayName,
    active,
    externalId: String(u.id),
    resource: {
      ...google,
      ...custom,
      googleId: u.id,
      userName,
      displayName,
      active,
      emails: [{ value: primaryEmail, primary: true, type: 'work' }],
      name: { givenName: u.name?.givenName ?? null, familyName: u.name?.familyName ?? null },
      ...(org?.title ? { title: org.title } : {}),
      [ENTERPRISE]: {
        ...(org?.department ? { department: org.department } : {}),
        ...(employeeId ? { employeeNumber: employeeId } : {}),
      },
    },
  };
}

/** A Google group as the directory stores it: named by its name or its email, as the connection chooses. */
export function toPulledGroup(g: GoogleGroup, s: GoogleSettings): PulledGroup {
  const { kind: _kind, etag: _etag, directMembersCount: _count, ...google } = g as Obj;
  const displayName = String(s.groupName === 'email' ? g.email : g.name);
  return {
    id: storeId('group', String(g.id)),
    displayName,
    resource: { ...google, googleId: g.id, displayName, description: g.description ?? null },
  };
}

/** Whether a user is in the connection's organizational units (a scope of units; any other scope: yes). */
export function inOrgUnits(u: GoogleUser, s: GoogleSettings): boolean {
  if (s.scope.kind !== 'orgUnits') return true;
  const path = String(u.orgUnitPath ?? '/').toLowerCase();
  const { includeSubUnits } = s.scope;
  return s.scope.paths.some((p) => {
    const unit = p.toLowerCase();
    return path === unit || (includeSubUnits && (unit === '/' || path.startsWith(`${unit}/`)));
  });
}

/** users.list's parameters for a connection: its query, and the custom schemas it reads. */
export function userListParams(s: GoogleSettings): { query?: string; projection: string; customFieldMask?: string } {
  return {
    ...(s.userQuery ? { query: s.userQuery } : {}),
    ...(s.customSchemas.length
      ? { projection: 'custom', customFieldMask: s.customSchemas.join(',') }
      : { projection: 'basic' }),
  };
}

/** users.get's parameters: the custom schemas read (users.list's query does not apply to a get). */
export function userGetParams(s: GoogleSettings): { projection: string; customFieldMask?: string } {
  const { query: _query, ...params } = userListParams(s);
  return params;
}
