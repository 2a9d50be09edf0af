import type { Transaction } from 'sequelize';
import { ReadLedger } from '../../directory/ledger';
import type { PullStore } from '../../directory/pull';
import type { DirectoryChanges } from '../../directory/types';
import type { SourceStateRepository } from '../state';
import { GraphError, type GraphClient, type GraphPage } from './graph';
import { stripOdata, toPulledGroup, toPulledUser } from './mapping';
import { WriteQueue } from '../writeQueue';
import { mapSliced } from '../../slices';
import { servicePrincipalPath, userSelect, type EntraSettings } from './settings';

type Obj = Record<string, unknown>;

/** What a pull has done so far: shown in the run while it reads. */
export interface PullProgress {
  mode: 'full' | 'incremental';
  phase: string;
  pages: number;
  usersSeen: number;
  groupsSeen: number;
  membershipsSeen: number;
  removed: number;
  /** Rows of the directory store the read inserted, updated or deleted: 0 when nothing changed. */
  rowsWritten: number;
  conflicts: string[];
}

export type ProgressSink = (p: PullProgress) => void;

/** A delta token older than this is not trusted (Graph keeps sync state for about 7 days). */
const DELTA_MAX_AGE_MS = 7 * 24 * 3600_000;
/** Graph takes at most 15 values in an `in (…)` filter. */
const IN_CHUNK = 15;
const MAX_CONFLICTS_SHOWN = 20;

const quote = (v: string) => `'${v.replace(/'/g, "''")}'`;
const isGroupRef = (m: Obj) => m['@odata.type'] === '#microsoft.graph.group';
const isUserRef = (m: Obj) => m['@odata.type'] === undefined || m['@odata.type'] === '#microsoft.graph.user';

/**
 * Reads one Entra ID connection through Graph into the directory store.
 *
 * - Full: the scope's users (`/users`, an application's assignments, or chosen groups' transitive
 *   members) and groups with members, only what differs written, then what the read did not see is
 *   swept, and the run plans from what changed;
 *   the delta links are taken before the read, so changes made during it come again next time.
 * - Incremental (whole directory): `users/delta` and `groups/delta` from the stored links, `@removed`
 *   applied, members that are not in the store yet looked up; each link saved in the transaction of
 *   the last page it covers. For an application or chosen groups, the scope itself is re-read (a
 *   nested group's change is invisible to the chosen group's delta) — its cost is the scope's size.
 * - An expired delta state (410, syncStateNotFound, older than 7 days) falls back to a full read.
 */
export class EntraPull {
  private readonly select: string;
  private readonly progress: PullProgress;
  /** What an incremental read of the whole directory changed (undefined for any other read). */
  private delta?: { users: Set<string>; groups: Set<string>; wide: boolean };
  /**
   * What the read saw and changed, every write told (with nothing loaded, it only counts): a full
   * read's sweep and run plan from it; every read counts its rows written.
   */
  private ledger = new ReadLedger();

  constructor(
    private readonly connectionId: string,
    private readonly settings: EntraSettings,
    private readonly graph: GraphClient,
    private readonly store: PullStore,
    private readonly state: SourceStateRepository,
    private readonly report: ProgressSink = () => undefined,
  ) {
    this.select = userSelect(settings).join(',');
    this.progress = {
      mode: 'full',
      phase: 'starting',
      pages: 0,
      usersSeen: 0,
      groupsSeen: 0,
      membershipsSeen: 0,
      removed: 0,
      rowsWritten: 0,
      conflicts: [],
    };
  }

  /** Pulls: incremental when asked (or 'auto') and possible, else full. */
  async run(mode: 'full' | 'incremental' | 'auto'): Promise<PullProgress> {
    const st = await this.state.get(this.connectionId);
    const fresh = !!st?.usersDeltaLink && !!st.deltaSince && Date.now() - st.deltaSince.getTime() < DELTA_MAX_AGE_MS;
    if (mode !== 'full' && fresh && this.settings.scope.kind === 'directory') {
      try {
        this.progress.mode = 'incremental';
        this.delta = { users: new Set(), groups: new Set(), wide: false };
        await this.incrementalDirectory(st.usersDeltaLink!, st.groupsDeltaLink);
        await this.state.save(this.connectionId, { incremental: true });
        return this.done();
      } catch (err) {
        if (!(err instanceof GraphError && err.resyncRequired)) throw err;
        this.delta = undefined;
        this.step('delta state expired: full read');
      }
    }
    this.progress.mode =
      mode === 'full' || !st?.usersDeltaLink || this.settings.scope.kind === 'directory' ? 'full' : 'incremental';
    await this.full();
    return this.done();
  }

