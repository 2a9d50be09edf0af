import crypto from 'node:crypto';
import type { PulledGroup, PulledUser, PullStore } from '../../directory/pull';
import type { LdapEntry, LdapSession } from './client';
import type { LdapSettings } from './settings';
import { adDisabled, all, dnKey, entryId, first, toPulledUser, userAttributes } from './entry';

/** What a read has done so far (the run's progress and, at the end, its summary). */
export interface LdapProgress {
  mode: 'full' | 'incremental';
  /** Why a read asked to be incremental was full (another DC, no position yet…). */
  note?: string;
  phase: string;
  pages: number;
  usersSeen: number;
  groupsSeen: number;
  membershipsSeen: number;
  removed: number;
  skipped: string[];
}

const WRITE_BATCH = 500;
const MAX_NOTES = 20;
/** What "only users of these groups" lets in: group DN keys, and member DN keys or user names. */
export interface Scope {
  groups: Set<string>;
  members: Set<string>;
}

/** Users by DN key and by user name, and (memberOf model) each user's group DN keys. */
export interface UserMaps {
  byDn: Map<string, string>;
  byName: Map<string, string>;
  memberOf: Map<string, string[]>;
}

export interface GroupRead {
  id: string;
  dn: string;
  name: string;
  /** Member DNs (member model) or user names (memberUid), keys as `dnKey` gives them. */
  members: string[];
  /** The groups this one is in (memberOf model), as DN keys. */
  memberOf: string[];
}

/**
 * A full read of one LDAP connection into the directory store: groups first (their members kept
 * as DN keys), then users page by page (each written as it comes, with its DN remembered), then the
 * memberships resolved — nested groups flattened, cycles included — and everything the read did not
 * mark swept. Keyed by the directory's unique id, so a rename or a move is an update.
 */
export class LdapFullRead {
  readonly progress: LdapProgress = {
    mode: 'full',
    phase: 'starting',
    pages: 0,
    usersSeen: 0,
    groupsSeen: 0,
    membershipsSeen: 0,
    removed: 0,
    skipped: [],
  };
  protected readonly mark = crypto.randomUUID();
  protected readonly buffers: string[];

  constructor(
    protected readonly connectionId: string,
    protected readonly s: LdapSettings,
    protected readonly session: LdapSession,
    protected readonly store: PullStore,
    protected readonly report: (p: LdapProgress) => void = () => undefined,
  ) {
    this.buffers = s.attributes.id === 'objectGUID' ? ['objectGUID'] : [];
  }

  async run(): Promise<LdapProgress> {
    const groups = await this.readGroups();
    const byDn = new Map(groups.map((g) => [dnKey(g.dn), g]));
    const allowed = this.s.users.onlyMembersOf.length ? this.scopeOf(byDn) : null;
    const disabled = await this.disabledIds();
    const users = await this.readUsers(disabled, allowed);
    this.step('writing memberships');
    await this.writeMemberships(groups, byDn, users);
    this.step('removing what left the directory');
    const swept = await this.store.sweep(this.connectionId, this.mark, {
      users: true,
      groups: true,
      memberships: true,
    });
    this.progress.removed += swept.users;
    this.step('done');
    return this.progress;
  }

  protected step(phase: string): void {
    this.progress.phase = phase;
    this.report(this.progress);
  }

  protected skip(note: string): void {
    if (this.progress.skipped.length < MAX_NOTES) this.progress.skipped.push(note);
  }

  protected async readGroups(): Promise<GroupRead[]> {
    this.step('reading groups');
    const s = this.s;
    const ad = s.directoryType === 'activeDirectory';
    // Samba (like some AD versions) hands every value to a plain `member`; real AD stops at 1,500:
    // ask for ranges explicitly, so both behave alike and large groups come in slices.
    const memberAttr = s.membership === 'member' ? (ad ? 'member;range=0-*' : 'member') : null;
    const attributes = [
      s.attributes.id,
      s.attributes.groupName,
      ...(memberAttr ? [memberAttr, 'uniqueMember'] : []),
      ...(s.membership === 'memberUid' ? ['memberUid'] : []),
      ...(s.membership === 'memberOf' ? ['memberOf'] : []),
    ];
    const out: GroupRead[] = [];
    for await (const page of this.session.pages(s.groups.baseDn, {
      scope: 'sub',
      filter: s.groups.filter,
      attributes,
      explicitBufferAttributes: this.buffers,
    })) {
      this.progress.pages++;
      const pulled: PulledGroup[] = [];
      for (const e of page) {
        const id = entryId(e, s.attributes.id);
        const name = first(e, s.attributes.groupName);
        if (!id || !name) {
          this.skip(`group ${e.dn}: no ${!id ? s.attributes.id : s.attributes.groupName}`);
          continue;
        }
        const members =
          s.membership === 'memberUid'
            ? all(e, 'memberUid').map((u) => u.toLowerCase())
            : s.membership === 'member'
              ? [...(await this.memberDns(e)), ...all(e, 'uniqueMember')].map(dnKey)
              : [];
        out.push({ id, dn: e.dn, name, members, memberOf: all(e, 'memberOf').map(dnKey) });
        pulled.push({ id, displayName: name, resource: { displayName: name, dn: e.dn, description: null } });
      }
      const conflicts = await this.store.upsertGroups(this.connectionId, pulled, this.mark);
      for (const c of conflicts) this.skip(`group ${c.id}: name ${c.displayName} is already another group's`);
      this.progress.groupsSeen += pulled.length;
      this.report(this.progress);
    }
    return out;
  }

