import type { DirectoryChanges } from '../../directory/types';
import { generalizedTime, LdapDeletions, type Gone, type StoredIds } from './deletions';
import { dnKey, first } from './entry';
import type { GroupRead, UserMaps } from './groups';
import { LdapFullRead, type LdapProgress } from './read';

/**
 * Where the next incremental read starts. Active Directory: the domain controller that answered
 * (its NTDS settings DN and invocationId) and its highestCommittedUSN when the last read began; a
 * different DC, or the same one restored (a new invocationId), means a full read. Other
 * directories: the time the last read began, for `modifyTimestamp`. `nested`: whether a group was
 * in another when last seen (unknown counts as yes): then a changed group means every group again.
 * `logMark`: with an access log, the newest entry in it when the last read began looking for
 * deletions (its `reqStart`); the next read takes the log from there.
 */
export type LdapCursor = (
  | { kind: 'usn'; dc: string; invocationId: string; usn: number }
  | { kind: 'timestamp'; since: string; logMark?: string }
) & {
  nested?: boolean;
};

/** What an incremental read says, once, when the bind account cannot see Active Directory's tombstones. */
export const TOMBSTONES_HIDDEN =
  'this account sees no deleted objects (CN=Deleted Objects), so the scope was scanned for deletions instead; grant it "List contents" on that container to read tombstones, which is faster';

/** How far back a timestamp read looks before its cursor, for clocks a little apart. */
const TIMESTAMP_MARGIN_MS = 5 * 60_000;

/**
 * A read of one LDAP connection: full (everything, then a sweep), or incremental from a cursor —
 * the users changed since (Active Directory `uSNChanged`, others `modifyTimestamp`); when groups
 * changed (a membership change raises only the group's), the changed groups' members, or every
 * group's once a group is in another, diffed against the store; then deletions (see
 * LdapDeletions: AD's tombstones, OpenLDAP's access log, or a scan of the scope's ids). Whatever
 * cannot be trusted falls back to a full read (or to the scan), and the progress says why.
 */
export class LdapRead extends LdapFullRead {
  private changes?: DirectoryChanges;
  /** Active Directory's domain naming context, read with the position (where tombstones are searched). */
  private namingContext = '';
  /** The newest access log entry this read saw (OpenLDAP with an access log), for the next one. */
  private logMark?: string;

  /** Reads; returns the cursor for the next read (taken before this one began). */
  async read(mode: 'full' | 'incremental' | 'auto', cursor: LdapCursor | undefined): Promise<LdapCursor | null> {
    const next = await this.position();
    let why = mode === 'full' ? undefined : this.untrusted(cursor, next);
    // memberOf: a changed group (a group put in another) changes its users' groups, which only a full read sees.
    if (
      mode !== 'full' &&
      !why &&
      this.s.membership === 'memberOf' &&
      (await this.anyGroupChanged(this.since(cursor!)))
    )
      why = 'a group changed, and with memberOf its users are read again: full read';
    // With an access log, a full read takes its mark first: what is deleted after it is the next read's.
    if ((mode === 'full' || why) && next?.kind === 'timestamp' && this.s.accessLogBaseDn)
      this.logMark = await this.deletions().newestBefore(new Date());
    if (mode !== 'full' && !why) {
      this.progress.mode = 'incremental';
      this.nestedSeen = cursor!.nested ?? true;
      await this.incremental(cursor!);
    } else {
      if (why) this.progress.note = why;
      await this.run();
    }
    if (!next) return null;
    return next.kind === 'timestamp' && this.logMark
      ? { ...next, nested: this.nestedSeen, logMark: this.logMark }
      : { ...next, nested: this.nestedSeen };
  }

  /**
   * The users and groups the read changed: an incremental read's, or what a full read found
   * different from the store (undefined when most users changed: the run reconciles everything).
   */
  changed(): DirectoryChanges | undefined {
    return this.progress.mode === 'full' ? this.ledger.changes() : this.changes;
  }

