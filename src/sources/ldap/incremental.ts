import type { DirectoryChanges } from '../../directory/types';
import { dnKey, entryId, first } from './entry';
import { LdapFullRead, type GroupRead, type LdapProgress, type UserMaps } from './read';

/**
 * Where the next incremental read starts. Active Directory: the domain controller that answered
 * (its NTDS settings DN and invocationId) and its highestCommittedUSN when the last read began; a
 * different DC, or the same one restored (a new invocationId), means a full read. Other
 * directories: the time the last read began, for `modifyTimestamp`.
 */
export type LdapCursor =
  { kind: 'usn'; dc: string; invocationId: string; usn: number } | { kind: 'timestamp'; since: string };

/** How far back a timestamp read looks before its cursor, for clocks a little apart. */
const TIMESTAMP_MARGIN_MS = 5 * 60_000;

/**
 * A read of one LDAP connection: full (everything, then a sweep), or incremental from a cursor —
 * the users changed since (Active Directory `uSNChanged`, others `modifyTimestamp`), deletions
 * (AD's tombstones through Show Deleted; elsewhere an id-only scan of the scope), and, when a group
 * changed (a membership change raises only the group's), every group's members again from the
 * directory, diffed against the store. Whatever cannot be trusted falls back to a full read, and
 * the progress says why.
 */
export class LdapRead extends LdapFullRead {
  private changes?: DirectoryChanges;
  /** Active Directory's domain naming context, read with the position (where tombstones are searched). */
  private namingContext = '';

  /** Reads; returns the cursor for the next read (taken before this one began). */
  async read(mode: 'full' | 'incremental' | 'auto', cursor: LdapCursor | undefined): Promise<LdapCursor | null> {
    const next = await this.position();
    const why = mode === 'full' ? undefined : this.untrusted(cursor, next);
    if (mode !== 'full' && !why) {
      this.progress.mode = 'incremental';
      await this.incremental(cursor!);
      return next;
    }
    if (why) this.progress.note = why;
    await this.run();
    return next;
  }

  /** The users and groups an incremental read changed (undefined after a full read: the run reconciles everything). */
  changed(): DirectoryChanges | undefined {
    return this.changes;
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
    if (cursor.kind === 'usn') return `(uSNChanged>=${cursor.usn + 1})`;
    const t = new Date(new Date(cursor.since).getTime() - TIMESTAMP_MARGIN_MS);
    const gt = t
      .toISOString()
      .replace(/[-:T]/g, '')
      .replace(/\.\d+Z$/, 'Z');
    return `(modifyTimestamp>=${gt})`;
  }

