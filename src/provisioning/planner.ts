import { readAttribute } from './attributes';
import { jiraGroupsFor } from './groupMapping';
import { accessGroupsFor } from './rules';
import { runAtOnce, runSliced, sliceTimer } from '../slices';
import {
  PHASES,
  type Link,
  type Operation,
  type Plan,
  type PlannedOperation,
  type PlannedUser,
  type PlanInput,
  type Profile,
  PROFILE_KEY,
} from './plan';

const key = (accountId: string, groupId: string) => `${accountId}|${groupId}`;
const lower = (s: string) => s.toLowerCase();
const looksLikeEmail = (s: string | undefined) => Boolean(s && /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(s));

/**
 * Plans what Jira needs so that it matches what the IdP says, under the connection's rules: pure,
 * no I/O. Operations come in phase order (groups, users, properties, memberships, leads,
 * deprovisioning), each with its reason; what cannot be done is a warning.
 */
export function plan(input: PlanInput): Plan {
  return runAtOnce(planSteps(input));
}

/**
 * The same plan, giving the event loop back every few milliseconds of work: a plan of 100,000 users
 * takes seconds, and SCIM calls arriving meanwhile are answered between its slices.
 */
export function planSliced(input: PlanInput): Promise<Plan> {
  return runSliced(planSteps(input));
}

