import type { DirectoryChanges } from '../../directory/types';
import { atOnce, REQUESTS_AT_ONCE } from '../atOnce';
import { dropGroups, removeUsers, setMembers } from '../writes';
import type { GoogleActivity, GoogleUser } from './client';
import { keyOf, MAX_EVENTS, OVERLAP_MS, param, RETENTION_MS, unreadableEvents, type GoogleCursor } from './events';
import { inOrgUnits, storeId, toPulledGroup, userGetParams, userListParams } from './mapping';
import { ancestors, descendants, flatten, nestOf, unnest } from '../groupTree';
import { GoogleFullRead, type GoogleTree } from './read';

export type { GoogleCursor };

/**
 * A read of one Google Workspace connection: full (see GoogleFullRead), or incremental from the
 * Admin console's events since the last read (Reports API, application `admin`): each user an event
 * names is read again by id or email (in scope, out of scope, deleted), each group an event names
 * with every group nested with it (its members, name, deletion). The Directory API has no delta
 * token, and Google reports events minutes late and, rarely, never: windows overlap and events are
 * deduplicated by time and unique qualifier, and a scheduled read is full once the last full read is
 * `fullReadEveryHours` old — the full read is the truth, the events a hint.
 */
export class GoogleRead extends GoogleFullRead {
  private delta = { users: new Set<string>(), groups: new Set<string>(), wide: false };
  private nest: Record<string, string[]> = {};

  /** Reads; the cursor for the next read (its `since` taken before this one began). */
  async read(mode: 'full' | 'incremental' | 'auto', cursor: GoogleCursor | undefined): Promise<GoogleCursor> {
    const startedAt = new Date();
    const why = mode === 'full' ? undefined : this.untrusted(cursor, startedAt);
    if (mode !== 'full' && !why) {
      this.report.progress.mode = 'incremental';
      this.nest = { ...cursor!.nest };
      const events = await this.events(cursor!, startedAt).catch(unreadableEvents);
      if (typeof events === 'object') {
        await this.apply(events.fresh);
        return { since: startedAt.toISOString(), seen: events.keep, fullAt: cursor!.fullAt, nest: this.nest };
      }
      this.report.progress.note =
        events === 'too many'
          ? `more than ${MAX_EVENTS.toLocaleString('en')} Admin console events since the last read: full read`
          : events;
    } else if (why) this.report.progress.note = why;
    this.report.progress.mode = 'full';
    const tree = await this.full();
    return { since: startedAt.toISOString(), seen: [], fullAt: startedAt.toISOString(), nest: nestOf(tree) };
  }

  /** What the read changed, for the run to plan from (a full read's from its ledger). */
  changed(): DirectoryChanges | undefined {
    if (this.report.progress.mode === 'full') return this.report.ledger.changes();
    const d = this.delta;
    return { userIds: [...d.users], groupIds: [...d.groups], wide: d.wide };
  }

  /** Why the position cannot be followed (a full read instead), or undefined when it can. */
  private untrusted(cursor: GoogleCursor | undefined, now: Date): string | undefined {
    if (!cursor?.since) return 'no position yet: full read';
    const since = Date.parse(cursor.since);
    if (now.getTime() - since > RETENTION_MS - OVERLAP_MS)
      return "the last read is older than the Reports API's 180 days: full read";
    if (now.getTime() - Date.parse(cursor.fullAt) >= this.s.fullReadEveryHours * 3600_000)
      return `the last full read is over ${this.s.fullReadEveryHours} h old: full read (it repairs what events missed)`;
    return undefined;
  }

  /** The events since the cursor not applied yet, and the keys to remember (those inside the next overlap). */
  private async events(cursor: GoogleCursor, now: Date) {
    this.report.step('reading Admin console events');
    const from = new Date(Date.parse(cursor.since) - OVERLAP_MS).toISOString();
    const all: GoogleActivity[] = [];
    for await (const page of this.client.activities(from, now.toISOString())) {
      this.report.progress.pages++;
      all.push(...page);
      if (all.length > MAX_EVENTS) return 'too many' as const;
    }
    const seen = new Set(cursor.seen);
    const fresh = all.filter((a) => !seen.has(keyOf(a)));
    const edge = now.getTime() - OVERLAP_MS;
    const keep = all.filter((a) => Date.parse(a.id?.time ?? '') >= edge).map(keyOf);
    return { fresh, keep };
  }

