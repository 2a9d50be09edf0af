import type { PulledGroup, PulledUser } from '../../directory/pulled';
import { nameUuid } from '../nameUuid';
import type { OktaGroup, OktaUser } from './client';
import type { OktaSettings } from './settings';

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
/** The namespace of the store's ids for Okta's objects. */
const NAMESPACE = Buffer.from('3b0c6f8e2d1a4e7b9c5f0a1d2e3f4a5b', 'hex');

/** The directory store's id of an Okta user or group: a UUID derived from Okta's immutable id. */
export function storeId(kind: 'user' | 'group', oktaId: string): string {
  return nameUuid(NAMESPACE, `${kind}:${oktaId}`);
}

/**
 * Okta's statuses a Jira account stays active in: the user can sign in to Okta, or will again
 * (a locked-out user is locked only until an unlock; a recovering or expired password is being
 * reset). STAGED (never activated), SUSPENDED and DEPROVISIONED (deactivated) are inactive.
 */
export const ACTIVE_STATUSES = new Set(['ACTIVE', 'PROVISIONED', 'RECOVERY', 'PASSWORD_EXPIRED', 'LOCKED_OUT']);
/** Every status, for the one filter that lists deactivated users too (a plain listing hides DEPROVISIONED). */
export const ALL_STATUSES = [
  'STAGED',
  'PROVISIONED',
  'ACTIVE',
  'RECOVERY',
  'PASSWORD_EXPIRED',
  'LOCKED_OUT',
  'SUSPENDED',
  'DEPROVISIONED',
] as const;
export const EVERY_STATUS_FILTER = ALL_STATUSES.map((s) => `status eq "${s}"`).join(' or ');

/** Whether a user is active (a user being deactivated already is not). */
export function isActive(u: OktaUser): boolean {
  return ACTIVE_STATUSES.has(u.status) && u.transitioningToStatus !== 'DEPROVISIONED';
}

const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);

/**
 * An Okta user as the directory stores it: its profile as it is (custom attributes included, by
 * their names), its status and Okta id, plus SCIM's names so one attribute mapping serves every
 * source — userName (login, or email when chosen), emails (the primary one), name, title, and the
 * enterprise extension's department, employee number, organization, division, cost center and
 * manager.
 */
export function toPulledUser(u: OktaUser, s: OktaSettings): PulledUser {
  const p = u.profile ?? {};
  const email = text(p.email);
  const userName = String((s.usernameAttribute === 'email' ? email : null) ?? p.login ?? u.id);
  const first = text(p.firstName);
  const last = text(p.lastName);
  const displayName = text(p.displayName) ?? ([first, last].filter(Boolean).join(' ') || null);
  const active = isActive(u);
  const enterprise: Record<string, unknown> = {};
  for (const [scim, okta] of [
    ['department', 'department'],
    ['employeeNumber', 'employeeNumber'],
    ['organization', 'organization'],
    ['division', 'division'],
    ['costCenter', 'costCenter'],
  ] as const)
    if (text(p[okta])) enterprise[scim] = p[okta];
  if (text(p.managerId) || text(p.manager))
    enterprise.manager = { value: text(p.managerId) ?? text(p.manager), displayName: text(p.manager) };
  return {
    id: storeId('user', u.id),
    userName,
    email,
    displayName,
    active,
    externalId: u.id,
    resource: {
      ...p,
      oktaId: u.id,
      status: u.status,
      userName,
      displayName,
      active,
      emails: email ? [{ value: email, primary: true, type: 'work' }] : [],
      name: { givenName: first, familyName: last },
      ...(text(p.title) ? { title: p.title } : {}),
      [ENTERPRISE]: enterprise,
    },
  };
}

/** An Okta group as the directory stores it, named by its profile name. */
export function toPulledGroup(g: OktaGroup): PulledGroup {
  return {
    id: storeId('group', g.id),
    displayName: String(g.profile?.name ?? g.id),
    resource: {
      oktaId: g.id,
      type: g.type,
      displayName: String(g.profile?.name ?? g.id),
      description: g.profile?.description ?? null,
    },
  };
}

/** Okta's built-in groups (Everyone) are never read: every user is in them. */
export const readsGroup = (g: OktaGroup) => g.type !== 'BUILT_IN';