  private async incremental(cursor: LdapCursor): Promise<void> {
    const s = this.s;
    const since = this.since(cursor);
    const userIds = new Set<string>();
    const groupIds = new Set<string>();

    // Users changed since the cursor, in scope (an "only members of" scope needs the groups: full).
    this.step('reading changed users');
    const disabled = await this.disabledIds(since);
    const users = await this.readUsers(disabled, null, since);
    for (const id of users.byDn.values()) userIds.add(id);

    // Deletions, and users who left the scope.
    this.step('reading deletions');
    const gone = await this.goneIds(cursor, since, userIds);
    if (gone.users.length) {
      this.progress.removed += await this.store.deleteUsers(this.connectionId, gone.users);
      gone.users.forEach((id) => userIds.add(id));
    }
    if (gone.groups.length) {
      await this.store.deleteGroups(this.connectionId, gone.groups);
      gone.groups.forEach((id) => groupIds.add(id));
    }

    // A membership change raises only the group's USN / timestamp: when a group changed, every
    // group's members are read again and the stored memberships follow.
    const groupsChanged = await this.anyGroupChanged(since);
    if (groupsChanged) {
      const groups = await this.readGroups();
      await this.syncMemberships(groups, users, userIds, groupIds);
    } else if (s.membership === 'memberOf' && users.memberOf.size > 0) {
      // memberOf: a user's groups came with the user; only the changed users' memberships can differ.
      const groups = await this.readGroups();
      await this.syncMemberships(groups, users, userIds, groupIds, new Set(users.byDn.values()));
    }
    this.changes = { userIds: [...userIds], groupIds: [...groupIds], wide: false };
    this.step('done');
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

  /** Ids of users and groups deleted or moved out of scope since the cursor. */
  private async goneIds(
    cursor: LdapCursor,
    since: string,
    inScopeChanged: Set<string>,
  ): Promise<{ users: string[]; groups: string[] }> {
    const s = this.s;
    const storedUsers = new Set(await this.store.userIds(this.connectionId));
    const storedGroups = new Set(await this.store.groupIds(this.connectionId));
    if (cursor.kind === 'usn') {
      const nc = this.namingContext;
      const ids = new Set<string>();
      const collect = async (filter: string, showDeleted: boolean) => {
        for await (const page of this.session.pages(
          nc,
          { scope: 'sub', filter, attributes: [s.attributes.id], explicitBufferAttributes: this.buffers },
          { showDeleted },
        ))
          for (const e of page) ids.add(entryId(e, s.attributes.id));
      };
      await collect(`(&(isDeleted=TRUE)${since})`, true);
      // Changed anywhere in the domain but not among the changed users in scope: moved out, or out of the filter.
      await collect(`(&(objectClass=user)${since})`, false);
      return {
        users: [...ids].filter((id) => storedUsers.has(id) && !inScopeChanged.has(id)),
        groups: [...ids].filter((id) => storedGroups.has(id)),
      };
    }
    // Elsewhere deletions leave no trace: scan the scope's ids (cheap: one attribute) and drop what is gone.
    const seen = async (base: string, scope: 'sub' | 'one', filter: string) => {
      const out = new Set<string>();
      for await (const page of this.session.pages(base, {
        scope,
        filter,
        attributes: [s.attributes.id],
        explicitBufferAttributes: this.buffers,
      }))
        for (const e of page) out.add(entryId(e, s.attributes.id));
      return out;
    };
    const users = await seen(s.users.baseDn, s.users.scope, s.users.filter);
    const groups = await seen(s.groups.baseDn, 'sub', s.groups.filter);
    return {
      users: [...storedUsers].filter((id) => !users.has(id)),
      groups: [...storedGroups].filter((id) => !groups.has(id)),
    };
  }

  /**
   * Every group's members as the directory says them now, against the store: adds and removals, and
   * who they touch (only `only`'s users, when given: the memberOf model's changed users).
   */
  private async syncMemberships(
    groups: GroupRead[],
    changed: UserMaps,
    userIds: Set<string>,
    groupIds: Set<string>,
    only?: Set<string>,
  ): Promise<void> {
    this.step('comparing memberships');
    const stored = await this.store.externalIds(this.connectionId);
    const maps: UserMaps = {
      byDn: new Map(stored.filter((u) => u.externalId).map((u) => [dnKey(u.externalId!), u.id])),
      byName:
        this.s.membership === 'memberUid' ? await this.userNames(stored.map((u) => u.id)) : new Map<string, string>(),
      memberOf: changed.memberOf,
    };
    const byDn = new Map(groups.map((g) => [dnKey(g.dn), g]));
    const keep = (u: string) => !only || only.has(u);
    const want = new Set<string>();
    for (const [g, u] of this.pairsOf(groups, byDn, maps)) if (keep(u)) want.add(`${g}|${u}`);
    const have = new Set(
      (await this.store.memberships(this.connectionId)).filter(([, u]) => keep(u)).map(([g, u]) => `${g}|${u}`),
    );
    const adds = [...want].filter((k) => !have.has(k)).map((k) => k.split('|') as [string, string]);
    const removes = [...have].filter((k) => !want.has(k)).map((k) => k.split('|') as [string, string]);
    await this.store.addMemberships(this.connectionId, adds, null);
    await this.store.removeMemberships(this.connectionId, removes);
    for (const [g, u] of [...adds, ...removes]) {
      groupIds.add(g);
      userIds.add(u);
    }
    this.progress.membershipsSeen += adds.length + removes.length;
  }

  private async userNames(ids: string[]): Promise<Map<string, string>> {
    const users = await this.store.users(this.connectionId, ids);
    return new Map([...users].map(([id, r]) => [(typeof r.userName === 'string' ? r.userName : '').toLowerCase(), id]));
  }
}

/** What the run reports at the end of a read (its progress). */
export type { LdapProgress };