  /** Applies the events: users first (a group's new member must be stored), then groups. */
  private async apply(events: GoogleActivity[]): Promise<void> {
    const users = new Set<string>();
    const groups = new Set<string>();
    for (const a of events) {
      const type = a.events?.[0]?.type;
      const [user, group, newValue] = [param(a, 'USER_EMAIL'), param(a, 'GROUP_EMAIL'), param(a, 'NEW_VALUE')];
      if (type === 'USER_SETTINGS' && user) users.add(user);
      if (type === 'USER_SETTINGS' && a.events?.[0]?.name === 'RENAME_USER' && newValue) users.add(newValue);
      if (type === 'GROUP_SETTINGS' && group) groups.add(group);
      // A member that is a group: its parent's membership changed (the parent is named too).
      if (type === 'GROUP_SETTINGS' && user) users.add(user);
    }
    const scope = this.s.scope.kind === 'groups' && groups.size ? await this.scopeTree() : undefined;
    await this.applyUsers([...users], scope);
    if (scope) await this.writeScope(scope);
    else await this.applyGroups([...groups]);
  }

  // ---- users -------------------------------------------------------------------------------

  private async applyUsers(emails: string[], scopeTree?: GoogleTree): Promise<void> {
    if (!emails.length) return;
    this.report.step('reading changed users');
    const stored = await this.store.userIdsByEmail(this.connectionId, emails);
    // A groups scope: who is in it changes only with a group (then the scope was read again); else the stored users.
    const members = scopeTree ? this.scopeMembers(scopeTree) : undefined;
    const groupsScope = this.s.scope.kind === 'groups';
    await atOnce(emails, REQUESTS_AT_ONCE, async (email) => {
      const known = stored.get(email);
      if (groupsScope && !members && !known) return;
      let u = await this.client.user(email, userGetParams(this.s));
      if (!u && known) {
        const googleId = (await this.store.users(this.connectionId, [known])).get(known)?.googleId;
        if (typeof googleId === 'string') u = await this.client.user(googleId, userGetParams(this.s));
      }
      if (!u) {
        if (known) await this.remove([known]);
        return; // a group's email, or a user deleted or never in scope
      }
      const id = storeId('user', String(u.id));
      if (!(await this.inScope(u, members ?? (groupsScope ? new Set([String(u.id)]) : undefined)))) {
        await this.remove([id]);
        return;
      }
      const isNew = !(await this.store.users(this.connectionId, [id])).has(id);
      await this.writeUsers([u]);
      this.delta.users.add(id);
      if (isNew && !groupsScope) await this.userGroups(u);
    });
  }

  private async inScope(u: GoogleUser, members?: Set<string>): Promise<boolean> {
    if (!inOrgUnits(u, this.s) || (members && !members.has(String(u.id)))) return false;
    if (!this.s.userQuery) return true;
    const query = `${this.s.userQuery} email='${String(u.primaryEmail)}'`;
    for await (const page of this.client.users({ ...userListParams(this.s), query })) return page.length > 0;
    return false;
  }

  private async remove(ids: string[]): Promise<void> {
    if (await removeUsers(this.store, this.connectionId, this.report, ids))
      for (const id of ids) this.delta.users.add(id);
  }

  /** A user new to the store: its groups (direct, and those holding them) in the store. */
  private async userGroups(u: GoogleUser): Promise<void> {
    const direct: string[] = [];
    for await (const page of this.client.groups({ userKey: String(u.id) }))
      direct.push(...page.map((g) => String(g.id)));
    const all = new Set<string>();
    for (const g of direct) for (const a of ancestors(this.nest, g)) all.add(a);
    const uid = storeId('user', String(u.id));
    await this.store.addMemberships(
      this.connectionId,
      [...all].map((g) => [storeId('group', g), uid]),
      this.report.ledger,
    );
  }

  // ---- groups ------------------------------------------------------------------------------

  /** The scope's groups read again (a groups scope: membership decides who is in scope). */
  private async scopeTree(): Promise<GoogleTree> {
    this.report.step('reading the chosen groups again');
    return this.readTree();
  }