  private async position(): Promise<LdapCursor | null> {
    if (this.s.directoryType !== 'activeDirectory') return { kind: 'timestamp', since: new Date().toISOString() };
    const root = await this.session.rootDse(['dsServiceName', 'highestCommittedUSN', 'defaultNamingContext']);
    const dc = root ? first(root, 'dsServiceName') : '';
    const usn = Number(root ? first(root, 'highestCommittedUSN') : NaN);
    this.namingContext = root ? first(root, 'defaultNamingContext') : '';
    if (!dc || !Number.isFinite(usn)) return null;
    const settings = await this.session.read(dc, ['invocationId'], ['invocationId']);
    const raw = settings?.invocationId;
    const invocationId = Buffer.isBuffer(raw) ? raw.toString('hex') : Array.isArray(raw) ? String(raw[0]) : '';
    return invocationId ? { kind: 'usn', dc, invocationId, usn } : null;
  }

  /** Why an incremental read from `cursor` cannot be trusted now (undefined: it can). */
  private untrusted(cursor: LdapCursor | undefined, now: LdapCursor | null): string | undefined {
    if (!cursor || !now) return 'no position from an earlier read: full read';
    if (this.s.users.onlyMembersOf.length) return 'only users of chosen groups: every read is full';
    if (cursor.kind !== now.kind) return 'the directory type changed: full read';
    if (cursor.kind === 'usn' && now.kind === 'usn') {
      if (cursor.dc !== now.dc) return 'another domain controller answered than last time: full read';
      if (cursor.invocationId !== now.invocationId)
        return "the domain controller's database was restored (new invocationId): full read";
      if (now.usn < cursor.usn) return 'the domain controller went back in time: full read';
    }
    return undefined;
  }

  private since(cursor: LdapCursor): string {
    return cursor.kind === 'usn' ? `(uSNChanged>=${cursor.usn + 1})` : `(modifyTimestamp>=${this.sinceTime(cursor)})`;
  }

  /** A timestamp cursor's time less the margin, as a generalized time (20261201093000Z). */
  private sinceTime(cursor: Extract<LdapCursor, { kind: 'timestamp' }>): string {
    return generalizedTime(new Date(new Date(cursor.since).getTime() - TIMESTAMP_MARGIN_MS));
  }

  private async incremental(cursor: LdapCursor): Promise<void> {
    const s = this.s;
    const since = this.since(cursor);
    const userIds = new Set<string>();
    const groupIds = new Set<string>();
    // What the store holds before this read writes anything (what a deletion can have removed),
    // unless the access log will say what went; awaited when deletions are looked for, a read that
    // fails before leaves no rejection unheard.
    const snapshot = (): StoredIds => {
      const ids = { users: this.store.userIds(this.connectionId), groups: this.store.groupIds(this.connectionId) };
      ids.users.catch(() => undefined);
      ids.groups.catch(() => undefined);
      return ids;
    };
    const logged = cursor.kind === 'timestamp' && !!s.accessLogBaseDn;
    const stored = logged ? undefined : snapshot();
    // Users changed since the cursor, in scope (an "only members of" scope needs the groups: full).
    this.step('reading changed users');
    const disabled = await this.disabledIds(since);
    const users = await this.readUsers(disabled, null, since);
    const inScope = new Set(users.byDn.values()); // changed and still in scope: not gone, whatever else says
    for (const id of inScope) userIds.add(id);

    // A membership change raises only the group's USN / timestamp. With no group in another, the
    // changed groups' members are read and compared; else (a change can reach every group above it)
    // every group's. memberOf (no group changed, or the read is full): the changed users' groups came
    // with them; only their memberships can differ.
    if (s.membership === 'memberOf') {
      if (users.byDn.size > 0) {
        const groups = await this.readGroups({ write: true });
        await this.syncMemberships(groups, users, userIds, groupIds, inScope);
      }
    } else if (await this.anyGroupChanged(since)) {
      let groups = await this.readGroups({ write: true, filter: this.nestedSeen ? undefined : since });
      if (!this.nestedSeen && (await this.nestsAny(groups))) {
        this.nestedSeen = true;
        groups = await this.readGroups({ write: true });
      }
      const known = await this.storedMembers(groups);
      this.resolve(groups, known);
      await this.syncMemberships(groups, known, userIds, groupIds);
    }

    // Deletions, and users who left the scope.
    this.step('reading deletions');
    const deletions = this.deletions();
    let gone: Gone;
    if (cursor.kind === 'usn') {
      if (await this.session.seesTombstones(this.namingContext))
        gone = await deletions.tombstones(this.namingContext, since, inScope, stored!);
      else {
        // A plain domain account sees no tombstones: without this, deletions would wait for a full read.
        this.progress.note = TOMBSTONES_HIDDEN;
        gone = await deletions.scan(stored!);
      }
    } else if (!logged) gone = await deletions.scan(stored!);
    else {
      const logRead = await deletions.accessLog(cursor.logMark, inScope);
      if (typeof logRead === 'string') {
        this.progress.note = `${logRead}: the scope was scanned for deletions instead`;
        // The mark before the scan: what is deleted after it is the next read's.
        this.logMark = await deletions.newestBefore(new Date());
        gone = await deletions.scan(snapshot());
      } else ({ gone, mark: this.logMark } = logRead);
    }
    if (gone.users.length) {
      const removed = await this.store.deleteUsers(this.connectionId, gone.users);
      this.progress.removed += removed;
      this.ledger.rowsWritten += removed;
      gone.users.forEach((id) => userIds.add(id));
    }
    if (gone.groups.length) {
      this.ledger.rowsWritten += await this.store.deleteGroups(this.connectionId, gone.groups);
      gone.groups.forEach((id) => groupIds.add(id));
    }
    this.changes = { userIds: [...userIds], groupIds: [...groupIds], wide: false };
    this.step('done');
  }