  /**
   * The users and groups the read changed, for the run to plan from: an incremental read's (from
   * the delta), or what a full read (or a scope re-read) found different from the store; undefined
   * when most users changed (the run reconciles everything).
   */
  changes(): DirectoryChanges | undefined {
    const d = this.delta;
    return d ? { userIds: [...d.users], groupIds: [...d.groups], wide: d.wide } : this.ledger.changes();
  }

  /** One user (first login) with the groups of theirs that are in scope; nothing else is touched. */
  async writeOne(user: Obj, groups: Obj[]): Promise<void> {
    await this.store.transaction(async (tx) => {
      await this.writeUsers([user], tx);
      await this.writeGroups(groups, tx);
      await this.writeMemberships(
        groups.map((g) => [g.id as string, user.id as string]),
        tx,
      );
    });
  }

  // ---- full ------------------------------------------------------------------------------

  private async full(): Promise<void> {
    // A fresh ledger (a delta read that expired may have begun one), counting the rows written so far.
    const written = this.ledger.rowsWritten;
    this.ledger = new ReadLedger();
    this.ledger.rowsWritten = written;
    await this.store.beginFullRead(this.connectionId, this.ledger);
    this.step('taking delta links');
    const usersLink = await this.latestUsersLink();
    const scope = this.settings.scope;
    if (scope.kind === 'directory') {
      this.step('reading users');
      // Two pages written at once while the next is fetched: Postgres on one core, this process on the other.
      const writes = new WriteQueue(2);
      for await (const page of this.pagesOf<Obj>(
        `/users?$select=${this.select}&$top=999${this.filterParam()}`,
        this.filterHeaders(),
      ))
        await writes.push(() => this.writeUsers(page.value));
      await writes.drain();
      this.step('reading groups and members');
      let groupsLink: string | undefined;
      for await (const page of this.pagesOf<Obj>('/groups/delta?$select=displayName,description,members')) {
        await this.writeGroupEntries(page.value, false);
        groupsLink = page.deltaLink ?? groupsLink;
      }
      await this.sweepAndSave({ usersDeltaLink: usersLink, groupsDeltaLink: groupsLink ?? null });
      return;
    }
    if (scope.kind === 'groups') {
      for (const groupId of scope.groupIds) {
        this.step(`reading group ${groupId}`);
        const group = await this.graph.get<Obj>(`/groups/${groupId}?$select=id,displayName,description`);
        await this.writeGroups([group]);
        for await (const page of this.pagesOf<Obj>(
          `/groups/${groupId}/transitiveMembers/microsoft.graph.user?$select=${this.select}&$top=999&$count=true${this.filterParam()}`,
          { consistencylevel: 'eventual' },
        )) {
          await this.writeUsers(page.value);
          await this.writeMemberships(page.value.map((u) => [groupId, u.id as string]));
        }
      }
    } else {
      const sp = servicePrincipalPath(scope);
      this.step('reading app role assignments');
      const users = new Set<string>();
      const groups = new Set<string>();
      for await (const page of this.pagesOf<Obj>(`${sp}/appRoleAssignedTo?$top=999`)) {
        for (const a of page.value)
          (a.principalType === 'Group' ? groups : a.principalType === 'User' ? users : new Set()).add(a.principalId);
      }
      for (const groupId of groups) {
        this.step(`reading assigned group ${groupId}`);
        const group = await this.graph.get<Obj>(`/groups/${groupId}?$select=id,displayName,description`);
        await this.writeGroups([group]);
        for await (const page of this.pagesOf<Obj>(
          `/groups/${groupId}/members/microsoft.graph.user?$select=${this.select}&$top=999${this.filterParam()}`,
          this.filterHeaders(),
        )) {
          await this.writeUsers(page.value);
          await this.writeMemberships(page.value.map((u) => [groupId, u.id as string]));
        }
      }
      this.step('reading assigned users');
      await this.writeUsers(await this.lookUp([...users]));
    }
    await this.sweepAndSave({ usersDeltaLink: usersLink, groupsDeltaLink: null });
  }

  private async sweepAndSave(links: { usersDeltaLink: string | null; groupsDeltaLink: string | null }): Promise<void> {
    this.step('removing what left the scope');
    const swept = await this.store.sweep(this.connectionId, this.ledger);
    this.progress.removed += swept.users;
    await this.state.save(this.connectionId, { ...links, full: true });
  }