  /**
   * A group's member DNs, by ranges when the server slices them (`member;range=0-1499`, then on,
   * the last slice ending in `-*`); a plain `member` when it does not.
   */
  protected async memberDns(e: LdapEntry): Promise<string[]> {
    const ranged = Object.keys(e).find((k) => /^member;range=/i.test(k));
    if (!ranged) return all(e, 'member');
    const members = all(e, ranged);
    let m = /^member;range=(\d+)-(\d+|\*)$/i.exec(ranged);
    while (m && m[2] !== '*') {
      const next = Number(m[2]) + 1;
      const slice = await this.session.read(e.dn, [`member;range=${next}-*`]);
      const key = slice && Object.keys(slice).find((k) => /^member;range=/i.test(k));
      if (!slice || !key) break;
      members.push(...all(slice, key));
      m = /^member;range=(\d+)-(\d+|\*)$/i.exec(key);
    }
    return members;
  }

  /**
   * Who "only users of these groups" lets in: the chosen groups and the groups nested in them, and
   * their members as DN keys (member model) or user names (memberUid); with memberOf, a user is
   * in when one of its groups is.
   */
  protected scopeOf(byDn: Map<string, GroupRead>): Scope {
    const scope: Scope = { groups: new Set(), members: new Set() };
    const stack = this.s.users.onlyMembersOf.map(dnKey);
    const children = new Map<string, string[]>();
    if (this.s.membership === 'memberOf')
      for (const [dn, g] of byDn)
        for (const parent of g.memberOf) children.set(parent, [...(children.get(parent) ?? []), dn]);
    while (stack.length) {
      const dn = stack.pop()!;
      if (scope.groups.has(dn) || !byDn.has(dn)) continue;
      scope.groups.add(dn);
      for (const m of byDn.get(dn)!.members) {
        if (byDn.has(m)) stack.push(m);
        else scope.members.add(m);
      }
      stack.push(...(children.get(dn) ?? []));
    }
    return scope;
  }

  /** Ids of the users a disabled filter matches (directories other than Active Directory). */
  protected async disabledIds(extraFilter = ''): Promise<Set<string>> {
    const ids = new Set<string>();
    const f = this.s.disabledFilter;
    if (!f || this.s.directoryType === 'activeDirectory') return ids;
    this.step('reading disabled users');
    for await (const page of this.session.pages(this.s.users.baseDn, {
      scope: this.s.users.scope,
      filter: `(&${this.s.users.filter}${f}${extraFilter})`,
      attributes: [this.s.attributes.id],
      explicitBufferAttributes: this.buffers,
    }))
      for (const e of page) ids.add(entryId(e, this.s.attributes.id));
    return ids;
  }

