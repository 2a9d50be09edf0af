import type { Transaction } from 'sequelize';
import type { PullStore } from '../../directory/pull';
import { mapSliced } from '../../slices';
import { derivedOnce } from '../nameUuid';
import { atOnce, REQUESTS_AT_ONCE } from '../atOnce';
import type { ReadReport } from '../readReport';
import { PullFailed } from '../source';
import { WriteQueue } from '../writeQueue';
import { writeGroups, writeMemberships, writeUsers } from '../writes';
import { OktaError, type OktaClient, type OktaGroup, type OktaUser } from './client';
import { EVERY_STATUS_FILTER, readsGroup, storeId, toPulledGroup, toPulledUser } from './mapping';
import type { OktaSettings } from './settings';

const GROUP_ID = /^00g[A-Za-z0-9]{17}$/;

/**
 * A full read of one Okta connection into the directory store: the scope's groups (every group but
 * the built-in Everyone; the app's assigned groups; the chosen groups) and their members (four
 * groups at once; Okta groups do not nest), then the users (the whole org with deactivated users
 * too — a plain listing hides them —, the app's assigned users, or the chosen groups' members), each
 * page written while the next is read, then groups and memberships, and a sweep of what the read
 * did not see. Keyed by Okta's immutable ids.
 */
export class OktaFullRead {
  /** A groups scope's chosen groups as Okta resolved them (ids). */
  protected chosen: string[] = [];

  constructor(
    protected readonly connectionId: string,
    protected readonly s: OktaSettings,
    protected readonly client: OktaClient,
    protected readonly store: PullStore,
    protected readonly report: ReadReport,
  ) {}

  // ---- full ----------------------------------------------------------------------------------

  async full(): Promise<void> {
    const r = this.report;
    await this.store.beginFullRead(this.connectionId, r.ledger);
    r.step('reading groups and members');
    const groups = await this.scopeGroups();
    const members = new Map<string, string[]>();
    const memberUsers = new Map<string, OktaUser>(); // a groups scope's users are its groups' members
    await atOnce([...groups.keys()], REQUESTS_AT_ONCE, async (id) => {
      const ids: string[] = [];
      try {
        for await (const page of this.client.groupUsers(id)) {
          r.progress.pages++;
          for (const u of page) {
            ids.push(u.id);
            if (this.s.scope.kind === 'groups') memberUsers.set(u.id, u);
          }
        }
      } catch (err) {
        if (!(err instanceof OktaError && err.status === 404)) throw err;
        groups.delete(id); // deleted while the read went on: gone, as the next read will find it
        return;
      }
      members.set(id, ids);
      r.progress.membershipsSeen += ids.length;
    });
    r.step('reading users');
    const writes = new WriteQueue(2);
    if (this.s.scope.kind === 'groups') {
      const all = [...memberUsers.values()];
      for (let i = 0; i < all.length; i += 500) {
        const page = all.slice(i, i + 500);
        await writes.push(() => this.writeUsers(page));
      }
    } else
      for await (const page of this.scopeUsers()) {
        r.progress.pages++;
        await writes.push(() => this.writeUsers(page));
      }
    await writes.drain();
    r.step('writing groups and memberships');
    const list = [...groups.values()];
    for (let i = 0; i < list.length; i += 1_000) await this.writeGroups(list.slice(i, i + 1_000));
    const byGroup = function* () {
      for (const [gid, users] of members) yield [storeId('group', gid), users] as const;
    };
    await writeMemberships(
      this.store,
      this.connectionId,
      r,
      byGroup(),
      derivedOnce((u) => storeId('user', u)),
    );
    r.step('removing what left the scope');
    r.progress.removed += (await this.store.sweep(this.connectionId, r.ledger)).users;
  }

  /** The scope's users, page by page: the org's (deactivated too), or the app's assigned users. */
  private async *scopeUsers(): AsyncGenerator<OktaUser[]> {
    if (this.s.scope.kind === 'app') {
      for await (const page of this.appPages(this.client.appUsers(this.s.scope.appId)))
        yield page.map((a) => a._embedded?.user).filter((u): u is OktaUser => !!u);
      return;
    }
    yield* this.client.users(EVERY_STATUS_FILTER);
  }

  /** An app scope's pages, a 404 said as the app not found. */
  protected async *appPages<T>(pages: AsyncGenerator<T[]>): AsyncGenerator<T[]> {
    try {
      yield* pages;
    } catch (err) {
      if (err instanceof OktaError && err.status === 404 && this.s.scope.kind === 'app')
        throw new PullFailed(
          `The application ${this.s.scope.appId} chosen as the scope was not found in Okta: check its ID (Applications → the app → its URL, 0oa…).`,
        );
      throw err;
    }
  }

  /** The scope's groups by Okta id: every group but the built-in ones, the app's, or the chosen ones. */
  async scopeGroups(): Promise<Map<string, OktaGroup>> {
    const out = new Map<string, OktaGroup>();
    const scope = this.s.scope;
    if (scope.kind === 'org') {
      for await (const page of this.client.groups()) {
        this.report.progress.pages++;
        for (const g of page) if (readsGroup(g)) out.set(g.id, g);
      }
    } else if (scope.kind === 'app') {
      const ids: string[] = [];
      for await (const page of this.appPages(this.client.appGroups(scope.appId))) ids.push(...page.map((a) => a.id));
      await atOnce(ids, REQUESTS_AT_ONCE, async (id) => {
        const g = await this.client.group(id);
        if (g && readsGroup(g)) out.set(id, g);
      });
    } else {
      this.chosen = [];
      for (const key of scope.groups) {
        const g = await this.resolveGroup(key);
        out.set(g.id, g);
        this.chosen.push(g.id);
      }
    }
    return out;
  }

  /** A chosen group by id or exact name (Okta's name search is a prefix: the exact one is taken). */
  private async resolveGroup(key: string): Promise<OktaGroup> {
    const missing = () =>
      new PullFailed(
        `The group ${key} chosen as the scope was not found in Okta: choose it again in the connection settings.`,
      );
    if (GROUP_ID.test(key)) {
      const g = await this.client.group(key);
      if (!g) throw missing();
      return g;
    }
    const found: OktaGroup[] = [];
    for await (const page of this.client.groups({ q: key })) found.push(...page.filter((g) => g.profile?.name === key));
    if (found.length > 1)
      throw new PullFailed(
        `More than one Okta group is named ${key}: choose it by its ID (00g…) in the connection settings.`,
      );
    if (!found[0]) throw missing();
    return found[0];
  }

  // ---- writes --------------------------------------------------------------------------------

  /** One user (a first login) with its groups; nothing else is touched. */
  async writeOne(user: OktaUser, groups: OktaGroup[]): Promise<void> {
    const uid = storeId('user', user.id);
    await this.store.transaction(async (tx) => {
      await this.writeUsers([user], tx);
      await this.writeGroups(groups, tx);
      await this.store.addMemberships(
        this.connectionId,
        groups.map((g) => [storeId('group', g.id), uid]),
        this.report.ledger,
        tx,
      );
    });
  }

  protected async writeUsers(users: OktaUser[], tx?: Transaction): Promise<void> {
    const pulled = await mapSliced(users, (u) => toPulledUser(u, this.s));
    await writeUsers(this.store, this.connectionId, this.report, pulled, tx);
  }

  protected async writeGroups(groups: OktaGroup[], tx?: Transaction): Promise<void> {
    await writeGroups(this.store, this.connectionId, this.report, groups.map(toPulledGroup), tx);
  }
}
