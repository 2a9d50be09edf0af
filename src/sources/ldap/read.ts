import type { ReadLedger } from '../../directory/ledger';
import type { PullStore } from '../../directory/pull';
import type { PulledGroup, PulledUser } from '../../directory/pulled';
import type { LdapSession } from './session';
import { memberDns } from './members';
import type { LdapSettings } from './settings';
import { adDisabled, all, dnKey, entryId, first, toPulledUser, userAttributes } from './entry';
import { addMemberOf, childGroups, flatten, scopeOf, type GroupRead, type Scope, type UserMaps } from './groups';
import type { ReadProgress } from '../source';
import { ReadReport } from '../readReport';
import { WriteQueue } from '../writeQueue';
import { breathe, sliceTimer } from '../../slices';

/** What a read has done so far (the run's progress and, at the end, its summary). */
export type LdapProgress = ReadProgress;

const WRITE_BATCH = 500;

/**
 * A full read of one LDAP connection into the directory store: users page by page (each written as
 * it comes — only what differs — its DN key and id remembered), then groups, each member resolved to
 * a user id as it is read (a huge directory's member DNs are never all held), then the memberships —
 * nested groups flattened, cycles included — and everything the read did not see swept. With "only users of
 * these groups" the groups are read once more first, for the scope. Keyed by the directory's unique
 * id, so a rename or a move is an update.
 */
export class LdapFullRead {
  /** The read's progress and ledger, and how they are reported (shared by every source). */
  protected readonly r: ReadReport;
  protected readonly buffers: string[];
  /** Whether a group was seen in another (the next incremental read's cursor keeps it). */
  protected nestedSeen = false;

  constructor(
    protected readonly connectionId: string,
    protected readonly s: LdapSettings,
    protected readonly session: LdapSession,
    protected readonly store: PullStore,
    report: (p: LdapProgress) => void = () => undefined,
  ) {
    this.buffers = s.attributes.id === 'objectGUID' ? ['objectGUID'] : [];
    this.r = new ReadReport(report);
  }

  get progress(): LdapProgress {
    return this.r.progress;
  }

  /** What the read saw and changed: the sweep's and the run's. */
  protected get ledger(): ReadLedger {
    return this.r.ledger;
  }

  async run(): Promise<LdapProgress> {
    await this.store.beginFullRead(this.connectionId, this.ledger);
    // The scope needs the groups' members before any user is read: a first pass, members unresolved.
    const allowed = this.s.users.onlyMembersOf.length
      ? scopeOf(await this.readGroups({ write: false }), this.s.users.onlyMembersOf.map(dnKey))
      : null;
    const disabled = await this.disabledIds();
    const users = await this.readUsers(disabled, allowed);
    const groups = await this.readGroups({ users, write: true });
    this.step('writing memberships');
    await this.writeMemberships(groups, users);
    this.step('removing what left the directory');
    const swept = await this.store.sweep(this.connectionId, this.ledger);
    this.progress.removed += swept.users;
    this.step('done');
    return this.progress;
  }

  /** Reports the progress once more (what it wrote included): the read stopped on an error. */
  stopped(): void {
    this.r.tick();
  }

  protected step(phase: string): void {
    this.r.step(phase);
  }

  protected skip(note: string): void {
    this.r.conflict(note);
  }

  /**
   * Reads the groups (those `filter` also matches, when given) and, with `write`, writes them. With
   * `users`, each member is resolved to a user id as it comes (a full read never holds every
   * member's DN); without, members stay unresolved in `others` (see `resolve`).
   */
  protected async readGroups(o: { users?: UserMaps; write: boolean; filter?: string }): Promise<GroupRead[]> {
    this.step(!o.write ? 'reading groups for the scope' : o.filter ? 'reading changed groups' : 'reading groups');
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
    const slice = sliceTimer();
    for await (const page of this.session.pages(s.groups.baseDn, {
      scope: 'sub',
      filter: o.filter ? `(&${s.groups.filter}${o.filter})` : s.groups.filter,
      attributes,
      explicitBufferAttributes: this.buffers,
    })) {
      this.progress.pages++;
      const pulled: PulledGroup[] = [];
      for (const e of page) {
        if (slice.due()) await breathe(); // a page of 1,000 groups holds some 60,000 members to place
        const id = entryId(e, s.attributes.id);
        const name = first(e, s.attributes.groupName);
        if (!id || !name) {
          this.skip(`group ${e.dn}: no ${!id ? s.attributes.id : s.attributes.groupName}`);
          continue;
        }
        const group: GroupRead = { id, dn: dnKey(e.dn), name, users: [], others: [], memberOf: [] };
        if (s.membership === 'memberOf') group.memberOf = all(e, 'memberOf').map(dnKey);
        else if (s.membership === 'memberUid')
          this.place(
            group,
            all(e, 'memberUid').map((u) => u.toLowerCase()),
            o.users,
          );
        else this.place(group, [...(await memberDns(this.session, e)), ...all(e, 'uniqueMember')].map(dnKey), o.users);
        out.push(group);
        pulled.push({ id, displayName: name, resource: { displayName: name, dn: e.dn, description: null } });
      }
      if (!o.write) continue;
      const conflicts = await this.store.upsertGroups(this.connectionId, pulled, this.ledger);
      for (const c of conflicts) this.skip(`group ${c.id}: name ${c.displayName} is already another group's`);
      this.progress.groupsSeen += pulled.length;
      this.r.tick();
    }
    return out;
  }