  private deletions(): LdapDeletions {
    return new LdapDeletions(this.connectionId, this.s, this.session, this.store, this.buffers);
  }

  private async anyGroupChanged(since: string): Promise<boolean> {
    for await (const page of this.session.pages(this.s.groups.baseDn, {
      scope: 'sub',
      filter: `(&${this.s.groups.filter}${since})`,
      attributes: ['cn'],
      sizeLimit: 1,
    }))
      if (page.length) return true;
    return false;
  }

  /** Whether one of these (changed) groups has a group among its members: a stored group's DN, or one of theirs. */
  private async nestsAny(changed: GroupRead[]): Promise<boolean> {
    if (!changed.some((g) => g.others.length)) return false;
    const dns = new Set(changed.map((g) => g.dn));
    for (const dn of (await this.store.groupResourceValues(this.connectionId, 'dn')).values()) dns.add(dnKey(dn));
    return changed.some((g) => g.others.some((m) => dns.has(m)));
  }

  /** The stored users among these groups' (unresolved) members: by DN key, or by name for memberUid. */
  private async storedMembers(groups: GroupRead[]): Promise<UserMaps> {
    const keys = [...new Set(groups.flatMap((g) => g.others))];
    const none = new Map<string, string>();
    return this.s.membership === 'memberUid'
      ? { byDn: none, byName: await this.store.userIdsByName(this.connectionId, keys), memberOf: new Map() }
      : { byDn: await this.store.userIdsByDnKey(this.connectionId, keys), byName: none, memberOf: new Map() };
  }

  /**
   * Every group's members as the directory says them now, against the store, group by group: adds
   * and removals, and who they touch (only `only`'s users, when given: the memberOf model's changed users).
   */
  private async syncMemberships(
    groups: GroupRead[],
    users: UserMaps,
    userIds: Set<string>,
    groupIds: Set<string>,
    only?: Set<string>,
  ): Promise<void> {
    this.step('comparing memberships');
    const stored = await this.store.membersByGroup(
      this.connectionId,
      groups.map((g) => g.id),
    );
    const keep = (u: string) => !only || only.has(u);
    const adds: Array<[string, string]> = [];
    const removes: Array<[string, string]> = [];
    for (const [g, want] of this.membersOf(groups, users)) {
      const have = new Set(stored.get(g.id) ?? []);
      for (const u of want) if (keep(u) && !have.has(u)) adds.push([g.id, u]);
      for (const u of have) if (keep(u) && !want.has(u)) removes.push([g.id, u]);
    }
    await this.store.addMemberships(this.connectionId, adds, this.ledger);
    this.ledger.rowsWritten += await this.store.removeMemberships(this.connectionId, removes);
    for (const [g, u] of [...adds, ...removes]) {
      groupIds.add(g);
      userIds.add(u);
    }
    this.progress.membershipsSeen += adds.length + removes.length;
  }
}

/** What the run reports at the end of a read (its progress). */
export type { LdapProgress };
