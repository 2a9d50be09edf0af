import type { JiraClient } from '../jira/client';
import { collect } from '../jira/paging';
import { jiraGroupsFor } from './planning/groupMapping';
import type { JiraState } from './planning/types';
import type { Rules } from './rules';

/**
 * Reads what the planner needs to know of Jira: every group (by name), and the members of the
 * groups this connection manages (plus the product-access groups when deprovisioning removes them).
 */
export async function readJiraState(
  jira: JiraClient,
  rules: Rules,
  allIdpGroups: string[],
  opts: { accounts?: boolean } = {},
): Promise<JiraState> {
  const accounts = opts.accounts ? readAccounts(jira) : undefined;
  const groups = new Map<string, { groupId: string; name: string }>();
  for await (const g of jira.allGroups()) groups.set(g.name.toLowerCase(), { groupId: g.groupId, name: g.name });
  const wanted = groupsToRead(rules, allIdpGroups);
  const members = new Map<string, Set<string>>();
  await Promise.all(
    [...wanted]
      .map((name) => groups.get(name))
      .filter((g) => g !== undefined)
      .map(async (g) => {
        const list = await collect(jira.allGroupMembers(g.groupId, true));
        members.set(g.groupId, new Set(list.map((u) => u.accountId)));
      }),
  );
  return { groups, members, ...(accounts ? { accounts: await accounts } : {}) };
}

/**
 * The site's user accounts (not apps or customers) by visible email: a run that links or creates
 * many users then needs no search per user — 1 call per 1000 accounts instead of one per user.
 */
async function readAccounts(jira: JiraClient): Promise<NonNullable<JiraState['accounts']>> {
  const byEmail = new Map<string, string[]>();
  let hidden = 0;
  for await (const u of jira.allUsers()) {
    // Apps and customers are never linked; a deactivated account is left to POST /user's answer (400).
    if (u.accountType !== 'atlassian' || u.active === false) continue;
    if (!u.emailAddress) {
      hidden++;
      continue;
    }
    const email = u.emailAddress.toLowerCase();
    byEmail.set(email, [...(byEmail.get(email) ?? []), u.accountId]);
  }
  return { byEmail, hidden };
}

/** The Jira groups (lower-case names) whose members a plan needs: the managed groups, and the product groups when deprovisioning removes them. */
export function groupsToRead(rules: Rules, allIdpGroups: string[]): Set<string> {
  const wanted = new Set<string>(rules.groups.defaultForAllUsers.map((g) => g.toLowerCase()));
  for (const g of allIdpGroups) for (const j of jiraGroupsFor(g, rules.groups)) wanted.add(j.toLowerCase());
  if (rules.users.deprovision === 'removeProductGroups')
    rules.users.productGroups.forEach((g) => wanted.add(g.toLowerCase()));
  return wanted;
}
