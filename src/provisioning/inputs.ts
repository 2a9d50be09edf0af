import type { Connection } from '../db/connections';
import type { DirectorySnapshot, SnapshotReader } from '../directory/snapshot';
import { JiraError } from '../jira/errors';
import type { JiraClientFactory } from '../jira/factory';
import { topLevelKey } from './planning/attributes';
import { jiraGroupsFor } from './planning/groupMapping';
import { groupsToRead, readJiraState } from './jiraRead';
import type { JiraStateStore } from './stores/jiraState';
import type { LinkRepository } from './stores/links';
import type { ManagedMemberships } from './stores/managedMemberships';
import type { CustomerGrants } from './stores/customerGrants';
import { planCustomers, type Place } from './planning/customers';
import { pageThroughJsm } from '../jira/paging';
import type { JsmCustomer } from '../jira/types';
import type { DirectoryChanges } from '../directory/types';
import type { JiraState, Link, Plan, PlanInput } from './planning/types';
import { planSliced } from './planning';
import { rulesOf, type Rules } from './rules';

/** From this many users to link or create, a full reconciliation reads the site's account list. */
const ACCOUNT_LIST_FROM = 10;

export interface PlansDeps {
  snapshot: SnapshotReader;
  links: LinkRepository;
  managed: ManagedMemberships;
  jiraState: JiraStateStore;
  grants: CustomerGrants;
  jira: JiraClientFactory;
}

/** A plan made (with whether it was a full reconciliation and how many users it planned), or why none could be. */
export type Planned = { kind: 'plan'; plan: Plan; full?: boolean; users: number } | { kind: 'failed'; error: string };

/**
 * How a run's plan is made: everything the pure planner needs, gathered either in full (Jira read
 * again, every user: a full reconciliation) or from directory changes (the users concerned, from the
 * Jira state the app knows).
 */
export class Plans {
  constructor(private readonly d: PlansDeps) {}

  /**
   * Snapshot + Jira state + rules → the plan (pure); 'failed' when Jira could not be read. With
   * directory changes (a SCIM-fed run), only the users concerned are planned, from the Jira state the
   * app knows (no Jira read); without, or before Jira was ever read for the site, a full
   * reconciliation: everything, from Jira read again (and remembered).
   */
  async make(connection: Connection, changes?: DirectoryChanges): Promise<Planned> {
    const rules = rulesOf(connection.settings);
    if (connection.target === 'customers') return this.customers(connection, rules, changes);
    if (changes) {
      const planned = await this.planChanges(connection, rules, changes);
      if (planned) return { kind: 'plan', plan: planned.plan, users: planned.users };
    }
    const [snapshot, departed] = await Promise.all([
      this.d.snapshot.read(connection.id, resourceKeysOf(rules)),
      this.d.links.departed(connection.id),
    ]);
    try {
      const jira = this.d.jira.forTenant(connection.clientKey);
      const [links, managed] = await Promise.all([
        this.d.links.all(connection.id),
        this.d.managed.of(connection.clientKey, connection.id),
      ]);
      // Many users to link or create: one read of the site's accounts (1 call per 1000) spares a search each.
      const unlinked = snapshot.users.filter((u) => u.active && !links.has(u.id)).length;
      const state = await readJiraState(jira, rules, snapshot.allIdpGroups, {
        accounts: unlinked >= ACCOUNT_LIST_FROM,
      });
      await this.d.jiraState.save(connection.clientKey, state);
      const planned = await planSliced({
        ...planInput(connection, rules, { snapshot, departed, links, state, managed }),
        profiles: await this.d.jira.hasOrgKey(connection.clientKey),
      });
      return { kind: 'plan', full: true, users: snapshot.users.length, plan: planned };
    } catch (err) {
      if (!(err instanceof JiraError)) throw err;
      return { kind: 'failed', error: `Could not read Jira's groups and members: ${err.message}` };
    }
  }

  /**
   * The plan for directory changes made while another run of the connection applies: only a plan of
   * the users the changes concern, from the Jira state the app knows (with the users it planned,
   * whose operations in the other runs it takes over). Undefined when the changes need more than
   * that — every user (a wide change), a full reconciliation, the mirror's sweep of unlinked
   * accounts (the other run may be linking them) or a customers connection: then it waits for the
   * run going on.
   */
  async makeOverlapping(
    connection: Connection,
    changes: DirectoryChanges,
  ): Promise<{ plan: Plan; users: number; userIds: string[] } | undefined> {
    if (connection.target === 'customers' || changes.wide) return undefined;
    const planned = await this.planChanges(connection, rulesOf(connection.settings), changes);
    return planned && !planned.sweeping && planned.userIds ? { ...planned, userIds: planned.userIds } : undefined;
  }

