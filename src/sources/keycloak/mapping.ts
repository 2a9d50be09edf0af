import type { PulledGroup, PulledUser } from '../../directory/pulled';
import { nameUuid } from '../nameUuid';
import type { KeycloakGroup, KeycloakUser } from './client';
import type { KeycloakSettings } from './settings';

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NAMESPACE = Buffer.from('9d2a4c7e1b3f4a6d8e0c2b4a6f8d1e3c', 'hex');

/**
 * The directory store's id of a Keycloak user or group: Keycloak's own id, a UUID — except a user
 * of a federation provider without import (`f:<provider>:<id>`), for which one is derived.
 */
export function storeId(kind: 'user' | 'group', id: string): string {
  if (!UUID.test(id)) return nameUuid(NAMESPACE, `${kind}:${id}`);
  return /[A-F]/.test(id) ? id.toLowerCase() : id; // Keycloak's are lower case: the same string, no copy
}

const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);

/** A user's attributes with one value as that value, with several as the list. */
function attributesOf(u: KeycloakUser): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(u.attributes ?? {}))
    out[k] = Array.isArray(v) && v.length === 1 ? (v[0] as unknown) : (v as unknown);
  return out;
}

/**
 * A Keycloak user as the directory stores it: its fields and its attributes (each by its name under
 * `attributes`, one value as a string: the rules' custom attributes read `attributes.<name>`), plus
 * SCIM's names so one attribute mapping serves every source. A disabled user is inactive.
 */
export function toPulledUser(u: KeycloakUser, s: KeycloakSettings): PulledUser {
  const email = text(u.email);
  const username = String(u.username ?? u.id);
  const userName = (s.usernameAttribute === 'email' ? email : null) ?? username;
  const first = text(u.firstName);
  const last = text(u.lastName);
  const displayName = [first, last].filter(Boolean).join(' ') || null;
  const active = u.enabled !== false;
  const attributes = attributesOf(u);
  const enterprise: Record<string, unknown> = {};
  for (const k of ['department', 'employeeNumber', 'organization', 'division', 'costCenter'])
    if (typeof attributes[k] === 'string') enterprise[k] = attributes[k];
  const { access: _access, disableableCredentialTypes: _d, totp: _t, ...keycloak } = u as Record<string, unknown>;
  return {
    id: storeId('user', String(u.id)),
    userName,
    email,
    displayName,
    active,
    externalId: String(u.id),
    resource: {
      ...keycloak,
      attributes,
      keycloakId: u.id,
      username,
      userName,
      displayName,
      active,
      emails: email ? [{ value: email, primary: true, type: 'work' }] : [],
      name: { givenName: first, familyName: last },
      ...(typeof attributes.title === 'string' ? { title: attributes.title } : {}),
      [ENTERPRISE]: enterprise,
    },
  };
}

/** A Keycloak group as the directory stores it: named by its name or its path, as the connection chooses. */
export function toPulledGroup(g: KeycloakGroup, s: KeycloakSettings): PulledGroup {
  const displayName = String((s.groupName === 'path' ? g.path : g.name) ?? g.id);
  return {
    id: storeId('group', String(g.id)),
    displayName,
    resource: { keycloakId: g.id, path: g.path ?? null, displayName, parentId: g.parentId ?? null },
  };
}
