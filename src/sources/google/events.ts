import { GoogleError, type GoogleActivity } from './client';

/* The Admin console's events (Reports API) as an incremental read follows them: its position, its windows, its keys. */

/**
 * Where the next incremental read starts: Admin console events (Reports API) from a little before
 * `since`, those already applied skipped by key; the nesting of groups (children by Google id, of
 * the groups that have any) that a membership change needs; when the last full read began.
 */
export interface GoogleCursor {
  since: string;
  seen: string[];
  fullAt: string;
  nest: Record<string, string[]>;
}

/**
 * Why the Admin console's events cannot be read (then the read is full), for a refusal that is the
 * admin's rights or the token's scopes; anything else is rethrown.
 */
export function unreadableEvents(err: unknown): string {
  if (err instanceof GoogleError && err.at === 'api' && err.status === 403 && !RATE_REASONS.has(err.reason))
    return `the Admin console's events could not be read (Google: ${err.message}): full read; for incremental reads, the admin acted as needs the Reports privilege and the client ID the scope admin.reports.audit.readonly`;
  throw err;
}

const RATE_REASONS = new Set(['rateLimitExceeded', 'userRateLimitExceeded', 'quotaExceeded']);

/** Events are read again from this long before the last read began: Google reports them minutes late. */
export const OVERLAP_MS = 15 * 60_000;
/** The Reports API keeps 180 days; a position older than that misses events. */
export const RETENTION_MS = 180 * 24 * 3600_000;
/** More events than this since the last read: a full read costs less than following each. */
export const MAX_EVENTS = 5_000;

export const keyOf = (a: GoogleActivity) => `${a.id?.time ?? ''}/${a.id?.uniqueQualifier ?? ''}`;
export const param = (a: GoogleActivity, name: string) =>
  a.events?.[0]?.parameters?.find((p) => p.name === name)?.value?.toLowerCase() ?? undefined;
