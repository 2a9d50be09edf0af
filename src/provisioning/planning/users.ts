import { readAttribute } from './attributes';
import type { Link, PlannedUser } from './types';
import { accessGroupsFor } from '../rules';
import { lower, type PlanContext, type Steps } from './context';
import { planDeprovision } from './deprovision';
import { planProfile, planProperties } from './profiles';

const looksLikeEmail = (s: string | undefined) => Boolean(s && /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(s));

/**
 * Each user of the plan: a disabled one deprovisioned; a new one linked or created, with its groups,
 * properties and profile; a linked one reactivated if it was deprovisioned, its memberships added
 * and removed, its properties and profile updated (when the rules say so).
 */
export function* planUsers(ctx: PlanContext): Steps {
  const { input, rules } = ctx;
  // The indexes the users' memberships are planned from, built in slices too.
  if (input.links.size > 0) yield* ctx.index();
  for (const u of input.users) {
    if (ctx.due()) yield;
    const link = input.links.get(u.id);
    if (!u.active) {
      if (link && !link.deprovisioned) planDeprovision(ctx, u.id, link, 'is disabled in the IdP');
      continue;
    }
    if (!link || (link.deprovisioned && rules.users.deprovision === 'deleteFromSite')) planNewUser(ctx, u);
    else planLinkedUser(ctx, u, link);
  }
}

/** A user Jira has no account linked for: link or create it (by email), with its groups, properties, profile. */
function planNewUser(ctx: PlanContext, u: PlannedUser): void {
  const { rules, input, jira } = ctx;
  const userName = readAttribute(u.resource, rules.attributes.userName);
  const email = readAttribute(u.resource, rules.attributes.email) ?? (looksLikeEmail(userName) ? userName : undefined);
  if (!email) {
    ctx.warnings.push(
      `User ${u.id} has no email (attribute "${rules.attributes.email}"): it cannot be found or created in Jira.`,
    );
    return;
  }
  const create = input.importUsers;
  ctx.push(
    {
      kind: 'ensureUser',
      userId: u.id,
      email,
      displayName: readAttribute(u.resource, rules.attributes.displayName) ?? null,
      products: rules.users.products,
      create,
      accessGroups: accessGroupsFor(rules.users.products, rules.users.productGroups),
      ...siteMatch(ctx, email),
    },
    `user:${u.id}`,
    create
      ? `new in the IdP: link the Jira account with email ${email}, or create it with ${rules.users.products.join(', ') || 'no products'}`
      : `new in the IdP: link the Jira account with email ${email} if there is one (user import is off)`,
  );
  for (const g of ctx.wanted(u, true))
    if (ctx.exists(g))
      ctx.push(
        { kind: 'addMember', userId: u.id, groupName: g, groupId: jira.groups.get(lower(g))?.groupId },
        `user:${u.id}`,
        `member of "${g}" by ${ctx.groupReason(g, u)}`,
      );
  planProperties(ctx, u, undefined);
  planProfile(ctx, u, undefined);
}

/** A linked user: reactivated if deprovisioned, memberships added and removed, properties and profile updated. */
function planLinkedUser(ctx: PlanContext, u: PlannedUser, link: Link): void {
  const { rules } = ctx;
  if (link.deprovisioned) {
    if (!rules.users.reactivate) return;
    ctx.push(
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
  planMemberships(ctx, u, link);
  if (rules.users.update) {
    planProperties(ctx, u, link);
    planProfile(ctx, u, link);
  }
}

/** A linked user's memberships: added where the IdP places them, removed where it no longer does. */
function planMemberships(ctx: PlanContext, u: PlannedUser, link: Link): void {
  const { jira } = ctx;
  for (const g of ctx.desiredOf.get(u.id) ?? []) {
    if (!ctx.exists(g)) continue;
    const group = jira.groups.get(lower(g));
    if (group && jira.members.get(group.groupId)?.has(link.accountId)) continue;
    ctx.push(
      { kind: 'addMember', userId: u.id, groupName: g, groupId: group?.groupId },
      `user:${u.id}`,
      `member of "${g}" by ${ctx.groupReason(g, u)}`,
    );
  }
  const desired = new Set((ctx.desiredOf.get(u.id) ?? []).map(lower));
  for (const g of ctx.managedGroupsOf(link.accountId)) {
    if (desired.has(g)) continue;
    const group = jira.groups.get(g);
    if (group && ctx.removable(link.accountId, group.groupId))
      ctx.push(
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
  // Memberships this connection added to groups no IdP group maps to any more (a group renamed or
  // deleted in the IdP, a mapping removed): the IdP no longer places the user there. The default
  // groups for new users were given once and stay.
  for (const groupId of ctx.addedByUs(link.accountId)) {
    const group = ctx.groupsById().get(groupId);
    if (!group || ctx.managedGroups.has(lower(group.name)) || ctx.newUserDefaults.has(lower(group.name))) continue;
    ctx.push(
      { kind: 'removeMember', userId: u.id, accountId: link.accountId, groupId, groupName: group.name },
      `user:${u.id}`,
      `no IdP group maps to "${group.name}" any more (the connection added this membership)`,
    );
  }
}

/** What the site's account list (when read) says of an email: the one account to link, or whether any hide their emails. */
function siteMatch(ctx: PlanContext, email: string): { site?: { accountId?: string; hidden: boolean } } {
  const { accounts } = ctx.jira;
  if (!accounts) return {};
  const ids = accounts.byEmail.get(lower(email)) ?? [];
  if (ids.length > 1) return {}; // several: the search says so, and the operation parks
  return { site: ids.length === 1 ? { accountId: ids[0], hidden: false } : { hidden: accounts.hidden > 0 } };
}