  /**
   * The plan for directory changes: the users concerned, their links and managed memberships, and
   * of the Jira state the app knows only the memberships of their accounts. Undefined when Jira was
   * never read for the site, or the known state lacks the members of a group the rules now manage
   * (the rules changed since Jira was last read), or a group that import would not create: then a
   * full reconciliation.
   */
  private async planChanges(
    connection: Connection,
    rules: Rules,
    changes: DirectoryChanges,
  ): Promise<{ plan: Plan; users: number; userIds?: string[]; sweeping: boolean } | undefined> {
    const { jiraState, snapshot: reader, links: linkRepo, managed: managedRepo } = this.d;
    const state = await jiraState.load(connection.clientKey); // the groups; members are added as needed
    if (!state) return undefined;
    const userIds = changes.wide ? undefined : await this.concerned(connection, rules, changes, state);
    const [snapshot, departed] = await Promise.all([
      reader.read(connection.id, resourceKeysOf(rules), userIds),
      linkRepo.departed(connection.id, userIds),
    ]);
    for (const name of groupsToRead(rules, snapshot.allIdpGroups)) {
      const group = state.groups.get(name);
      // Members never read, or (group import off) a group Jira may have gained since: read Jira again.
      if (group ? !state.members.has(group.groupId) : !connection.importGroups) return undefined;
    }
    const links = await linkRepo.all(connection.id, userIds && [...userIds, ...departed]);
    // Mirror mode, when the run links someone: that account may sit in managed groups already (the planner's sweep),
    // so every known member of the managed groups is a candidate.
    const sweeping = !!userIds && !rules.groups.keepExisting && !snapshot.users.every((u) => links.has(u.id));
    await jiraState.fillMembers(
      connection.clientKey,
      state,
      userIds && !sweeping ? { accounts: [...links.values()].map((l) => l.accountId) } : undefined,
    );
    const candidates = sweeping ? [...new Set([...state.members.values()].flatMap((m) => [...m]))] : [];
    const accounts = userIds ? [...[...links.values()].map((l) => l.accountId), ...candidates] : undefined;
    const [managed, linked] = await Promise.all([
      managedRepo.of(connection.clientKey, connection.id, accounts),
      sweeping ? linkRepo.linkedAmong(connection.id, candidates) : Promise.resolve(new Set<string>()),
    ]);
    const planned = await planSliced({
      ...planInput(connection, rules, { snapshot, departed, links, state, managed }),
      sweep: !userIds ? undefined : sweeping ? { linked } : false,
      productGroupsKnown: false,
      profiles: await this.d.jira.hasOrgKey(connection.clientKey),
    });
    return {
      plan: planned,
      users: snapshot.users.length,
      userIds: userIds && [...new Set([...userIds, ...departed])],
      sweeping,
    };
  }

  /**
   * A customers connection's plan (JSM Customer Sync): no Jira read, since it only grants and
   * withdraws what it decides itself. From changes: the changed users, the current members of
   * changed groups, and the users holding an access this connection granted through those groups
   * (they may have left them).
   */
  private async customers(connection: Connection, rules: Rules, changes?: DirectoryChanges): Promise<Planned> {
    const { snapshot: reader, links: linkRepo, grants } = this.d;
    let userIds: string[] | undefined;
    if (changes && !changes.wide) {
      const ids = new Set(changes.userIds);
      if (changes.groupIds.length > 0) {
        const { members, names } = await reader.groupsDetail(connection.id, changes.groupIds);
        members.forEach((id) => ids.add(id));
        const mapped = new Set(names.map((n) => n.toLowerCase()));
        const places = rules.customers.groups
          .filter((m) => mapped.has(m.idpGroup.toLowerCase()))
          .flatMap((m) => [...m.serviceDesks.map((id) => `desk:${id}`), ...m.organizations.map((id) => `org:${id}`)]);
        const accounts = await grants.accountsAt(connection.id, places);
        if (accounts.length > 0) (await linkRepo.usersOfAccounts(connection.id, accounts)).forEach((id) => ids.add(id));
      }
      userIds = [...ids];
    }
    const [snapshot, departed] = await Promise.all([
      reader.read(connection.id, resourceKeysOf(rules), userIds),
      linkRepo.departed(connection.id, userIds),
    ]);
    const links = await linkRepo.all(connection.id, userIds && [...userIds, ...departed]);
    const granted = await grants.of(connection.id, userIds && [...links.values()].map((l) => l.accountId));
    let current: Map<Place, Array<{ accountId: string; email?: string }>> | undefined;
    if (!rules.customers.keepExisting && !userIds) {
      try {
        current = await this.placesNow(connection, rules);
      } catch (err) {
        if (!(err instanceof JiraError)) throw err;
        return {
          kind: 'failed',
          error: `Could not read the service desks' customers and organizations' members: ${err.message}`,
        };
      }
    }
    const plan = planCustomers({
      importUsers: connection.importUsers,
      rules,
      users: snapshot.users,
      departed,
      links,
      grants: granted,
      current,
    });
    return { kind: 'plan', plan, users: snapshot.users.length, ...(userIds ? {} : { full: true }) };
  }