  /** A groups scope after a group changed: its users in or out, its groups and memberships as read. */
  private async writeScope(tree: GoogleTree): Promise<void> {
    const members = this.scopeMembers(tree);
    const storedIds = new Set(await this.store.userIds(this.connectionId));
    for (const g of members) {
      const id = storeId('user', g);
      if (storedIds.has(id)) continue;
      const u = await this.client.user(g, userGetParams(this.s));
      if (u && (await this.inScope(u, members))) {
        await this.writeUsers([u]);
        this.delta.users.add(id);
      }
    }
    const inScope = new Set([...members].map((g) => storeId('user', g)));
    await this.remove([...storedIds].filter((id) => !inScope.has(id)));
    await this.replaceGroups(tree, [...tree.groups.keys()]);
    const keep = new Set([...tree.groups.keys()].map((g) => storeId('group', g)));
    const gone = (await this.store.groupIds(this.connectionId)).filter((id) => !keep.has(id));
    if (gone.length) await this.dropGroups(gone);
    this.nest = nestOf(tree);
  }

  /** Groups an event named: read again with every group nested with them; deleted ones removed. */
  private async applyGroups(emails: string[]): Promise<void> {
    if (!emails.length) return;
    this.report.step('reading changed groups');
    const byEmail = new Map(
      [...(await this.store.groupResourceValues(this.connectionId, 'email'))].map(([id, e]) => [e.toLowerCase(), id]),
    );
    // A deleted group's Google id (for its place in the nesting): read only when one is gone.
    let googleIds: Map<string, string> | undefined;
    const component = new Set<string>();
    const tree: GoogleTree = { groups: new Map(), users: new Map(), children: new Map() };
    for (const email of emails) {
      const g = await this.client.group(email);
      if (!g) {
        const gone = byEmail.get(email);
        if (!gone) continue;
        googleIds ??= await this.store.groupResourceValues(this.connectionId, 'googleId'); // before the row goes
        const gid = googleIds.get(gone);
        await this.dropGroups([gone]);
        if (gid) unnest(this.nest, gid, component);
        continue;
      }
      tree.groups.set(String(g.id), g);
      // Every group above it, and everything below those: their users are all flattened again.
      for (const a of ancestors(this.nest, String(g.id))) for (const d of descendants(this.nest, a)) component.add(d);
    }
    for (const id of component)
      if (!tree.groups.has(id)) {
        const g = await this.client.group(id);
        if (g) tree.groups.set(id, g);
      }
    await this.readMembers(tree, [...tree.groups.keys()], true);
    for (const [id, children] of tree.children) {
      if (children.length) this.nest[id] = children;
      else delete this.nest[id];
    }
    // Groups above the changed ones hold their members too: flatten over the whole nesting.
    const whole: GoogleTree = { ...tree, children: new Map(Object.entries(this.nest)) };
    await this.replaceGroups(whole, [...tree.groups.keys()]);
  }

  private async dropGroups(ids: string[]): Promise<void> {
    await dropGroups(this.store, this.connectionId, this.report, ids);
    this.delta.wide = true;
  }

  /** Writes these groups and sets each one's memberships to its users, nested ones included. */
  private async replaceGroups(tree: GoogleTree, ids: string[]): Promise<void> {
    const names = await this.store.groupNames(
      this.connectionId,
      ids.map((g) => storeId('group', g)),
    );
    const groups = ids.map((id) => tree.groups.get(id)!).filter(Boolean);
    for (const g of groups) {
      const sid = storeId('group', String(g.id));
      if (!names.has(sid)) this.delta.groups.add(sid);
      else if (names.get(sid) !== toPulledGroup(g, this.s).displayName) this.delta.wide = true;
    }
    await this.writeGroups(groups);
    const want = new Map(
      groups.map((g) => [
        storeId('group', String(g.id)),
        new Set([...flatten(tree, String(g.id))].map((u) => storeId('user', u))),
      ]),
    );
    const { removed, added } = await setMembers(this.store, this.connectionId, this.report, want);
    for (const [, u] of [...removed, ...added]) this.delta.users.add(u);
    this.report.tick();
  }
}
