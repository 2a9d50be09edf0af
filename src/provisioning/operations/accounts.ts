import { isAlreadyMember, type JiraClient } from '../../jira/client';
import { JiraError } from '../../jira/errors';
import { CannotApply, type ApplyContext, type Op, type Outcome } from './kind';

/* Finding the account an email has, and what linking one without Jira access takes: ensureUser's and ensureCustomer's. */

/**
 * The one account of an email: Jira's search by the whole address — the answer whose email equals
 * it, or, when the account's profile hides its email (the answer has none), the one account Jira
 * found — then, with an org key, the organization's directory, which matches emails exactly whatever
 * the profile shows and also sees accounts without Jira access. Several candidates cannot be told
 * apart: the operation parks.
 */
export async function findAccount(
  jira: JiraClient,
  email: string,
): Promise<{ accountId: string; via: 'search' | 'org' } | undefined> {
  const people = (await jira.searchUsers(email, 20)).filter((u) => u.accountType !== 'app');
  const exact = people.filter((u) => u.emailAddress?.toLowerCase() === email.toLowerCase());
  const hidden = people.filter((u) => !u.emailAddress);
  if (exact.length > 1) throw new CannotApply(`several Jira accounts have the email ${email}`);
  if (exact.length === 1) return { accountId: exact[0].accountId, via: 'search' };
  if (hidden.length === 1) return { accountId: hidden[0].accountId, via: 'search' };
  const org = await jira.orgAccountsByEmail(email);
  const inOrg = (org ?? []).filter((u) => !u.email || u.email.toLowerCase() === email.toLowerCase());
  if (inOrg.length === 1) return { accountId: inOrg[0].accountId, via: 'org' };
  if (inOrg.length > 1) throw new CannotApply(`the organization has ${inOrg.length} accounts with the email ${email}`);
  if (hidden.length > 1)
    throw new CannotApply(
      `Jira found ${hidden.length} accounts for ${email} whose emails are hidden, and cannot say which is this user's${org ? '' : ": an organization API key lets the sync ask the organization's directory"}`,
    );
  return undefined;
}

/** An existing account without Jira access, linked: it joins the product-access groups that give the rules' products. */
export async function grantProductAccess(accountId: string, o: Op<'ensureUser'>, x: ApplyContext): Promise<Outcome> {
  await x.records.links.save(x.op.connectionId, o.userId, accountId, o.email);
  let granted = 0;
  for (const name of o.accessGroups ?? []) {
    const gid = await x.groupId(name);
    if (!gid) continue;
    await x.jira.addUserToGroup(gid, accountId).catch((e: unknown) => {
      if (!isAlreadyMember(e)) throw e;
    });
    await x.records.jiraState.memberAdded(x.op.clientKey, gid, accountId);
    granted++;
  }
  if (granted === 0)
    throw new CannotApply(
      `linked the existing account of ${o.email}, which has no Jira access; no product-access group (${(o.accessGroups ?? []).join(', ') || 'none configured'}) exists in Jira to give it: give it access in Atlassian Administration, or list the site's product groups in the rules`,
    );
  return 'linked-access-granted';
}

/** Jira's 400 to `POST /user`: an account that exists without Jira access, or a full licence, said in words. */
export class CreateRefused extends CannotApply {
  constructor(
    message: string,
    readonly exists: boolean,
  ) {
    super(message);
  }
}

export function createRefused(err: unknown, email: string): CreateRefused | undefined {
  if (!(err instanceof JiraError) || err.status !== 400) return undefined;
  const said = (err.details.errorMessages ?? []).join(' ');
  if (/already exists/i.test(said))
    return new CreateRefused(
      `an Atlassian account with ${email} already exists but has no access to Jira, and neither Jira's search nor the organization's directory shows it: give it Jira access in Atlassian Administration (Directory → Users → ${email}), and the next sync links it`,
      true,
    );
  if (/licen[cs]e|user limit|maximum number of users|seats?/i.test(said))
    return new CreateRefused(
      `Jira's licence is full: no seat is left for ${email}. Free a seat or raise the user tier in Atlassian Administration (Billing), and the next sync creates the user`,
      false,
    );
  return new CreateRefused(`Jira refused to create ${email}: ${said || err.message}`, false);
}
