import { atOnce, REQUESTS_AT_ONCE } from '../atOnce';
import { dropGroups, removeUsers, setMembers } from '../writes';
import { ancestors, descendants, flatten, nestOf, unnest } from '../groupTree';
import { KeycloakError, type KeycloakAdminEvent, type KeycloakUser } from './client';
import { storeId } from './mapping';
import { KeycloakFullRead, type KeycloakTree } from './read';

/**
 * Where the next incremental read starts: admin events from a little before `since` (those applied
 * skipped by key), when the last full read began, and the nesting of groups the last read saw
 * (children by id, of the groups that have any).
 */
export interface KeycloakCursor {
  since: string;
  seen: string[];
  fullAt: string;
  nest: Record<string, string[]>;
}

/** Events are read again from this long before the last read began (a request's event is stored as it ends). */
export const OVERLAP_MS = 2 * 60_000;
/** More events than this since the last read: a full read costs less than following each. */
export const MAX_EVENTS = 5_000;

const keyOf = (e: KeycloakAdminEvent) => (e as { id?: string }).id ?? `${e.time}/${e.operationType}/${e.resourcePath}`;

/**
 * A read of one Keycloak connection: full (see KeycloakFullRead), or incremental from the realm's
 * **admin events** when it records them (USER, GROUP and GROUP_MEMBERSHIP since the last read,
 * windows overlapping and events deduplicated): each user an event names is read again (deleted →
 * removed), each group an event names is read again with every group above and below it (its
 * members, subgroups, name; deleted → removed, and what its parents' members had through it goes).
 * Changes a user makes in the account console, and changes in a federated LDAP, are not admin
 * events: the periodic full read (`fullReadEveryHours`) brings them.
 */
export class KeycloakRead extends KeycloakFullRead {
  private nest: Record<string, string[]> = {};

  async read(mode: 'full' | 'incremental' | 'auto', cursor: KeycloakCursor | undefined): Promise<KeycloakCursor> {
    const startedAt = new Date();
    const why = mode === 'full' ? undefined : await this.untrusted(cursor, startedAt);
    if (mode !== 'full' && !why) {
      this.report.progress.mode = 'incremental';
      this.nest = { ...cursor!.nest };
      const events = await this.events(cursor!, startedAt);
      if (events !== 'too many') {
        await this.apply(events.fresh);
        return { since: startedAt.toISOString(), seen: events.keep, fullAt: cursor!.fullAt, nest: this.nest };
      }
      this.report.progress.note = `more than ${MAX_EVENTS.toLocaleString('en')} admin events since the last read: full read`;
    } else if (why) this.report.progress.note = why;
    this.report.progress.mode = 'full';
    const tree = await this.full();
    return { since: startedAt.toISOString(), seen: [], fullAt: startedAt.toISOString(), nest: nestOf(tree) };
  }

  /** Why the position cannot be followed (a full read instead), or undefined when it can. */
  private async untrusted(cursor: KeycloakCursor | undefined, now: Date): Promise<string | undefined> {
    if (!cursor?.since) return 'no position yet: full read';
    if (now.getTime() - Date.parse(cursor.fullAt) >= this.s.fullReadEveryHours * 3600_000)
      return `the last full read is over ${this.s.fullReadEveryHours} h old: full read (it repairs what events missed)`;
    try {
      if (!(await this.client.adminEventsEnabled()))
        return `the realm ${this.s.realm} does not record admin events: full read (Realm settings → Events → Admin events settings → Save events)`;
    } catch (err) {
      if (!(err instanceof KeycloakError && err.status === 403)) throw err;
      return "the client's service account may not read the realm's events (the realm-management role view-events): full read";
    }
    return undefined;
  }

