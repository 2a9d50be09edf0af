import { jiraGroupsFor } from './groupMapping';
import { lower, type PlanContext, type Steps } from './context';

/**
 * The groups: which ones the connection manages and which each user should be in (the defaults for
 * all users and what the IdP groups map to), then the Jira groups someone will be added to that Jira
 * lacks — created, or a warning when group import is off.
 */
export function* planGroups(ctx: PlanContext): Steps {
  const { input, rules, jira } = ctx;
  for (const g of input.allIdpGroups) for (const j of jiraGroupsFor(g, rules.groups)) ctx.managedGroups.add(lower(j));
  for (const u of input.users) {
    if (ctx.due()) yield;
    const desired = new Map<string, string>(rules.groups.defaultForAllUsers.map((g) => [lower(g), g]));
    for (const g of u.groups)
      for (const j of jiraGroupsFor(g, rules.groups)) {
        desired.set(lower(j), j);
        ctx.managedGroups.add(lower(j));
      }
    ctx.desiredOf.set(u.id, [...desired.values()]);
  }
  for (const u of input.users) {
    if (ctx.due()) yield;
    if (!u.active) continue;
    const link = input.links.get(u.id);
    for (const g of ctx.wanted(u, !link)) if (!jira.groups.has(lower(g))) ctx.missing.set(lower(g), g);
  }
  for (const name of ctx.missing.values()) {
    if (input.importGroups)
      ctx.push(
        { kind: 'createGroup', name },
        `group:${name}`,
        `Jira has no group "${name}" and users are mapped to it`,
      );
    else ctx.warnings.push(`Jira has no group "${name}" and group import is off: nobody is added to it.`);
  }
}
