import { PHASES, type Link } from './types';
import { key, lower, type PlanContext, type Steps } from './context';

/**
 * Deprovisioning a user the IdP disabled or deleted, by the rules' mode: out of the managed (or
 * product) groups and recorded, or the projects and components they lead handed over first, then
 * the account deactivated or removed from the site.
 */
export function planDeprovision(ctx: PlanContext, userId: string, link: Link, why: string): void {
  const { rules } = ctx;
  const mode = rules.users.deprovision;
  if (mode === 'none') return;
  const subject = `user:${userId}`;
  if (mode === 'removeManagedGroups' || mode === 'removeProductGroups') {
    const removed = removeGroups(ctx, userId, link, mode, why);
    // Recorded in both modes (the link and the run's count say so); product groups come back on reactivation,
    // managed groups through the group mapping as usual.
    ctx.push(
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
    ctx.push(
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
  ctx.push(
    { kind: 'deprovision', userId, accountId: link.accountId, mode, removedGroups: [] },
    subject,
    `${mode === 'deleteFromSite' ? 'remove from the site' : 'deactivate the account'}: the user ${why}`,
  );
}

/** The memberships a group-removing deprovisioning takes away; the names of the groups. */
function removeGroups(
  ctx: PlanContext,
  userId: string,
  link: Link,
  mode: 'removeManagedGroups' | 'removeProductGroups',
  why: string,
): string[] {
  const { input, jira } = ctx;
  const names = mode === 'removeManagedGroups' ? [...ctx.managedGroups] : ctx.rules.users.productGroups.map(lower);
  const removed: string[] = [];
  const unsure = mode === 'removeProductGroups' && input.productGroupsKnown === false;
  for (const n of names) {
    const group = jira.groups.get(n);
    if (!group || (!unsure && !jira.members.get(group.groupId)?.has(link.accountId))) continue;
    if (
      mode === 'removeManagedGroups'
        ? !ctx.removable(link.accountId, group.groupId)
        : input.managedByOthers.has(key(link.accountId, group.groupId))
    )
      continue;
    removed.push(group.name);
    ctx.push(
      { kind: 'removeMember', userId, accountId: link.accountId, groupId: group.groupId, groupName: group.name },
      `user:${userId}`,
      `deprovisioning (${mode}): the user ${why}`,
    );
  }
  return removed;
}

/** Users deleted in the IdP: deprovisioned. */
export function* planDeparted(ctx: PlanContext): Steps {
  for (const id of ctx.input.departed) {
    if (ctx.due()) yield;
    const link = ctx.input.links.get(id);
    if (link && !link.deprovisioned) planDeprovision(ctx, id, link, 'was deleted in the IdP');
  }
}

/**
 * Mirror: a managed group's members that are no linked IdP user of this connection (Jira-only
 * members, and the accounts this run will link) leave it too, except memberships another connection
 * added. Linked accounts are planned user by user (users.ts).
 */
export function* planMirror(ctx: PlanContext): Steps {
  const { input, jira } = ctx;
  if (ctx.rules.groups.keepExisting || input.sweep === false) return;
  const linked = input.sweep?.linked ?? new Set([...input.links.values()].map((l) => l.accountId));
  for (const g of ctx.managedGroups) {
    const group = jira.groups.get(g);
    for (const accountId of (group && jira.members.get(group.groupId)) ?? []) {
      if (ctx.due()) yield;
      if (linked.has(accountId) || input.managedByOthers.has(key(accountId, group!.groupId))) continue;
      // Before the memberships phase: an account this run links is then added back wherever the IdP places it,
      // so the mirror holds after one run for new users too.
      ctx.ops.push({
        op: { kind: 'removeMember', userId: null, accountId, groupId: group!.groupId, groupName: group!.name },
        phase: PHASES.setProperty,
        subject: `account:${accountId}`,
        reason: `mirror: the IdP does not place this Jira account in "${group!.name}" (keepExisting is off)`,
      });
    }
  }
}
