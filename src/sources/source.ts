import type { Connection, ConnectionKind } from '../db/connections';
import type { DirectoryChanges } from '../directory/types';

/**
 * The contract every pull source (Entra ID through Graph, LDAP and Active Directory) keeps. Sources only write
 * the directory store; the engine runs a source's `Pull` without knowing which source it is, and
 * the triggers (schedule, first login, manual) find a connection's source through `PullSources`.
 */

/**
 * What a read says at its end. With `changes`, it read only what changed since the last read (a
 * delta): the run plans from those users and groups and the Jira state the app knows, as for SCIM
 * changes. Without, it read everything: the run is a full reconciliation.
 */
export interface PullResult {
  changes?: DirectoryChanges;
}

/** A read of the IdP into the directory store, reporting progress as it goes. */
export type Pull = (report: (progress: Record<string, unknown>) => void) => Promise<PullResult>;

/** A read that failed for a reason the admin can act on (the message says what to fix). */
export class PullFailed extends Error {}

/** How much to read: everything, the changes since the last read, or changes when it can. */
export type PullMode = 'full' | 'incremental' | 'auto';

/** One kind of pull source. */
export interface PullSource {
  /** The read of this connection's IdP, for the engine to run. */
  pull(c: Connection, mode: PullMode): Pull;
  /** Reads one user and their groups (a first login); 'absent' when the IdP has no such user in scope. */
  pullUser(c: Connection, email: string): Promise<'pulled' | 'absent'>;
  /** Minutes between scheduled syncs; 0 for none. */
  scheduleMinutes(c: Connection): number;
}

/** The pull sources by connection kind. */
export class PullSources {
  constructor(private readonly byKind: Partial<Record<ConnectionKind, PullSource>>) {}

  /** The connection kinds that pull. */
  kinds(): ConnectionKind[] {
    return Object.keys(this.byKind) as ConnectionKind[];
  }

  /** The source of a connection, or undefined for one the IdP pushes to (SCIM). */
  for(c: Connection): PullSource | undefined {
    return this.byKind[c.kind];
  }
}