  /** Mirroring: who each service desk and organization the rules name has now (JSM's pages of 50). */
  private async placesNow(
    connection: Connection,
    rules: Rules,
  ): Promise<Map<Place, Array<{ accountId: string; email?: string }>>> {
    const jira = this.d.jira.forTenant(connection.clientKey);
    const c = rules.customers;
    const desks = new Set([...c.serviceDesksForAll, ...c.groups.flatMap((m) => m.serviceDesks)]);
    const orgs = new Set([...c.organizationsForAll, ...c.groups.flatMap((m) => m.organizations)]);
    const out = new Map<Place, Array<{ accountId: string; email?: string }>>();
    const read = async (
      place: Place,
      page: (start: number) => Promise<{ values: JsmCustomer[]; isLastPage: boolean }>,
    ) => {
      const members: Array<{ accountId: string; email?: string }> = [];
      for await (const v of pageThroughJsm(page)) members.push({ accountId: v.accountId, email: v.emailAddress });
      out.set(place, members);
    };
    for (const id of desks) await read(`desk:${id}`, (start) => jira.serviceDeskCustomers(id, start, 50));
    for (const id of orgs) await read(`org:${id}`, (start) => jira.organizationUsers(id, start, 50));
    return out;
  }

  /**
   * The users a change concerns: changed users, the current members of changed groups, and the
   * linked users whose accounts are in the Jira groups those groups map to (they may have left).
   */
  private async concerned(
    connection: Connection,
    rules: Rules,
    changes: DirectoryChanges,
    state: JiraState,
  ): Promise<string[]> {
    const ids = new Set(changes.userIds);
    if (changes.groupIds.length > 0) {
      const { members, names } = await this.d.snapshot.groupsDetail(connection.id, changes.groupIds);
      members.forEach((id) => ids.add(id));
      const mapped = names
        .flatMap((name) => jiraGroupsFor(name, rules.groups))
        .map((j) => state.groups.get(j.toLowerCase())?.groupId)
        .filter((id): id is string => !!id);
      await this.d.jiraState.fillMembers(connection.clientKey, state, { groupIds: mapped });
      const accounts = new Set(mapped.flatMap((id) => [...(state.members.get(id) ?? [])]));
      if (accounts.size > 0)
        (await this.d.links.usersOfAccounts(connection.id, [...accounts])).forEach((id) => ids.add(id));
    }
    return [...ids];
  }
}

/** What the planner is given: the connection's toggles and rules, the directory, links, Jira state and managed memberships. */
function planInput(
  connection: Connection,
  rules: Rules,
  d: {
    snapshot: DirectorySnapshot;
    departed: string[];
    links: Map<string, Link>;
    state: JiraState;
    managed: { mine: Set<string>; others: Set<string> };
  },
): PlanInput {
  return {
    importUsers: connection.importUsers,
    importGroups: connection.importGroups,
    rules,
    ...d.snapshot,
    departed: d.departed,
    links: d.links,
    jira: d.state,
    managed: d.managed.mine,
    managedByOthers: d.managed.others,
  };
}

/** The resource keys a plan reads: those of the attribute mapping and the custom attributes. */
function resourceKeysOf(rules: Rules): string[] {
  const a = rules.attributes;
  return [
    ...new Set(
      [
        a.userName,
        a.email,
        a.displayName,
        ...(a.jobTitle ? [a.jobTitle] : []),
        ...(a.department ? [a.department] : []),
        ...a.custom.map((c) => c.from),
        'userName',
      ].map(topLevelKey),
    ),
  ];
}