  /** Reads and writes the users; returns DN key → id and (for memberUid) username → id, and memberOf lists. */
  protected async readUsers(disabled: Set<string>, allowed: Scope | null, extraFilter = ''): Promise<UserMaps> {
    this.step('reading users');
    const s = this.s;
    const byDn = new Map<string, string>();
    const byName = new Map<string, string>();
    const memberOf = new Map<string, string[]>();
    const ad = s.directoryType === 'activeDirectory';
    let batch: PulledUser[] = [];
    // One write in flight while the next page is read: the directory and the database work at once.
    let writing: Promise<void> = Promise.resolve();
    const flush = async () => {
      const rows = batch;
      batch = [];
      await writing;
      writing = this.store.upsertUsers(this.connectionId, rows, this.mark).then((conflicts) => {
        for (const c of conflicts) this.skip(`user ${c.id}: username ${c.userName} is already another user's`);
      });
    };
    for await (const page of this.session.pages(s.users.baseDn, {
      scope: s.users.scope,
      filter: extraFilter ? `(&${s.users.filter}${extraFilter})` : s.users.filter,
      attributes: userAttributes(s),
      explicitBufferAttributes: this.buffers,
    })) {
      this.progress.pages++;
      for (const e of page) {
        const key = dnKey(e.dn);
        const groupsOf = s.membership === 'memberOf' ? all(e, 'memberOf').map(dnKey) : [];
        if (
          allowed &&
          !allowed.members.has(key) &&
          !allowed.members.has(first(e, s.attributes.userName).toLowerCase()) &&
          !groupsOf.some((g) => allowed.groups.has(g))
        )
          continue;
        const id = entryId(e, s.attributes.id);
        const user = toPulledUser(e, s, ad ? adDisabled(e) : disabled.has(id));
        if (!user) {
          this.skip(`user ${e.dn}: no ${!id ? s.attributes.id : s.attributes.userName}`);
          continue;
        }
        byDn.set(key, user.id);
        byName.set(user.userName.toLowerCase(), user.id);
        if (groupsOf.length) memberOf.set(user.id, groupsOf);
        batch.push(user);
        if (batch.length >= WRITE_BATCH) await flush();
      }
      this.progress.usersSeen += page.length;
      this.report(this.progress);
    }
    await flush();
    await writing;
    return { byDn, byName, memberOf };
  }

  /** Each group's users, nested groups flattened (a cycle ends where it began), written in batches. */
  protected async writeMemberships(groups: GroupRead[], byDn: Map<string, GroupRead>, users: UserMaps): Promise<void> {
    let batch: Array<[string, string]> = [];
    for (const pair of this.pairsOf(groups, byDn, users)) {
      batch.push(pair);
      if (batch.length < WRITE_BATCH * 4) continue;
      await this.store.addMemberships(this.connectionId, batch, this.mark);
      this.progress.membershipsSeen += batch.length;
      batch = [];
    }
    await this.store.addMemberships(this.connectionId, batch, this.mark);
    this.progress.membershipsSeen += batch.length;
  }

  /** Every (group, user) pair the directory says, nested groups flattened when asked, one group at a time. */
  protected *pairsOf(groups: GroupRead[], byDn: Map<string, GroupRead>, users: UserMaps): Generator<[string, string]> {
    const s = this.s;
    // Direct members: user ids and child groups, by the membership model.
    const directUsers = new Map<string, Set<string>>();
    const children = new Map<string, Set<string>>();
    const add = (m: Map<string, Set<string>>, k: string, v: string) => {
      let set = m.get(k);
      if (!set) m.set(k, (set = new Set()));
      set.add(v);
    };
    for (const g of groups) {
      for (const m of g.members) {
        if (s.membership === 'memberUid') {
          const u = users.byName.get(m);
          if (u) add(directUsers, g.id, u);
        } else {
          const u = users.byDn.get(m);
          if (u) add(directUsers, g.id, u);
          const child = byDn.get(m);
          if (child && child.id !== g.id) add(children, g.id, child.id);
        }
      }
      if (s.membership === 'memberOf')
        for (const parent of g.memberOf) {
          const p = byDn.get(parent);
          if (p && p.id !== g.id) add(children, p.id, g.id);
        }
    }
    if (s.membership === 'memberOf')
      for (const [userId, dns] of users.memberOf)
        for (const dn of dns) {
          const g = byDn.get(dn);
          if (g) add(directUsers, g.id, userId);
        }
    for (const g of groups) {
      const members = s.nested
        ? this.flatten(g.id, directUsers, children)
        : (directUsers.get(g.id) ?? new Set<string>());
      for (const u of members) yield [g.id, u];
    }
  }

  /** A group's users with its nested groups' (each group visited once, so a cycle ends). */
  protected flatten(
    root: string,
    directUsers: Map<string, Set<string>>,
    children: Map<string, Set<string>>,
  ): Set<string> {
    const out = new Set<string>();
    const seen = new Set<string>([root]);
    const stack = [root];
    while (stack.length) {
      const g = stack.pop()!;
      for (const u of directUsers.get(g) ?? []) out.add(u);
      for (const c of children.get(g) ?? [])
        if (!seen.has(c)) {
          seen.add(c);
          stack.push(c);
        }
    }
    return out;
  }
}
