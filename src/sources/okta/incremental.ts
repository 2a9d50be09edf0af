import { atOnce, REQUESTS_AT_ONCE } from '../atOnce';
import { dropGroups, removeUsers, setMembers } from '../writes';
import type { OktaLogEvent, OktaUser } from './client';
import { OktaError } from './client';
import {
  EVENT_FILTER,
  MAX_EVENTS,
  OVERLAP_MS,
  RETENTION_MS,
  targetsOf,
  unreadableLog,
  type OktaCursor,
} from './events';
import { readsGroup, storeId } from './mapping';
import { OktaFullRead } from './read';

export type { OktaCursor };

/**
 * A read of one Okta connection: full (see OktaFullRead), or incremental from the System Log since
 * the last read (user lifecycle and profile, group and app membership, groups), windows overlapping
 * by five minutes and events deduplicated by uuid, with users' `lastUpdated` and groups'
 * `lastUpdated` / `lastMembershipUpdated` as a safety net for what the log lags on; each user named
 * is read again (deleted → removed; out of the app → removed), each group named has its members
 * read again. A scheduled read is full once the last full read is `fullReadEveryHours` old.
 */
export class OktaRead extends OktaFullRead {
  /** Reads; the cursor for the next read (its `since` taken before this one began). */
  async read(mode: 'full' | 'incremental' | 'auto', cursor: OktaCursor | undefined): Promise<OktaCursor> {
    const startedAt = new Date();
    const why = mode === 'full' ? undefined : this.untrusted(cursor, startedAt);
    if (mode !== 'full' && !why) {
      this.report.progress.mode = 'incremental';
      this.chosen = cursor!.chosen ?? [];
      const events = await this.events(cursor!, startedAt).catch(unreadableLog);
      if (typeof events === 'object') {
        await this.apply(events.fresh, new Date(Date.parse(cursor!.since) - OVERLAP_MS).toISOString());
        return { since: startedAt.toISOString(), seen: events.keep, fullAt: cursor!.fullAt, chosen: this.chosen };
      }
      this.report.progress.note =
        events === 'too many'
          ? `more than ${MAX_EVENTS.toLocaleString('en')} System Log events since the last read: full read`
          : events;
    } else if (why) this.report.progress.note = why;
    this.report.progress.mode = 'full';
    await this.full();
    return { since: startedAt.toISOString(), seen: [], fullAt: startedAt.toISOString(), chosen: this.chosen };
  }

  private untrusted(cursor: OktaCursor | undefined, now: Date): string | undefined {
    if (!cursor?.since) return 'no position yet: full read';
    if (now.getTime() - Date.parse(cursor.since) > RETENTION_MS - OVERLAP_MS)
      return "the last read is older than the System Log's 90 days: full read";
    if (now.getTime() - Date.parse(cursor.fullAt) >= this.s.fullReadEveryHours * 3600_000)
      return `the last full read is over ${this.s.fullReadEveryHours} h old: full read (it repairs what the log missed)`;
    return undefined;
  }

  // ---- incremental ---------------------------------------------------------------------------

  /** The log events since the cursor not applied yet, and the uuids to remember (those inside the next overlap). */
  private async events(cursor: OktaCursor, now: Date) {
    this.report.step('reading the System Log');
    const from = new Date(Date.parse(cursor.since) - OVERLAP_MS).toISOString();
    const all: OktaLogEvent[] = [];
    for await (const page of this.client.logs(from, now.toISOString(), EVENT_FILTER)) {
      this.report.progress.pages++;
      all.push(...page);
      if (all.length > MAX_EVENTS) return 'too many' as const;
    }
    const seen = new Set(cursor.seen);
    const fresh = all.filter((e) => !seen.has(e.uuid));
    const edge = now.getTime() - OVERLAP_MS;
    const keep = all.filter((e) => Date.parse(e.published) >= edge).map((e) => e.uuid);
    return { fresh, keep };
  }

  /** Applies the events and what changed since `from` (the safety net): users first, then groups. */
  private async apply(events: OktaLogEvent[], from: string): Promise<void> {
    const users = new Set<string>();
    const groups = new Set<string>();
    for (const e of events) {
      const t = targetsOf(e);
      for (const u of t.users) users.add(u);
      for (const g of t.groups) groups.add(g);
    }
    this.report.step('reading what changed');
    const fetched = new Map<string, OktaUser>();
    for await (const page of this.client.users(`lastUpdated gt "${from}"`)) {
      this.report.progress.pages++;
      for (const u of page) {
        fetched.set(u.id, u);
        users.add(u.id);
      }
    }
    for await (const page of this.client.groups({
      filter: `lastUpdated gt "${from}" or lastMembershipUpdated gt "${from}"`,
    })) {
      this.report.progress.pages++;
      for (const g of page) groups.add(g.id);
    }
    const appGroups = this.s.scope.kind === 'app' ? await this.appGroupsNow(groups) : undefined;
    await this.applyUsers([...users], fetched, appGroups);
    await this.applyGroups([...groups], appGroups);
  }