  /**
   * Puts members (DN keys, or memberUid names) where they belong: known users' ids in `users`; with
   * no `known`, all in `others`; else DNs no user has in `others` (a nested group, perhaps), names
   * no user has nowhere.
   */
  protected place(group: GroupRead, members: string[], known: UserMaps | undefined): void {
    const byName = this.s.membership === 'memberUid';
    const ids = known && (byName ? known.byName : known.byDn);
    for (const m of members) {
      const user = ids?.get(m);
      if (user) group.users.push(user);
      else if (!ids || !byName) group.others.push(m);
    }
  }

  /** Resolves groups read without users (`readGroups` with no `users`) against these users. */
  protected resolve(groups: GroupRead[], known: UserMaps): void {
    for (const g of groups) {
      const members = g.others;
      g.others = [];
      this.place(g, members, known);
    }
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

  /** Reads and writes the users; returns DN key → id, (memberUid) user name → id, and (memberOf) each user's groups. */
  protected async readUsers(disabled: Set<string>, allowed: Scope | null, extraFilter = ''): Promise<UserMaps> {
    this.step('reading users');
    const s = this.s;
    const byDn = new Map<string, string>();
    const byName = new Map<string, string>();
    const memberOf = new Map<string, string[]>();
    const ad = s.directoryType === 'activeDirectory';
    let batch: PulledUser[] = [];
    // Two writes in flight while the next page is read: the directory, the database (on two
    // connections: the writes are what a full read waits for) and this process work at once.
    const writes = new WriteQueue(2);
    const slice = sliceTimer();
    const flush = async () => {
      const rows = batch;
      batch = [];
      await writes.push(async () => {
        const conflicts = await this.store.upsertUsers(this.connectionId, rows, this.ledger);
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
        if (slice.due()) await breathe(); // a page of 1,000 entries is not mapped in one go
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
        if (s.membership === 'memberUid') byName.set(user.userName.toLowerCase(), user.id);
        if (groupsOf.length) memberOf.set(user.id, groupsOf);
        batch.push(user);
        if (batch.length >= WRITE_BATCH) await flush();
      }
      this.progress.usersSeen += page.length;
      this.r.tick();
    }
    await flush();
    await writes.drain();
    return { byDn, byName, memberOf };
  }

  /** Each group's users, nested groups flattened (a cycle ends where it began), written in batches. */
  protected async writeMemberships(groups: GroupRead[], users: UserMaps): Promise<void> {
    // Two writes at once: nothing else is read meanwhile, and each batch holds other groups' rows.
    const writes = new WriteQueue(2);
    let batch: Array<[string, string]> = [];
    // Memberships the store holds already cost no write, so nothing here waits on I/O: give way by time.
    const slice = sliceTimer();
    const flush = async () => {
      const rows = batch;
      batch = [];
      await writes.push(async () => {
        await this.store.addMemberships(this.connectionId, rows, this.ledger);
        this.progress.membershipsSeen += rows.length;
      });
    };
    for (const [group, members] of this.membersOf(groups, users)) {
      if (slice.due()) await breathe();
      for (const u of members) batch.push([group.id, u]);
      if (batch.length >= WRITE_BATCH * 4) await flush();
    }
    await flush();
    await writes.drain();
  }

  /** Each group with its users (nested groups flattened when asked), one group at a time. */
  protected *membersOf(groups: GroupRead[], users: UserMaps): Generator<[GroupRead, Set<string>]> {
    const children = childGroups(groups);
    if (children.size) this.nestedSeen = true;
    addMemberOf(groups, users.memberOf);
    for (const g of groups) yield [g, this.s.nested ? flatten(g, children) : new Set(g.users)];
  }
}
