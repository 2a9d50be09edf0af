import { breathe, sliceTimer } from '../slices';
import type { DirectoryChanges } from './types';

/**
 * What one read of a pull source saw and what it changed in the directory store, kept in memory
 * while it reads (ids only: some tens of MB for 100,000 users in 300,000 memberships). A full read
 * needs it three times: users and memberships the store already holds are not sent again (the
 * users' digests and the memberships are loaded when it begins, pairs crossed off as they come); at its end, the store's rows
 * the read did not see are removed (`PullStore.sweep`) without a mark written on every row it did
 * see; and its run plans from what changed, as a delta read's does — so a full read of a directory
 * where nothing changed writes no row and plans nothing.
 */
export class ReadLedger {
  private readonly users = new Set<string>();
  private readonly groups = new Set<string>();
  /** A full read's: the digest of each stored user (what the source last wrote of it). */
  private digests?: Map<string, string>;
  /** A full read's: the store's memberships not seen yet (loaded when it begins; what is left at the end goes). */
  private unseenMembers?: Map<string, Set<string>>;
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

  /** The stored users' digests as a full read begins. */
  storedDigests(digests: Map<string, string>): void {
    this.digests = digests;
  }

  /**
   * Whether the store holds this user as the source gives it now (same digest): nothing to write.
   * A digest is asked once (a user seen again is compared by the upsert itself): it is let go.
   */
  sameDigest(id: string, digest: string): boolean {
    const same = this.digests?.get(id) === digest;
    if (same) this.digests!.delete(id);
    return same;
  }

  /** The store's memberships as a full read begins (group id → user ids): each is crossed off as the read sees it. */
  storedMemberships(members: Map<string, Set<string>>): void {
    this.unseenMembers = members;
  }

  /**
   * The memberships of these pairs that the store does not hold yet (all, when its memberships
   * were not loaded); those it holds are seen, crossed off, and need no write.
   */
  async newMemberships(pairs: Array<[string, string]>): Promise<Array<[string, string]>> {
    const unseen = this.unseenMembers;
    if (!unseen) return pairs;
    const fresh: Array<[string, string]> = [];
    // A page of groups brings tens of thousands of pairs, and crossing off needs no I/O: give way by time.
    const slice = sliceTimer();
    for (const pair of pairs) {
      if (slice.due()) await breathe();
      const [g, u] = pair;
      // A pair seen twice is crossed off once; the second time it is written again, and the store keeps one.
      if (!unseen.get(g)?.delete(u)) fresh.push(pair);
    }
    return fresh;
  }

  /** The store's memberships the read has not seen, of users and groups it has (the others go with them). */
  unseenMemberships(): Array<[string, string]> {
    if (!this.unseenMembers)
      throw new Error("a full read loads the store's memberships as it begins (PullStore.beginFullRead)");
    const out: Array<[string, string]> = [];
    for (const [g, users] of this.unseenMembers)
      if (this.groups.has(g)) for (const u of users) if (this.users.has(u)) out.push([g, u]);
    return out;
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

  /** What the read changed, whatever its share (an incremental read plans from exactly this). */
  delta(): DirectoryChanges {
    return { userIds: [...this.changedUsers], groupIds: [...this.changedGroups], wide: this.wide };
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