  /** An app scope's assigned groups now; those newly assigned or unassigned are taken as changed groups. */
  private async appGroupsNow(changed: Set<string>): Promise<Set<string>> {
    const ids = new Set<string>();
    for await (const page of this.appPages(this.client.appGroups((this.s.scope as { appId: string }).appId)))
      for (const a of page) ids.add(a.id);
    const stored = new Map(
      [...(await this.store.groupResourceValues(this.connectionId, 'oktaId'))].map(([sid, oid]) => [oid, sid]),
    );
    for (const id of ids) if (!stored.has(id)) changed.add(id);
    for (const [oid, sid] of stored)
      if (!ids.has(oid)) {
        await this.dropGroups([sid]);
        changed.delete(oid);
      }
    return ids;
  }

  /**
   * The users named or changed: each as Okta has it now (read again unless the changed-users listing
   * gave it), written in batches when in scope, removed when deleted or out of the app; one new to the
   * store gets its groups. Only rows that differ are written, and only those are planned.
   */
  private async applyUsers(ids: string[], fetched: Map<string, OktaUser>, appGroups?: Set<string>): Promise<void> {
    if (!ids.length) return;
    const sids = new Map(ids.map((id) => [id, storeId('user', id)]));
    const stored = await this.store.users(this.connectionId, [...sids.values()]);
    const scope = this.s.scope;
    // A groups scope: who is in it changes only with a group's members (read with the groups).
    const candidates = scope.kind === 'groups' ? ids.filter((id) => stored.has(sids.get(id)!)) : ids;
    const keep: OktaUser[] = [];
    const gone: string[] = [];
    await atOnce(candidates, REQUESTS_AT_ONCE, async (id) => {
      const u = fetched.get(id) ?? (await this.client.user(id));
      const out = !u || (scope.kind === 'app' && !(await this.client.appUser(scope.appId, id)));
      if (out)
        gone.push(sids.get(id)!); // deleted in Okta, or no longer assigned to the app
      else keep.push(u);
    });
    await this.remove(gone.filter((sid) => stored.has(sid)));
    for (let i = 0; i < keep.length; i += 500) await this.writeUsers(keep.slice(i, i + 500));
    if (scope.kind === 'groups') return;
    const fresh = keep.filter((u) => !stored.has(sids.get(u.id)!));
    await atOnce(fresh, REQUESTS_AT_ONCE, (u) => this.userGroups(u.id, appGroups));
  }

  /** A user new to the store: its groups (in scope) in the store. */
  private async userGroups(id: string, appGroups?: Set<string>): Promise<void> {
    const pairs: Array<[string, string]> = [];
    for await (const page of this.client.userGroups(id))
      for (const g of page)
        if (readsGroup(g) && (!appGroups || appGroups.has(g.id)))
          pairs.push([storeId('group', g.id), storeId('user', id)]);
    await this.store.addMemberships(this.connectionId, pairs, this.report.ledger);
  }

  private async remove(ids: string[]): Promise<void> {
    await removeUsers(this.store, this.connectionId, this.report, ids);
  }

  /** Groups named: deleted ones removed; the others (in scope) written with their members read again. */
  private async applyGroups(ids: string[], appGroups?: Set<string>): Promise<void> {
    const scope = this.s.scope;
    const inScope = (id: string) =>
      scope.kind === 'org' || (scope.kind === 'app' ? appGroups!.has(id) : this.chosen.includes(id));
    const changed = ids.filter(inScope);
    if (!changed.length) return;
    this.report.step('reading changed groups');
    const lost = new Set<string>(); // a groups scope: users who left a chosen group
    await atOnce(changed, REQUESTS_AT_ONCE, async (id) => {
      const sid = storeId('group', id);
      const g = await this.client.group(id);
      if (!g || !readsGroup(g)) {
        await this.dropGroups([sid]); // deleted in Okta (nothing when it was never stored)
        return;
      }
      const members: OktaUser[] = [];
      try {
        for await (const page of this.client.groupUsers(id)) members.push(...page);
      } catch (err) {
        if (err instanceof OktaError && err.status === 404) return;
        throw err;
      }
      await this.writeGroups([g]); // a new group, or one renamed, is marked by the store
      if (scope.kind === 'groups') {
        const storedUsers = await this.store.users(
          this.connectionId,
          members.map((u) => storeId('user', u.id)),
        );
        const fresh = members.filter((u) => !storedUsers.has(storeId('user', u.id)));
        if (fresh.length) await this.writeUsers(fresh);
      }
      const want = new Map([[sid, new Set(members.map((u) => storeId('user', u.id)))]]);
      const { removed } = await setMembers(this.store, this.connectionId, this.report, want);
      for (const [, u] of removed) lost.add(u);
    });
    if (scope.kind === 'groups' && lost.size) {
      // Out of scope once in none of the chosen groups.
      const still = new Set(
        [
          ...(
            await this.store.membersByGroup(
              this.connectionId,
              this.chosen.map((g) => storeId('group', g)),
            )
          ).values(),
        ].flat(),
      );
      await this.remove([...lost].filter((u) => !still.has(u)));
    }
    this.report.tick();
  }

  private async dropGroups(ids: string[]): Promise<void> {
    await dropGroups(this.store, this.connectionId, this.report, ids);
  }
}
