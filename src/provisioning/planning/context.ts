import { jiraGroupsFor } from './groupMapping';
import { runAtOnce, sliceTimer } from '../../slices';
import { PHASES, type Operation, type PlannedOperation, type PlannedUser, type PlanInput } from './types';

export const key = (accountId: string, groupId: string) => `${accountId}|${groupId}`;
export const lower = (s: string) => s.toLowerCase();

/** Work that yields between slices (see slices.ts): `yield*` it from the plan's generator. */
export type Steps<R = void> = Generator<void, R, void>;

/**
 * What one plan shares among its parts (groups.ts, users.ts, deprovision.ts, profiles.ts): the
 * input, the operations and warnings so far, the groups the connection manages and each user's
 * desired groups, and the indexes built once a plan (so a plan costs the memberships, not users ×
 * groups). Pure: no I/O.
 */
export class PlanContext {
  readonly ops: PlannedOperation[] = [];
  readonly warnings: string[] = [];
  /** True once a slice of work is over: the plan yields then (sliced runs breathe there). */
  readonly due: () => boolean;
  readonly rules: PlanInput['rules'];
  readonly jira: PlanInput['jira'];
  /** Groups the connection manages (lower case): mapping targets and the groups every user gets. */
  readonly managedGroups: Set<string>;
  /** Each user's desired Jira groups (defaults for all users and mapped groups). */
  readonly desiredOf = new Map<string, string[]>();
  /** Jira groups someone will be added to that Jira lacks (lower case → name). */
  readonly missing = new Map<string, string>();
  readonly newUserDefaults: Set<string>;
  /** Profiles the IdP gives that Jira cannot take without an organization API key. */
  profilesWithoutKey = 0;
  private accountGroups?: Map<string, string[]>;
  private byAccount?: Map<string, string[]>;
  private byId?: Map<string, { groupId: string; name: string }>;

  constructor(readonly input: PlanInput) {
    this.due = sliceTimer().due;
    this.rules = input.rules;
    this.jira = input.jira;
    this.managedGroups = new Set<string>(this.rules.groups.defaultForAllUsers.map(lower));
    this.newUserDefaults = new Set(this.rules.groups.defaultForNewUsers.map(lower));
  }

  push(op: Operation, subject: string, reason: string): void {
    this.ops.push({ op, phase: PHASES[op.kind], subject, reason });
  }

  /** The groups a user should be in: desired ones, and for a new user the defaults for new users. */
  wanted(u: PlannedUser, isNew: boolean): string[] {
    return [...(this.desiredOf.get(u.id) ?? []), ...(isNew ? this.rules.groups.defaultForNewUsers : [])];
  }

  /** A group Jira has, or that this plan creates. */
  exists(g: string): boolean {
    return this.jira.groups.has(lower(g)) || (this.input.importGroups && this.missing.has(lower(g)));
  }

  groupsById(): Map<string, { groupId: string; name: string }> {
    return (this.byId ??= new Map([...this.jira.groups.values()].map((g) => [g.groupId, g])));
  }

  /** Builds the indexes memberships are planned from, a slice at a time. */
  *index(): Steps {
    this.accountGroups = yield* this.indexAccountGroups();
    this.byAccount = yield* this.indexAddedByUs();
  }

  /** The group ids of the memberships this connection added for an account. */
  addedByUs(accountId: string): string[] {
    this.byAccount ??= runAtOnce(this.indexAddedByUs());
    return this.byAccount.get(accountId) ?? [];
  }

  /**
   * The managed groups (lower-case names, in managedGroups' order) Jira has the account in: read
   * from an account → groups index built once, so a plan costs the memberships, not users × groups.
   */
  managedGroupsOf(accountId: string): string[] {
    this.accountGroups ??= runAtOnce(this.indexAccountGroups());
    return this.accountGroups.get(accountId) ?? [];
  }

  /** May this connection take the account out of this group? Only what it added, unless mirroring. */
  removable(accountId: string, groupId: string): boolean {
    if (!this.jira.members.get(groupId)?.has(accountId)) return false;
    if (this.input.managed.has(key(accountId, groupId))) return true;
    return !this.rules.groups.keepExisting && !this.input.managedByOthers.has(key(accountId, groupId));
  }

  /** Why a user belongs in a group: a default, a manual mapping, or on-the-fly mapping of an IdP group. */
  groupReason(group: string, u: PlannedUser): string {
    const g = lower(group);
    const { groups } = this.rules;
    if (groups.defaultForAllUsers.some((d) => lower(d) === g)) return 'the default groups for all users';
    if (groups.defaultForNewUsers.some((d) => lower(d) === g)) return 'the default groups for new users';
    const source = u.groups.find((idp) => jiraGroupsFor(idp, groups).some((j) => lower(j) === g));
    return source ? `mapping of IdP group "${source}"` : 'the rules';
  }

  /** The account → managed groups index (see managedGroupsOf). */
  private *indexAccountGroups(): Steps<Map<string, string[]>> {
    const accountGroups = new Map<string, string[]>();
    const order = new Map([...this.managedGroups].map((g, i) => [g, i]));
    const nameOf = new Map([...this.jira.groups.values()].map((g) => [g.groupId, lower(g.name)]));
    for (const [groupId, accounts] of this.jira.members) {
      const name = nameOf.get(groupId);
      if (name === undefined || !order.has(name)) continue;
      for (const a of accounts) {
        if (this.due()) yield;
        const list = accountGroups.get(a);
        if (list) list.push(name);
        else accountGroups.set(a, [name]);
      }
    }
    for (const list of accountGroups.values()) {
      if (this.due()) yield;
      if (list.length > 1) list.sort((x, y) => order.get(x)! - order.get(y)!);
    }
    return accountGroups;
  }

  /** The account → groups-added-by-this-connection index (see addedByUs). */
  private *indexAddedByUs(): Steps<Map<string, string[]>> {
    const byAccount = new Map<string, string[]>();
    for (const k of this.input.managed) {
      if (this.due()) yield;
      const at = k.lastIndexOf('|');
      const list = byAccount.get(k.slice(0, at));
      if (list) list.push(k.slice(at + 1));
      else byAccount.set(k.slice(0, at), [k.slice(at + 1)]);
    }
    return byAccount;
  }
}
