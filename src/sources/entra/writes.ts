import type { Transaction } from 'sequelize';
import { ReadLedger } from '../../directory/ledger';
import type { PullStore } from '../../directory/pull';
import type { ReadProgress } from '../source';
import { ReadReport } from '../readReport';
import type { SourceStateRepository } from '../state';
import type { GraphClient, GraphPage } from './graph';
import { toPulledGroup, toPulledUser } from './mapping';
import { breathe, mapSliced, sliceTimer } from '../../slices';
import { userSelect, type EntraSettings } from './settings';

type Obj = Record<string, unknown>;

/** What a pull has done so far: shown in the run while it reads. */
export type PullProgress = ReadProgress;

export type ProgressSink = (p: PullProgress) => void;

/** Graph takes at most 15 values in an `in (…)` filter. */
const IN_CHUNK = 15;

const quote = (v: string) => `'${v.replace(/'/g, "''")}'`;
const isGroupRef = (m: Obj) => m['@odata.type'] === '#microsoft.graph.group';
const isUserRef = (m: Obj) => m['@odata.type'] === undefined || m['@odata.type'] === '#microsoft.graph.user';

/**
 * What an Entra ID read writes into the directory store, and how it reports: users, groups and
 * memberships as Graph gives them (a groups/delta page's members included), told to the read's
 * ledger; users looked up by id; the progress the run shows. `EntraPull` (sync.ts) reads through it.
 */
export class EntraWrites {
  protected readonly select: string;
  /** The read's progress and ledger, and how they are reported (shared by every source). */
  protected readonly r: ReadReport;
  /** What an incremental read of the whole directory changed (undefined for any other read). */
  protected delta?: { users: Set<string>; groups: Set<string>; wide: boolean };

  constructor(
    protected readonly connectionId: string,
    protected readonly settings: EntraSettings,
    protected readonly graph: GraphClient,
    protected readonly store: PullStore,
    protected readonly state: SourceStateRepository,
    report: ProgressSink = () => undefined,
  ) {
    this.select = userSelect(settings).join(',');
    this.r = new ReadReport(report);
  }

  protected get progress(): PullProgress {
    return this.r.progress;
  }

  /**
   * What the read saw and changed, every write told (with nothing loaded, it only counts): a full
   * read's sweep and run plan from it; every read counts its rows written.
   */
  protected get ledger(): ReadLedger {
    return this.r.ledger;
  }

  protected set ledger(ledger: ReadLedger) {
    this.r.ledger = ledger;
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

  // ---- writing -----------------------------------------------------------------------------

  protected async writeUsers(graphUsers: Obj[], tx?: Transaction): Promise<void> {
    const pulled = await mapSliced(graphUsers, (u) => toPulledUser(u, this.settings.usernameAttribute));
    const conflicts = await this.store.upsertUsers(this.connectionId, pulled, this.ledger, tx);
    this.progress.usersSeen += graphUsers.length;
    for (const c of conflicts) this.conflict(`user ${c.id}: username ${c.userName} is already another user's`);
    this.tick();
  }

  protected async writeGroups(graphGroups: Obj[], tx?: Transaction): Promise<void> {
    const pulled = graphGroups.filter((g) => typeof g.displayName === 'string' && g.displayName).map(toPulledGroup);
    const conflicts = await this.store.upsertGroups(this.connectionId, pulled, this.ledger, tx);
    this.progress.groupsSeen += pulled.length;
    for (const c of conflicts) this.conflict(`group ${c.id}: name ${c.displayName} is already another group's`);
  }

  protected async writeMemberships(
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
  protected async writeGroupEntries(entries: Obj[], incremental: boolean, tx?: Transaction): Promise<void> {
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
    const slice = sliceTimer(); // a page's members: tens of thousands of references
    for (const e of live) {
      if (slice.due()) await breathe();
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

  protected async removeUsers(ids: string[], tx: Transaction): Promise<void> {
    const removed = await this.store.deleteUsers(this.connectionId, ids, tx);
    this.progress.removed += removed;
    this.ledger.rowsWritten += removed;
  }

  /** Users an incremental read changed (added, updated, removed, or whose memberships changed). */
  protected touched(userIds: string[]): void {
    if (this.delta) for (const id of userIds) this.delta.users.add(id);
  }

  /** Users by id, `in (…)` 15 at a time, with the connection's filter: those in scope. */
  protected async lookUp(ids: string[]): Promise<Obj[]> {
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

  protected filterParam(): string {
    return this.settings.userFilter ? `&$filter=${encodeURIComponent(this.settings.userFilter)}&$count=true` : '';
  }

  protected filterHeaders(): Record<string, string> {
    return this.settings.userFilter ? { consistencylevel: 'eventual' } : {};
  }

  protected async *pagesOf<T>(pathOrUrl: string, headers: Record<string, string> = {}): AsyncGenerator<GraphPage<T>> {
    for await (const page of this.graph.pages<T>(pathOrUrl, headers)) {
      this.progress.pages += page.pages;
      yield page;
    }
  }

  protected step(phase: string): void {
    this.r.step(phase);
  }

  protected tick(): void {
    this.r.tick();
  }

  protected conflict(text: string): void {
    this.r.conflict(text);
  }

  /** Reports the progress once more (what it wrote included): the read stopped on an error. */
  stopped(): void {
    this.r.tick();
  }

  protected done(): PullProgress {
    return this.r.done();
  }
}