function* planSteps(input: PlanInput): Generator<void, Plan, void> {
  /** True once a slice of work is over: the caller yields then (sliced runs breathe there). */
  const { due } = sliceTimer();
  const ops: PlannedOperation[] = [];
  const warnings: string[] = [];
  const { rules, jira } = input;
  let accountGroups: Map<string, string[]> | undefined;
  let byAccount: Map<string, string[]> | undefined;
  let byId: Map<string, { groupId: string; name: string }> | undefined;
  let profilesWithoutKey = 0;
  const newUserDefaults = new Set(rules.groups.defaultForNewUsers.map(lower));
  /** The group ids of the memberships this connection added for an account. */
  const addedByUs = (accountId: string): string[] => {
    byAccount ??= runAtOnce(indexAddedByUs());
    return byAccount.get(accountId) ?? [];
  };
  const groupsById = () => (byId ??= new Map([...jira.groups.values()].map((g) => [g.groupId, g])));
  const push = (op: Operation, subject: string, reason: string) =>
    ops.push({ op, phase: PHASES[op.kind], subject, reason });

  // Groups the connection manages: mapping targets and the groups every user gets.
  const managedGroups = new Set<string>(rules.groups.defaultForAllUsers.map(lower));
  for (const g of input.allIdpGroups) for (const j of jiraGroupsFor(g, rules.groups)) managedGroups.add(lower(j));
  const desiredOf = new Map<string, string[]>();
  for (const u of input.users) {
    if (due()) yield;
    const desired = new Map<string, string>(rules.groups.defaultForAllUsers.map((g) => [lower(g), g]));
    for (const g of u.groups)
      for (const j of jiraGroupsFor(g, rules.groups)) {
        desired.set(lower(j), j);
        managedGroups.add(lower(j));
      }
    desiredOf.set(u.id, [...desired.values()]);
  }

  // Create missing Jira groups that someone will be added to (or note that creation is off).
  const missing = new Map<string, string>();
  const wanted = (u: PlannedUser, isNew: boolean) => [
    ...(desiredOf.get(u.id) ?? []),
    ...(isNew ? rules.groups.defaultForNewUsers : []),
  ];
  for (const u of input.users) {
    if (due()) yield;
    if (!u.active) continue;
    const link = input.links.get(u.id);
    for (const g of wanted(u, !link)) if (!jira.groups.has(lower(g))) missing.set(lower(g), g);
  }
  for (const name of missing.values()) {
    if (input.importGroups)
      push({ kind: 'createGroup', name }, `group:${name}`, `Jira has no group "${name}" and users are mapped to it`);
    else warnings.push(`Jira has no group "${name}" and group import is off: nobody is added to it.`);
  }
  const exists = (g: string) => jira.groups.has(lower(g)) || (input.importGroups && missing.has(lower(g)));

  // The indexes the users' memberships are planned from, built in slices too.
  if (input.links.size > 0) {
    accountGroups = yield* indexAccountGroups();
    byAccount = yield* indexAddedByUs();
  }
  for (const u of input.users) {
    if (due()) yield;
    const link = input.links.get(u.id);
    if (!u.active) {
      if (link && !link.deprovisioned) deprovision(u.id, link, 'is disabled in the IdP');
      continue;
    }
    const email =
      readAttribute(u.resource, rules.attributes.email) ??
      (looksLikeEmail(readAttribute(u.resource, rules.attributes.userName))
        ? readAttribute(u.resource, rules.attributes.userName)
        : undefined);
    const name = readAttribute(u.resource, rules.attributes.displayName) ?? null;
    const isNew = !link || (link.deprovisioned && rules.users.deprovision === 'deleteFromSite');
    if (isNew) {
      if (!email) {
        warnings.push(
          `User ${u.id} has no email (attribute "${rules.attributes.email}"): it cannot be found or created in Jira.`,
        );
        continue;
      }
      const create = input.importUsers;
      push(
        {
          kind: 'ensureUser',
          userId: u.id,
          email,
          displayName: name,
          products: rules.users.products,
          create,
          accessGroups: accessGroupsFor(rules.users.products, rules.users.productGroups),
          ...siteMatch(email),
        },
        `user:${u.id}`,
        create
          ? `new in the IdP: link the Jira account with email ${email}, or create it with ${rules.users.products.join(', ') || 'no products'}`
          : `new in the IdP: link the Jira account with email ${email} if there is one (user import is off)`,
      );
      for (const g of wanted(u, true))
        if (exists(g))
          push(
            { kind: 'addMember', userId: u.id, groupName: g, groupId: jira.groups.get(lower(g))?.groupId },
            `user:${u.id}`,
            `member of "${g}" by ${groupReason(g, u, input)}`,
          );
      properties(u, undefined);
      profile(u, undefined);
      continue;
    }
    if (link.deprovisioned) {
      if (!rules.users.reactivate) continue;
      push(
        {
          kind: 'reactivate',
          userId: u.id,
          accountId: link.accountId,
          enable: rules.users.deprovision === 'deactivate',
          regroup: link.removedGroups,
        },
        `user:${u.id}`,
        'active again in the IdP',
      );
    }
    for (const g of desiredOf.get(u.id) ?? []) {
      if (!exists(g)) continue;
      const group = jira.groups.get(lower(g));
      if (group && jira.members.get(group.groupId)?.has(link.accountId)) continue;
      push(
        { kind: 'addMember', userId: u.id, groupName: g, groupId: group?.groupId },
        `user:${u.id}`,
        `member of "${g}" by ${groupReason(g, u, input)}`,
      );
    }
    const desired = new Set((desiredOf.get(u.id) ?? []).map(lower));
    for (const g of managedGroupsOf(link.accountId)) {
      if (desired.has(g)) continue;
      const group = jira.groups.get(g);
      if (group && removable(link.accountId, group.groupId)) {
        push(
          {
            kind: 'removeMember',
            userId: u.id,
            accountId: link.accountId,
            groupId: group.groupId,
            groupName: group.name,
          },
          `user:${u.id}`,
          `no longer in an IdP group mapped to "${group.name}"`,
        );
      }
    }
    // Memberships this connection added to groups no IdP group maps to any more (a group renamed or
    // deleted in the IdP, a mapping removed): the IdP no longer places the user there. The default
    // groups for new users were given once and stay.
    for (const groupId of addedByUs(link.accountId)) {
      const group = groupsById().get(groupId);
      if (!group || managedGroups.has(lower(group.name)) || newUserDefaults.has(lower(group.name))) continue;
      push(
        { kind: 'removeMember', userId: u.id, accountId: link.accountId, groupId, groupName: group.name },
        `user:${u.id}`,
        `no IdP group maps to "${group.name}" any more (the connection added this membership)`,
      );
    }
    if (rules.users.update) {
      properties(u, link);
      profile(u, link);
    }
  }

  for (const id of input.departed) {
    if (due()) yield;
    const link = input.links.get(id);
    if (link && !link.deprovisioned) deprovision(id, link, 'was deleted in the IdP');
  }

  // Mirror: a managed group's members that are no linked IdP user of this connection (Jira-only members, and the
  // accounts this run will link) leave it too, except memberships another connection added. Linked accounts were
  // planned above, user by user.
  if (!rules.groups.keepExisting && input.sweep !== false) {
    const linked = input.sweep?.linked ?? new Set([...input.links.values()].map((l) => l.accountId));
    for (const g of managedGroups) {
      const group = jira.groups.get(g);
      for (const accountId of (group && jira.members.get(group.groupId)) ?? []) {
        if (due()) yield;
        if (linked.has(accountId) || input.managedByOthers.has(key(accountId, group!.groupId))) continue;
        // Before the memberships phase: an account this run links is then added back wherever the IdP places it,
        // so the mirror holds after one run for new users too.
        ops.push({
          op: { kind: 'removeMember', userId: null, accountId, groupId: group!.groupId, groupName: group!.name },
          phase: PHASES.setProperty,
          subject: `account:${accountId}`,
          reason: `mirror: the IdP does not place this Jira account in "${group!.name}" (keepExisting is off)`,
        });
      }
    }
  }

  if (profilesWithoutKey > 0)
    warnings.push(
      `${profilesWithoutKey} user${profilesWithoutKey === 1 ? "'s" : "s'"} display name, job title or department from the IdP not written to Jira: Jira updates profiles only through the organization API — save an organization API key with the site credentials.`,
    );

  return { operations: ops.sort((a, b) => a.phase - b.phase), warnings };

  /** The account → managed groups index (see managedGroupsOf), built a slice at a time. */
  function* indexAccountGroups(): Generator<void, Map<string, string[]>, void> {
    const accountGroups = new Map<string, string[]>();
    const order = new Map([...managedGroups].map((g, i) => [g, i]));
    const nameOf = new Map([...jira.groups.values()].map((g) => [g.groupId, lower(g.name)]));
    for (const [groupId, accounts] of jira.members) {
      const name = nameOf.get(groupId);
      if (name === undefined || !order.has(name)) continue;
      for (const a of accounts) {
        if (due()) yield;
        const list = accountGroups.get(a);
        if (list) list.push(name);
        else accountGroups.set(a, [name]);
      }
    }
    for (const list of accountGroups.values()) {
      if (due()) yield;
      if (list.length > 1) list.sort((x, y) => order.get(x)! - order.get(y)!);
    }
    return accountGroups;
  }

  /** The account → groups-added-by-this-connection index (see addedByUs), built a slice at a time. */
  function* indexAddedByUs(): Generator<void, Map<string, string[]>, void> {
    const byAccount = new Map<string, string[]>();
    for (const k of input.managed) {
      if (due()) yield;
      const at = k.lastIndexOf('|');
      const list = byAccount.get(k.slice(0, at));
      if (list) list.push(k.slice(at + 1));
      else byAccount.set(k.slice(0, at), [k.slice(at + 1)]);
    }
    return byAccount;
  }

  /**
   * The managed groups (lower-case names, in managedGroups' order) Jira has the account in: read
   * from an account → groups index built once, so a plan costs the memberships, not users × groups.
   */
  function managedGroupsOf(accountId: string): string[] {
    accountGroups ??= runAtOnce(indexAccountGroups());
    return accountGroups.get(accountId) ?? [];
  }

  /** May this connection take the account out of this group? Only what it added, unless mirroring. */
  function removable(accountId: string, groupId: string): boolean {
    if (!jira.members.get(groupId)?.has(accountId)) return false;
    if (input.managed.has(key(accountId, groupId))) return true;
    return !rules.groups.keepExisting && !input.managedByOthers.has(key(accountId, groupId));
  }

  function deprovision(userId: string, link: Link, why: string): void {
    const mode = rules.users.deprovision;
    if (mode === 'none') return;
    const subject = `user:${userId}`;
    if (mode === 'removeManagedGroups' || mode === 'removeProductGroups') {
      const names = mode === 'removeManagedGroups' ? [...managedGroups] : rules.users.productGroups.map(lower);
      const removed: string[] = [];
      const unsure = mode === 'removeProductGroups' && input.productGroupsKnown === false;
      for (const n of names) {
        const group = jira.groups.get(n);
        if (!group || (!unsure && !jira.members.get(group.groupId)?.has(link.accountId))) continue;
        if (
          mode === 'removeManagedGroups'
            ? !removable(link.accountId, group.groupId)
            : input.managedByOthers.has(key(link.accountId, group.groupId))
        )
          continue;
        removed.push(group.name);
        push(
          { kind: 'removeMember', userId, accountId: link.accountId, groupId: group.groupId, groupName: group.name },
          subject,
          `deprovisioning (${mode}): the user ${why}`,
        );
      }
      // Recorded in both modes (the link and the run's count say so); product groups come back on reactivation,
      // managed groups through the group mapping as usual.
      push(
        {
          kind: 'deprovision',
          userId,
          accountId: link.accountId,
          mode,
          removedGroups: mode === 'removeProductGroups' ? removed : [],
        },
        subject,
        `record the deprovisioning: the user ${why}`,
      );
      return;
    }
    if (rules.users.defaultProjectLead || rules.users.defaultComponentLead) {
      push(
        {
          kind: 'reassignLeads',
          userId,
          accountId: link.accountId,
          projectLead: rules.users.defaultProjectLead,
          componentLead: rules.users.defaultComponentLead,
        },
        subject,
        'hand the projects and components the user leads to the default leads first',
      );
    }
    push(
      { kind: 'deprovision', userId, accountId: link.accountId, mode, removedGroups: [] },
      subject,
      `${mode === 'deleteFromSite' ? 'remove from the site' : 'deactivate the account'}: the user ${why}`,
    );
  }

  /** What the site's account list (when read) says of an email: the one account to link, or whether any hide their emails. */
  function siteMatch(email: string): { site?: { accountId?: string; hidden: boolean } } {
    if (!jira.accounts) return {};
    const ids = jira.accounts.byEmail.get(lower(email)) ?? [];
    if (ids.length > 1) return {}; // several: the search says so, and the operation parks
    return { site: ids.length === 1 ? { accountId: ids[0], hidden: false } : { hidden: jira.accounts.hidden > 0 } };
  }

  /**
   * The profile Jira cannot set on create — display name, job title, department — written through
   * the org API when it differs from what was last written. Without an org key, one warning for all.
   */
  function profile(u: PlannedUser, link: Link | undefined): void {
    const { attributes } = rules;
    const name = readAttribute(u.resource, attributes.displayName);
    const jobTitle = attributes.jobTitle ? readAttribute(u.resource, attributes.jobTitle) : undefined;
    const department = attributes.department ? readAttribute(u.resource, attributes.department) : undefined;
    const extended = {
      ...(jobTitle === undefined ? {} : { job_title: jobTitle }),
      ...(department === undefined ? {} : { department }),
    };
    const wanted: Profile = {
      ...(name === undefined ? {} : { name }),
      ...(Object.keys(extended).length ? { extended_profile: extended } : {}),
    };
    if (Object.keys(wanted).length === 0) return;
    if (JSON.stringify(link?.properties[PROFILE_KEY]) === JSON.stringify(wanted)) return;
    // A new account's profile is Jira's own until written; an unwritten existing one is written once.
    if (!input.profiles) {
      profilesWithoutKey++;
      return;
    }
    push(
      { kind: 'updateProfile', userId: u.id, profile: wanted },
      `user:${u.id}`,
      `profile from the IdP: ${[name !== undefined && 'display name', jobTitle !== undefined && 'job title', department !== undefined && 'department'].filter(Boolean).join(', ')}`,
    );
  }

  function properties(u: PlannedUser, link: Link | undefined): void {
    for (const c of rules.attributes.custom) {
      const value = readAttribute(u.resource, c.from);
      if (value === undefined || JSON.stringify(link?.properties[c.propertyKey]) === JSON.stringify({ value }))
        continue;
      push(
        { kind: 'setProperty', userId: u.id, key: c.propertyKey, value: { value } },
        `user:${u.id}`,
        `custom attribute ${c.from} → user property ${c.propertyKey}`,
      );
    }
  }
}

/** Why a user belongs in a group: a default, a manual mapping, or on-the-fly mapping of an IdP group. */
function groupReason(group: string, u: PlannedUser, input: PlanInput): string {
  const g = lower(group);
  if (input.rules.groups.defaultForAllUsers.some((d) => lower(d) === g)) return 'the default groups for all users';
  if (input.rules.groups.defaultForNewUsers.some((d) => lower(d) === g)) return 'the default groups for new users';
  const source = u.groups.find((idp) => jiraGroupsFor(idp, input.rules.groups).some((j) => lower(j) === g));
  return source ? `mapping of IdP group "${source}"` : 'the rules';
}
