import { OktaError, type OktaLogEvent } from './client';

/* The System Log as an incremental read follows it: its position, its window, the events it reads. */

/**
 * Where the next incremental read starts: System Log events from a little before `since` (those
 * already applied skipped by uuid), when the last full read began, and a groups scope's chosen
 * groups as Okta resolved them.
 */
export interface OktaCursor {
  since: string;
  seen: string[];
  fullAt: string;
  chosen?: string[];
}

/** Events are read again from this long before the last read began: the System Log is eventually consistent. */
export const OVERLAP_MS = 5 * 60_000;
/** Okta keeps the System Log 90 days; a position older than that misses events. */
export const RETENTION_MS = 90 * 24 * 3600_000;
/** More events than this since the last read: a full read costs less than following each. */
export const MAX_EVENTS = 5_000;

/** The events that change what the app reads: user lifecycle and profile, group and app membership, groups. */
export const EVENT_TYPES = [
  'user.lifecycle.create',
  'user.lifecycle.activate',
  'user.lifecycle.deactivate',
  'user.lifecycle.suspend',
  'user.lifecycle.unsuspend',
  'user.lifecycle.delete.initiated',
  'user.lifecycle.delete.completed',
  'user.account.update_profile',
  'user.account.lock',
  'user.account.unlock',
  'group.user_membership.add',
  'group.user_membership.remove',
  'group.lifecycle.create',
  'group.lifecycle.delete',
  'group.profile.update',
  'application.user_membership.add',
  'application.user_membership.remove',
] as const;

export const EVENT_FILTER = EVENT_TYPES.map((t) => `eventType eq "${t}"`).join(' or ');

/** The users and groups an event names (a failed operation changed nothing: none). */
export function targetsOf(e: OktaLogEvent): { users: string[]; groups: string[] } {
  const out = { users: [] as string[], groups: [] as string[] };
  if (e.outcome?.result && e.outcome.result !== 'SUCCESS') return out;
  for (const t of e.target ?? []) {
    if (t.type === 'User') out.users.push(t.id);
    if (t.type === 'UserGroup') out.groups.push(t.id);
  }
  return out;
}

/**
 * Why the System Log cannot be read (then the read is full), for a refusal that is the token's
 * scope or the admin role's rights; anything else is rethrown.
 */
export function unreadableLog(err: unknown): string {
  if (err instanceof OktaError && err.at === 'api' && err.status === 403)
    return `the System Log could not be read (Okta: ${err.message}): full read; for incremental reads, grant the scope okta.logs.read and a role that can read the System Log (Read-only Administrator)`;
  throw err;
}
