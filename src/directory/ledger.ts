import type { DirectoryChanges } from './types';

/**
 * What one read of a pull source saw and what it changed in the directory store, kept in memory
 * while it reads (ids only: about 10 MB for 100,000 users in 300,000 memberships). A full read
 * needs it twice: at its end, the store's rows the read did not see are removed (`PullStore.sweep`)
 * without a mark written on every row it did see; and its run plans from what changed, as a delta
 * read's does — so a full read of a directory where nothing changed writes no row and plans nothing.
 */
export class ReadLedger {
  private readonly users = new Set<string>();
  private readonly groups = new Set<string>();
  private readonly members = new Map<string, Set<string>>();
  private readonly changedUsers = new Set<string>();
  private readonly changedGroups = new Set<string>();
  /** A group renamed or removed: what every member maps to may differ. */
  private wide = false;
  /** Rows inserted, updated or deleted in the store (users, groups, memberships). */
  rowsWritten = 0;

  /** A user in the store as this read found it (written, or already equal). */
  sawUser(id: string): void {
    this.users.add(id);
  }

  sawGroup(id: string): void {
    this.groups.add(id);
  }

  /** Memberships as the source gave them (pairs the store skips — a user out of scope — go with their user). */
  sawMemberships(pairs: Iterable<[string, string]>): void {
    for (const [g, u] of pairs) {
      let set = this.members.get(g);
      if (!set) this.members.set(g, (set = new Set()));
      set.add(u);
    }
  }

  /** A user whose row, or one of whose memberships, this read wrote or removed. */
  changedUser(id: string): void {
    this.changedUsers.add(id);
  }

  /** A group new to the store. */
  newGroup(id: string): void {
    this.changedGroups.add(id);
  }

  /** A group renamed or removed. */
  everyUser(): void {
    this.wide = true;
  }

  seesUser(id: string): boolean {
    return this.users.has(id);
  }

  seesGroup(id: string): boolean {
    return this.groups.has(id);
  }

  seesMembership(groupId: string, userId: string): boolean {
    return this.members.get(groupId)?.has(userId) ?? false;
  }

  /**
   * What the read changed, for its run to plan from; undefined when more than half of the users it
   * saw changed (a first read, a directory rebuilt): then a full reconciliation, which reads Jira
   * once instead of planning most users one by one from the state the app knows.
   */
  changes(): DirectoryChanges | undefined {
    if (this.changedUsers.size * 2 > this.users.size) return undefined;
    return { userIds: [...this.changedUsers], groupIds: [...this.changedGroups], wide: this.wide };
  }
}
