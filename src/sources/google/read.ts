import type { Transaction } from 'sequelize';
import type { PullStore } from '../../directory/pull';
import { mapSliced } from '../../slices';
import { derivedOnce } from '../nameUuid';
import { PullFailed } from '../source';
import type { ReadReport } from '../readReport';
import { WriteQueue } from '../writeQueue';
import { writeGroups, writeMemberships, writeUsers } from '../writes';
import { ancestors, flatten, type GroupTree } from '../groupTree';

/** The groups a Google read saw and their direct members, by Google id. */
export type GoogleTree = GroupTree<GoogleGroup>;
import { atOnce, REQUESTS_AT_ONCE } from '../atOnce';
import { GoogleError, type GoogleClient, type GoogleGroup, type GoogleUser } from './client';
import { inOrgUnits, storeId, toPulledGroup, toPulledUser, userListParams } from './mapping';
import type { GoogleSettings } from './settings';

/**
 * A full read of one Google Workspace connection into the directory store: the scope's groups and
 * their direct members first (all groups, or the chosen ones and the groups nested in them), then
 * the users (500 a page, each page written while the next is read, only those in scope), then the
 * groups and memberships — a user is a member of a group it is in through nested groups as well —
 * and a sweep of what the read did not see. Everything is keyed by Google's immutable ids.
 */
export class GoogleFullRead {
  constructor(
    protected readonly connectionId: string,
    protected readonly s: GoogleSettings,
    protected readonly client: GoogleClient,
    protected readonly store: PullStore,
    protected readonly report: ReadReport,
  ) {}

  async full(): Promise<GoogleTree> {
    const r = this.report;
    await this.store.beginFullRead(this.connectionId, r.ledger);
    r.step('reading groups and members');
    const tree = await this.readTree();
    const members = this.s.scope.kind === 'groups' ? this.scopeMembers(tree) : undefined;
    r.step('reading users');
    const writes = new WriteQueue(2);
    for await (const page of this.client.users(userListParams(this.s))) {
      r.progress.pages++;
      const inScope = page.filter((u) => inOrgUnits(u, this.s) && (!members || members.has(String(u.id))));
      await writes.push(() => this.writeUsers(inScope));
    }
    await writes.drain();
    r.step('writing groups and memberships');
    await this.writeTree(tree);
    r.step('removing what left the scope');
    const swept = await this.store.sweep(this.connectionId, r.ledger);
    r.progress.removed += swept.users;
    return tree;
  }

  /** The users of the chosen groups (their nested groups' included), by Google id. */
  protected scopeMembers(tree: GoogleTree): Set<string> {
    const out = new Set<string>();
    for (const g of tree.chosen ?? []) for (const u of flatten(tree, g)) out.add(u);
    return out;
  }

  /** The scope's groups and their direct members: every group, or the chosen ones and what is nested in them. */
  protected async readTree(): Promise<GoogleTree> {
    const tree: GoogleTree = { groups: new Map(), users: new Map(), children: new Map(), chosen: [] };
    if (this.s.scope.kind === 'groups') {
      for (const email of this.s.scope.groups) {
        const g = await this.client.group(email);
        if (!g)
          throw new PullFailed(
            `The group ${email} chosen as the scope was not found in Google Workspace: choose it again in the connection settings.`,
          );
        tree.groups.set(String(g.id), g);
        tree.chosen!.push(String(g.id));
      }
    } else {
      for await (const page of this.client.groups()) {
        this.report.progress.pages++;
        for (const g of page) tree.groups.set(String(g.id), g);
      }
    }
    await this.readMembers(tree, [...tree.groups.keys()], this.s.scope.kind === 'groups');
    return tree;
  }

  /** Reads the direct members of these groups (a few at once); with `follow`, also of the groups found nested. */
  protected async readMembers(tree: GoogleTree, ids: string[], follow: boolean): Promise<void> {
    const queue = [...ids]; // groups found nested are pushed on it as they come
    await atOnce(queue, REQUESTS_AT_ONCE, async (id) => {
      const [users, groups] = [[] as string[], [] as string[]];
      try {
        for await (const page of this.client.members(id)) {
          this.report.progress.pages++;
          for (const m of page) (m.type === 'GROUP' ? groups : m.type === 'USER' ? users : []).push(String(m.id));
        }
      } catch (err) {
        if (!(err instanceof GoogleError && err.status === 404)) throw err;
        tree.groups.delete(id); // deleted while the read went on: gone, as the next read will find it
        return;
      }
      tree.users.set(id, users);
      tree.children.set(id, groups);
      this.report.progress.membershipsSeen += users.length;
      if (!follow) return;
      for (const child of groups.filter((c) => !tree.groups.has(c))) {
        const g = await this.client.group(child);
        if (!g) continue; // deleted meanwhile
        tree.groups.set(child, g);
        queue.push(child);
      }
    });
  }

  /** One user (a first login) with its groups; nothing else is touched. */
  async writeOne(user: GoogleUser, groups: GoogleGroup[]): Promise<void> {
    const uid = storeId('user', String(user.id));
    await this.store.transaction(async (tx) => {
      await this.writeUsers([user], tx);
      await this.writeGroups(groups, tx);
      await this.store.addMemberships(
        this.connectionId,
        groups.map((g) => [storeId('group', String(g.id)), uid]),
        this.report.ledger,
        tx,
      );
    });
  }

  /** These groups and the groups above them (by the nesting last read), as Google gives them. */
  async groupsAbove(direct: string[], nest: Record<string, string[]>): Promise<GoogleGroup[]> {
    const ids = new Set<string>();
    for (const g of direct) for (const a of ancestors(nest, g)) ids.add(a);
    const out: GoogleGroup[] = [];
    for (const id of ids) {
      const g = await this.client.group(id);
      if (g) out.push(g);
    }
    return out;
  }

  /** The users of a groups scope, read now (Google ids). */
  async scopeMemberIds(): Promise<Set<string>> {
    return this.scopeMembers(await this.readTree());
  }

  protected async writeUsers(users: GoogleUser[], tx?: Transaction): Promise<void> {
    const pulled = await mapSliced(users, (u) => toPulledUser(u, this.s));
    await writeUsers(this.store, this.connectionId, this.report, pulled, tx);
  }

  protected async writeGroups(groups: GoogleGroup[], tx?: Transaction): Promise<void> {
    const pulled = groups.map((g) => toPulledGroup(g, this.s)).filter((g) => g.displayName);
    await writeGroups(this.store, this.connectionId, this.report, pulled, tx);
  }

  /** The tree's groups, and each group's users with those of its nested groups. */
  protected async writeTree(tree: GoogleTree): Promise<void> {
    const groups = [...tree.groups.values()];
    for (let i = 0; i < groups.length; i += 1_000) await this.writeGroups(groups.slice(i, i + 1_000));
    const flattened = function* () {
      for (const id of tree.groups.keys()) yield [storeId('group', id), flatten(tree, id)] as const;
    };
    await writeMemberships(
      this.store,
      this.connectionId,
      this.report,
      flattened(),
      derivedOnce((u) => storeId('user', u)),
    );
  }
}