  private async events(cursor: KeycloakCursor, now: Date) {
    this.report.step('reading admin events');
    const from = Date.parse(cursor.since) - OVERLAP_MS;
    const all: KeycloakAdminEvent[] = [];
    for await (const page of this.client.adminEvents(from, now.getTime())) {
      this.report.progress.pages++;
      all.push(...page);
      if (all.length > MAX_EVENTS) return 'too many' as const;
    }
    all.sort((a, b) => (a.time ?? 0) - (b.time ?? 0)); // Keycloak gives the newest first
    const seen = new Set(cursor.seen);
    const fresh = all.filter((e) => !e.error && !seen.has(keyOf(e)));
    const edge = now.getTime() - OVERLAP_MS;
    const keep = [...new Set(all.filter((e) => (e.time ?? 0) >= edge).map(keyOf))];
    return { fresh, keep };
  }

  /**
   * Applies the events: users first (a group's new member must be stored), then each member whose
   * groups changed (its groups read again: one call, whatever the groups' sizes), then groups.
   */
  private async apply(events: KeycloakAdminEvent[]): Promise<void> {
    const users = new Set<string>();
    const groups = new Set<string>();
    const joins = new Map<string, Set<string>>(); // a user → the groups it joined or left
    for (const e of events) {
      const path = e.resourcePath ?? '';
      let m: RegExpExecArray | null;
      if ((m = /^users\/([^/]+)$/.exec(path))) users.add(m[1]);
      else if ((m = /^users\/([^/]+)\/groups\/([^/]+)$/.exec(path))) {
        if (!joins.has(m[1])) joins.set(m[1], new Set());
        joins.get(m[1])!.add(m[2]);
      } else if ((m = /^groups\/([^/]+)(\/children)?$/.exec(path))) groups.add(m[1]);
    }
    if (this.s.scope.kind === 'groups') {
      const scopeTree = groups.size || joins.size ? await this.scopeTree() : undefined;
      await this.applyUsers([...new Set([...users, ...joins.keys()])], scopeTree);
      if (scopeTree) await this.writeScope(scopeTree);
      return;
    }
    const fresh = await this.applyUsers([...users]);
    await atOnce(
      [...joins].filter(([u]) => !fresh.has(u)),
      REQUESTS_AT_ONCE,
      ([u, touched]) => this.userGroups(u, touched),
    );
    await this.applyGroups([...groups]);
  }

  /** Reads these users again; the ids of those new to the store (given their groups). */
  private async applyUsers(ids: string[], scopeTree?: KeycloakTree): Promise<Set<string>> {
    if (!ids.length) return new Set();
    this.report.step('reading changed users');
    const sids = new Map(ids.map((id) => [id, storeId('user', id)]));
    const stored = await this.store.users(this.connectionId, [...sids.values()]);
    const members = scopeTree ? this.scopeMembers(scopeTree) : undefined;
    const groupsScope = this.s.scope.kind === 'groups';
    const keep: KeycloakUser[] = [];
    const gone: string[] = [];
    await atOnce(ids, REQUESTS_AT_ONCE, async (id) => {
      const known = stored.has(sids.get(id)!);
      // A groups scope: who is in it changes only with a group (then the scope was read again).
      if (groupsScope && !known && !members?.has(id)) return;
      const u = await this.client.user(id);
      if (!u || (members && !members.has(id))) gone.push(sids.get(id)!);
      else keep.push(u);
    });
    await this.remove(gone.filter((sid) => stored.has(sid)));
    for (let i = 0; i < keep.length; i += 500) await this.writeUsers(keep.slice(i, i + 500));
    const fresh = keep.filter((u) => !stored.has(sids.get(String(u.id))!)).map((u) => String(u.id));
    if (!groupsScope) await atOnce(fresh, REQUESTS_AT_ONCE, (u) => this.userGroups(u));
    return new Set(fresh);
  }

