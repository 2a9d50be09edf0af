import crypto from 'node:crypto';

/* What a pull source hands the directory store, and how the store compares it. */

/** A user as a pull source hands it over: the identity columns and the whole IdP object. */
export interface PulledUser {
  id: string;
  userName: string;
  email: string | null;
  displayName: string | null;
  active: boolean;
  externalId: string | null;
  resource: Record<string, unknown>;
}

export interface PulledGroup {
  id: string;
  displayName: string;
  resource: Record<string, unknown>;
}

/** What a write left out, and why (a name another object already has). */
export interface PullConflicts {
  users: Array<{ id: string; userName: string }>;
  groups: Array<{ id: string; displayName: string }>;
}

/** The first of the items sharing a name (case-insensitive, as the store's unique indexes are), and the others. */
export function firstOfEachName<T>(items: T[], name: (t: T) => string): { kept: T[]; repeated: T[] } {
  const seen = new Set<string>();
  const kept: T[] = [];
  const repeated: T[] = [];
  for (const item of items) {
    const key = name(item).toLowerCase();
    (seen.has(key) ? repeated : kept).push(item);
    seen.add(key);
  }
  return { kept, repeated };
}

/** What a source wrote of a user, as one digest: equal digests, equal rows (the app computes it, the store keeps it). */
export function digestOf(u: PulledUser): string {
  return crypto
    .createHash('sha1')
    .update(JSON.stringify([u.userName, u.email, u.displayName, u.active, u.externalId, u.resource]))
    .digest('base64');
}