  /** A users delta link for "from now on" (`$deltatoken=latest`: no initial round). */
  private async latestUsersLink(): Promise<string | null> {
    const page = await this.graph.page(`/users/delta?$select=${this.select}&$deltatoken=latest`);
    return page.deltaLink ?? null;
  }

  // ---- incremental (whole directory) -------------------------------------------------------

  private async incrementalDirectory(usersLink: string, groupsLink: string | null): Promise<void> {
    this.step('reading user changes');
    for await (const page of this.pagesOf<Obj>(usersLink)) {
      await this.store.transaction(async (tx) => {
        await this.applyUserChanges(page.value, tx);
        if (page.deltaLink) await this.state.save(this.connectionId, { usersDeltaLink: page.deltaLink }, tx);
      });
    }
    if (!groupsLink) return;
    this.step('reading group changes');
    for await (const page of this.pagesOf<Obj>(groupsLink)) {
      await this.store.transaction(async (tx) => {
        await this.writeGroupEntries(page.value, true, tx);
        if (page.deltaLink) await this.state.save(this.connectionId, { groupsDeltaLink: page.deltaLink }, tx);
      });
    }
  }

  private async applyUserChanges(entries: Obj[], tx: Transaction): Promise<void> {
    const removed = entries.filter((e) => e['@removed']).map((e) => e.id as string);
    await this.removeUsers(removed, tx);
    this.touched(removed);
    const changed = entries.filter((e) => !e['@removed']);
    if (changed.length === 0) return;
    const stored = await this.store.users(
      this.connectionId,
      changed.map((e) => e.id as string),
      tx,
    );
    // Delta gives changed properties (at least): merge them over what is stored.
    let merged = changed.map((e) => ({ ...(stored.get(e.id as string) ?? {}), ...stripOdata(e) }));
    this.touched(merged.map((u) => u.id as string));
    if (this.settings.userFilter) {
      const inScope = new Set((await this.lookUp(merged.map((u) => u.id as string))).map((u) => u.id as string));
      const out = merged.filter((u) => !inScope.has(u.id as string)).map((u) => u.id as string);
      await this.removeUsers(out, tx);
      merged = merged.filter((u) => inScope.has(u.id as string));
    }
    await this.writeUsers(merged, tx);
    // A user who comes (back) into a filtered scope brings the memberships that group deltas reported
    // while it was out. Without a filter every user is stored, so a user new to the store is new to
    // Entra ID, and this pass's group delta carries its memberships.
    if (!this.settings.userFilter) return;
    for (const u of merged.filter((m) => !stored.has(m.id as string))) {
      const groups: Obj[] = [];
      for await (const page of this.pagesOf<Obj>(
        `/users/${u.id as string}/memberOf/microsoft.graph.group?$select=id,displayName,description&$top=999`,
      ))
        groups.push(...page.value);
      await this.writeMemberships(
        groups.map((g) => [g.id as string, u.id as string]),
        tx,
      );
    }
  }

  // ---- writing -----------------------------------------------------------------------------

  private async writeUsers(graphUsers: Obj[], tx?: Transaction): Promise<void> {
    const pulled = await mapSliced(graphUsers, (u) => toPulledUser(u, this.settings.usernameAttribute));
    const conflicts = await this.store.upsertUsers(this.connectionId, pulled, this.ledger, tx);
    this.progress.usersSeen += graphUsers.length;
    for (const c of conflicts) this.conflict(`user ${c.id}: username ${c.userName} is already another user's`);
    this.tick();
  }

  private async writeGroups(graphGroups: Obj[], tx?: Transaction): Promise<void> {
    const pulled = graphGroups.filter((g) => typeof g.displayName === 'string' && g.displayName).map(toPulledGroup);
    const conflicts = await this.store.upsertGroups(this.connectionId, pulled, this.ledger, tx);
    this.progress.groupsSeen += pulled.length;
    for (const c of conflicts) this.conflict(`group ${c.id}: name ${c.displayName} is already another group's`);
  }

  private async writeMemberships(
    pairs: Array<[string, string]>,
    tx?: Transaction,
    reportMissing = false,
  ): Promise<string[]> {
    this.progress.membershipsSeen += pairs.length;
    const missing = await this.store.addMemberships(this.connectionId, pairs, this.ledger, tx, reportMissing);
    this.tick();
    return missing;
  }

