import type { Transaction } from 'sequelize';
import type { PullStore } from '../../directory/pull';
import { mapSliced } from '../../slices';
import { atOnce, REQUESTS_AT_ONCE } from '../atOnce';
import { flatten, type GroupTree } from '../groupTree';
import type { ReadReport } from '../readReport';
import { PullFailed } from '../source';
import { WriteQueue } from '../writeQueue';
import { writeGroups, writeMemberships, writeUsers } from '../writes';
import { KeycloakError, type KeycloakClient, type KeycloakGroup, type KeycloakUser } from './client';
import { storeId, toPulledGroup, toPulledUser } from './mapping';
import type { KeycloakSettings } from './settings';

/** The groups a Keycloak read saw (subgroups as children) and their direct members, by Keycloak id. */
export type KeycloakTree = GroupTree<KeycloakGroup>;

/**
 * A full read of one Keycloak connection into the directory store: the realm's users (500 a page,
 * each page written while the next is read), then its groups — the top level, then each group's
 * subgroups (`/children`), all the way down — and each group's direct members (four groups at
 * once); or the chosen groups and everything below them, whose members are the users. Then groups
 * and memberships — a member of a subgroup is a member of every group above it,
 * as Keycloak gives it the parents' roles and attributes and its console lists it with "Include
 * sub-group users" —, and a sweep of what the read did not see.
 */
export class KeycloakFullRead {
  constructor(
    protected readonly connectionId: string,
    protected readonly s: KeycloakSettings,
    protected readonly client: KeycloakClient,
    protected readonly store: PullStore,
    protected readonly report: ReadReport,
  ) {}

  async full(): Promise<KeycloakTree> {
    const r = this.report;
    await this.store.beginFullRead(this.connectionId, r.ledger);
    const writes = new WriteQueue(2);
    let tree: KeycloakTree;
    if (this.s.scope.kind === 'groups') {
      // The chosen groups' members are the users: the tree first.
      r.step('reading groups and members');
      const memberUsers = new Map<string, KeycloakUser>();
      tree = await this.readTree(memberUsers);
      r.step('reading users');
      const inScope = this.scopeMembers(tree);
      const users = [...memberUsers.values()].filter((u) => inScope.has(String(u.id)));
      for (let i = 0; i < users.length; i += 500) {
        const page = users.slice(i, i + 500);
        await writes.push(() => this.writeUsers(page));
      }
      await writes.drain();
    } else {
      // The users first: their pages are gone before the tree is built (a lower peak of memory).
      r.step('reading users');
      for await (const page of this.client.users()) {
        r.progress.pages++;
        await writes.push(() => this.writeUsers(page));
      }
      await writes.drain();
      r.step('reading groups and members');
      tree = await this.readTree();
    }
    r.step('writing groups and memberships');
    await this.writeTree(tree);
    r.step('removing what left the scope');
    r.progress.removed += (await this.store.sweep(this.connectionId, r.ledger)).users;
    return tree;
  }

  /** The users of the chosen groups and the groups below them, by Keycloak id. */
  protected scopeMembers(tree: KeycloakTree): Set<string> {
    const out = new Set<string>();
    for (const g of tree.chosen ?? []) for (const u of flatten(tree, g)) out.add(u);
    return out;
  }

  /**
   * The scope's groups and their direct members: the realm's top-level groups and everything below,
   * or the chosen groups and everything below them. A groups scope keeps its members' users (with
   * their attributes) in `memberUsers`.
   */
  async readTree(memberUsers?: Map<string, KeycloakUser>): Promise<KeycloakTree> {
    const tree: KeycloakTree = { groups: new Map(), users: new Map(), children: new Map() };
    if (this.s.scope.kind === 'groups') {
      tree.chosen = [];
      for (const key of this.s.scope.groups) {
        const g = await this.resolve(key);
        tree.groups.set(String(g.id), g);
        tree.chosen.push(String(g.id));
      }
    } else
      for await (const page of this.client.topGroups()) {
        this.report.progress.pages++;
        for (const g of page) tree.groups.set(String(g.id), g);
      }
    await this.readMembers(tree, [...tree.groups.keys()], memberUsers);
    return tree;
  }

