import type { Transaction } from 'sequelize';
import { ReadLedger } from '../../directory/ledger';
import type { DirectoryChanges } from '../../directory/types';
import { GraphError } from './graph';
import { stripOdata } from './mapping';
import { WriteQueue } from '../writeQueue';
import { servicePrincipalPath } from './settings';
import { EntraWrites, type PullProgress } from './writes';

type Obj = Record<string, unknown>;

/** A delta token older than this is not trusted (Graph keeps sync state for about 7 days). */
const DELTA_MAX_AGE_MS = 7 * 24 * 3600_000;

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
export class EntraPull extends EntraWrites {
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
}