  /**
   * Group entries of a groups/delta page (the same group may come on several pages, each with part
   * of its members). In an incremental pass, members not in the store are looked up and added.
   */
  private async writeGroupEntries(entries: Obj[], incremental: boolean, tx?: Transaction): Promise<void> {
    const gone = entries.filter((e) => e['@removed']).map((e) => e.id as string);
    if (gone.length) this.ledger.rowsWritten += await this.store.deleteGroups(this.connectionId, gone, tx);
    const live = entries.filter((e) => !e['@removed']);
    const byId = new Map<string, Obj>();
    for (const e of live) if (typeof e.displayName === 'string') byId.set(e.id as string, e);
    if (incremental && this.delta) {
      // A group deleted or renamed changes what every member maps to: the run reconciles everyone.
      const names = await this.store.groupNames(this.connectionId, [...byId.keys()], tx);
      const renamed = [...byId.values()].some(
        (g) => names.has(g.id as string) && names.get(g.id as string) !== g.displayName,
      );
      if (gone.length || renamed) this.delta.wide = true;
      // A membership change names its users (below); a group new to the store is a change of its own.
      for (const g of byId.keys()) if (!names.has(g)) this.delta.groups.add(g);
    }
    await this.writeGroups([...byId.values()], tx);
    const added: Array<[string, string]> = [];
    const removed: Array<[string, string]> = [];
    for (const e of live) {
      for (const m of (e['members@delta'] as Obj[] | undefined) ?? []) {
        if (isGroupRef(m) || !isUserRef(m)) continue;
        (m['@removed'] ? removed : added).push([e.id as string, m.id as string]);
      }
    }
    this.ledger.rowsWritten += await this.store.removeMemberships(this.connectionId, removed, tx);
    if (incremental) this.touched([...added, ...removed].map(([, u]) => u));
    const missing = await this.writeMemberships(added, tx, incremental);
    if (incremental && missing.length) {
      await this.writeUsers(await this.lookUp(missing), tx);
      const resolved = new Set(missing);
      await this.store.addMemberships(
        this.connectionId,
        added.filter(([, u]) => resolved.has(u)),
        this.ledger,
        tx,
      );
    }
  }

  private async removeUsers(ids: string[], tx: Transaction): Promise<void> {
    const removed = await this.store.deleteUsers(this.connectionId, ids, tx);
    this.progress.removed += removed;
    this.ledger.rowsWritten += removed;
  }

  /** Users an incremental read changed (added, updated, removed, or whose memberships changed). */
  private touched(userIds: string[]): void {
    if (this.delta) for (const id of userIds) this.delta.users.add(id);
  }

  /** Users by id, `in (…)` 15 at a time, with the connection's filter: those in scope. */
  private async lookUp(ids: string[]): Promise<Obj[]> {
    const out: Obj[] = [];
    for (let i = 0; i < ids.length; i += IN_CHUNK) {
      const list = ids
        .slice(i, i + IN_CHUNK)
        .map(quote)
        .join(',');
      const filter = this.settings.userFilter ? `(${this.settings.userFilter}) and id in (${list})` : `id in (${list})`;
      const headers: Record<string, string> = this.settings.userFilter ? { consistencylevel: 'eventual' } : {};
      for await (const page of this.pagesOf<Obj>(
        `/users?$select=${this.select}&$top=999&$filter=${encodeURIComponent(filter)}${this.settings.userFilter ? '&$count=true' : ''}`,
        headers,
      ))
        out.push(...page.value);
    }
    return out;
  }

  private filterParam(): string {
    return this.settings.userFilter ? `&$filter=${encodeURIComponent(this.settings.userFilter)}&$count=true` : '';
  }

  private filterHeaders(): Record<string, string> {
    return this.settings.userFilter ? { consistencylevel: 'eventual' } : {};
  }

  private async *pagesOf<T>(pathOrUrl: string, headers: Record<string, string> = {}): AsyncGenerator<GraphPage<T>> {
    for await (const page of this.graph.pages<T>(pathOrUrl, headers)) {
      this.progress.pages += page.pages;
      yield page;
    }
  }

  private step(phase: string): void {
    this.progress.phase = phase;
    this.tick();
  }

  private tick(): void {
    this.progress.rowsWritten = this.ledger.rowsWritten;
    this.report({ ...this.progress, conflicts: [...this.progress.conflicts] });
  }

  private conflict(text: string): void {
    if (this.progress.conflicts.length < MAX_CONFLICTS_SHOWN) this.progress.conflicts.push(text);
  }

  /** Reports the progress once more (what it wrote included): the read stopped on an error. */
  stopped(): void {
    this.tick();
  }

  private done(): PullProgress {
    this.progress.phase = 'read';
    this.tick();
    return { ...this.progress };
  }
}