  /**
   * A user's memberships as Keycloak has them now: its direct groups and every group above them (by
   * the nesting last read) added; of the groups it joined or left (`touched`) and those above them,
   * the ones it is no longer in removed.
   */
  private async userGroups(id: string, touched: Set<string> = new Set()): Promise<void> {
    const want = new Set<string>();
    try {
      for await (const page of this.client.userGroups(id))
        for (const g of page) for (const a of ancestors(this.nest, String(g.id))) want.add(a);
    } catch (err) {
      if (err instanceof KeycloakError && err.status === 404) return; // deleted: its own event removes it
      throw err;
    }
    const uid = storeId('user', id);
    await this.store.addMemberships(
      this.connectionId,
      [...want].map((g) => [storeId('group', g), uid]),
      this.report.ledger,
    );
    const left = new Set<string>();
    for (const g of touched) for (const a of ancestors(this.nest, g)) if (!want.has(a)) left.add(a);
    const removed = [...left].map((g): [string, string] => [storeId('group', g), uid]);
    const n = await this.store.removeMemberships(this.connectionId, removed);
    this.report.ledger.rowsWritten += n;
    if (n) this.report.ledger.changedUser(uid);
  }

  private async remove(ids: string[]): Promise<void> {
    await removeUsers(this.store, this.connectionId, this.report, ids);
  }

  private async scopeTree(): Promise<KeycloakTree> {
    this.report.step('reading the chosen groups again');
    return this.readTree(new Map());
  }

  /** A groups scope after a group changed: its users in or out, its groups and memberships as read. */
  private async writeScope(tree: KeycloakTree): Promise<void> {
    const members = this.scopeMembers(tree);
    const storedIds = new Set(await this.store.userIds(this.connectionId));
    const fresh: KeycloakUser[] = [];
    for (const id of members) {
      if (storedIds.has(storeId('user', id))) continue;
      const u = await this.client.user(id);
      if (u) fresh.push(u);
    }
    if (fresh.length) await this.writeUsers(fresh);
    const inScope = new Set([...members].map((u) => storeId('user', u)));
    await this.remove([...storedIds].filter((id) => !inScope.has(id)));
    await this.replaceGroups(tree, [...tree.groups.keys()]);
    const keep = new Set([...tree.groups.keys()].map((g) => storeId('group', g)));
    const gone = (await this.store.groupIds(this.connectionId)).filter((id) => !keep.has(id));
    if (gone.length) await this.dropGroups(gone);
    this.nest = nestOf(tree);
  }

  /** Groups an event named: read again with every group above and below them; deleted ones removed. */
  private async applyGroups(ids: string[]): Promise<void> {
    if (!ids.length) return;
    this.report.step('reading changed groups');
    const component = new Set<string>();
    const tree: KeycloakTree = { groups: new Map(), users: new Map(), children: new Map() };
    for (const id of ids) {
      const g = await this.client.group(id);
      if (!g) {
        await this.dropGroups([storeId('group', id)]); // deleted (nothing when it was never stored)
        unnest(this.nest, id, component);
        continue;
      }
      tree.groups.set(id, g);
      for (const a of ancestors(this.nest, id)) for (const d of descendants(this.nest, a)) component.add(d);
    }
    for (const id of component)
      if (!tree.groups.has(id)) {
        const g = await this.client.group(id);
        if (g) tree.groups.set(id, g);
      }
    await this.readMembers(tree, [...tree.groups.keys()]);
    for (const [id, children] of tree.children) {
      if (children.length) this.nest[id] = children;
      else delete this.nest[id];
    }
    const whole: KeycloakTree = { ...tree, children: new Map(Object.entries(this.nest)) };
    await this.replaceGroups(whole, [...tree.groups.keys()]);
  }

  private async dropGroups(ids: string[]): Promise<void> {
    await dropGroups(this.store, this.connectionId, this.report, ids);
  }

  /** Writes these groups and sets each one's memberships to its users, its subgroups' included. */
  private async replaceGroups(tree: KeycloakTree, ids: string[]): Promise<void> {
    const groups = ids.map((id) => tree.groups.get(id)!).filter(Boolean);
    await this.writeGroups(groups); // a new group, or one renamed, is marked by the store
    const want = new Map(
      groups.map((g) => [
        storeId('group', String(g.id)),
        new Set([...flatten(tree, String(g.id))].map((u) => storeId('user', u))),
      ]),
    );
    await setMembers(this.store, this.connectionId, this.report, want);
    this.report.tick();
  }
}