  /** Reads these groups' subgroups and direct members (a few at once), and those of every subgroup found. */
  protected async readMembers(
    tree: KeycloakTree,
    ids: string[],
    memberUsers?: Map<string, KeycloakUser>,
  ): Promise<void> {
    const queue = [...ids];
    // A user is in several groups: one string for its id, however many lists hold it (a realm's
    // memberships are counted in hundreds of thousands).
    const interned = new Map<string, string>();
    const intern = (id: string) => interned.get(id) ?? (interned.set(id, id), id);
    await atOnce(queue, REQUESTS_AT_ONCE, async (id) => {
      const users: string[] = [];
      const children: string[] = [];
      try {
        for await (const page of this.client.members(id, !memberUsers)) {
          this.report.progress.pages++;
          for (const u of page) {
            users.push(intern(String(u.id)));
            memberUsers?.set(String(u.id), u);
          }
        }
        const g = tree.groups.get(id);
        if (g?.subGroupCount !== 0)
          for await (const page of this.client.children(id)) {
            this.report.progress.pages++;
            for (const c of page) {
              children.push(String(c.id));
              if (tree.groups.has(String(c.id))) continue;
              tree.groups.set(String(c.id), c);
              queue.push(String(c.id));
            }
          }
      } catch (err) {
        if (!(err instanceof KeycloakError && err.status === 404)) throw err;
        tree.groups.delete(id); // deleted while the read went on: gone, as the next read will find it
        return;
      }
      tree.users.set(id, users);
      tree.children.set(id, children);
      this.report.progress.membershipsSeen += users.length;
    });
  }

  /** A chosen group by id, or by path walked from the top (`/Engineering/Platform`). */
  private async resolve(key: string): Promise<KeycloakGroup> {
    const missing = () =>
      new PullFailed(
        `The group ${key} chosen as the scope was not found in the realm ${this.s.realm}: choose it again in the connection settings.`,
      );
    if (!key.startsWith('/')) {
      const g = await this.client.group(key);
      if (!g) throw missing();
      return g;
    }
    let level: AsyncGenerator<KeycloakGroup[]> = this.client.topGroups();
    let found: KeycloakGroup | undefined;
    for (const name of key.split('/').filter(Boolean)) {
      found = undefined;
      for await (const page of level) {
        found = page.find((g) => g.name === name);
        if (found) break;
      }
      if (!found) throw missing();
      level = this.client.children(String(found.id));
    }
    if (!found) throw missing();
    return found;
  }

  /** One user (a first login) with its groups; nothing else is touched. */
  async writeOne(user: KeycloakUser, groups: KeycloakGroup[]): Promise<void> {
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

  protected async writeUsers(users: KeycloakUser[], tx?: Transaction): Promise<void> {
    const pulled = await mapSliced(users, (u) => toPulledUser(u, this.s));
    await writeUsers(this.store, this.connectionId, this.report, pulled, tx);
  }

  protected async writeGroups(groups: KeycloakGroup[], tx?: Transaction): Promise<void> {
    const pulled = groups.map((g) => toPulledGroup(g, this.s));
    await writeGroups(
      this.store,
      this.connectionId,
      this.report,
      pulled,
      tx,
      ' (name groups by path to tell them apart)',
    );
  }

  /** The tree's groups, and each group's users with those of its subgroups. */
  protected async writeTree(tree: KeycloakTree): Promise<void> {
    const groups = [...tree.groups.values()];
    for (let i = 0; i < groups.length; i += 1_000) await this.writeGroups(groups.slice(i, i + 1_000));
    const flattened = function* () {
      for (const id of tree.groups.keys()) yield [storeId('group', id), flatten(tree, id)] as const;
    };
    await writeMemberships(this.store, this.connectionId, this.report, flattened(), (u) => storeId('user', u));
    tree.users.clear(); // written: what follows (the sweep, the nesting kept) needs none of it
  }
}
