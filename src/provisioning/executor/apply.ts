import { isAlreadyMember, type JiraClient } from '../../jira/client';
import { JiraError } from '../../jira/errors';
import { collect, pageThrough } from '../../jira/paging';
import type { JiraStateStore } from '../jiraStateStore';
import type { LinkRepository } from '../links';
import type { ManagedMemberships } from '../managedMemberships';
import { PROFILE_KEY, type Operation } from '../plan';
import type { StoredOperation } from './queue';
import type { CustomerGrants } from '../customerGrants';
import { applyCustomerOperation } from './applyCustomers';

import { CannotApply, type Outcome } from './outcome';

export { CannotApply, type Outcome } from './outcome';

/**
 * Applies one operation to Jira through the client, idempotently: applying a done operation again
 * is harmless ("already a member" is success, a group that exists is looked up, a user already
 * gone is gone). Links, written properties and managed memberships are recorded as it goes.
 */
export async function applyOperation(
  op: StoredOperation,
  jira: JiraClient,
  records: { links: LinkRepository; managed: ManagedMemberships; jiraState: JiraStateStore; grants: CustomerGrants },
  groups: GroupIds,
): Promise<Outcome> {
  const groupId = (jiraClient: JiraClient, name: string) => groups.get(op.clientKey, name, jiraClient);
  const o = op.payload as unknown as Operation;
  const accountOf = async (userId: string) => {
    const link = await records.links.get(op.connectionId, userId);
    if (!link) throw new CannotApply('the user has no Jira account yet: see its ensureUser operation');
    return link.accountId;
  };
  switch (o.kind) {
    case 'createGroup': {
      try {
        const created = await jira.createGroup(o.name);
        groups.set(op.clientKey, created.name, created.groupId);
        await records.jiraState.groupSeen(op.clientKey, created.groupId, created.name, true);
        return 'created';
      } catch (err) {
        // "A group with this name already exists": someone (or an earlier attempt of ours) made it.
        const existing = err instanceof JiraError && err.status === 400 ? await groupId(jira, o.name) : undefined;
        if (!existing) throw err;
        await records.jiraState.groupSeen(op.clientKey, existing, o.name, false);
        return 'existed';
      }
    }
    case 'ensureUser': {
      // The site's account list (read by this full reconciliation) named the account: no call.
      if (o.site?.accountId) {
        await records.links.save(op.connectionId, o.userId, o.site.accountId, o.email);
        return 'linked';
      }
      // An earlier run's operation for this user, superseded by this run's, may have linked it already.
      const linked = await records.links.get(op.connectionId, o.userId);
      if (linked && !linked.deprovisioned) return 'linked';
      // Create first: Jira's answer to a create of an existing account is safe (201 with that very
      // account when it has Jira access, whatever its profile shows of its email; 400 when it has
      // none, which a search then resolves), so one call links or creates. A search comes first only
      // when user import is off (nothing may be created).
      const searchFirst = !o.create;
      if (searchFirst) {
        const found = await findAccount(jira, o.email);
        // Only the organization's directory knew it: an account Jira's search does not show may lack Jira access.
        if (found?.via === 'org' && o.create) return grantAccess(found.accountId, o, op, jira, records, groupId);
        if (found) {
          await records.links.save(op.connectionId, o.userId, found.accountId, o.email);
          return 'linked';
        }
        if (!o.create) throw new CannotApply(`no Jira account has the email ${o.email}, and user import is off`);
      }
      // Jira creates the account, or answers 201 with the account the email already has when it has
      // Jira access — never a second account. Its 400 (an account without Jira access, or a full
      // licence) is an answer to read.
      try {
        const created = await jira.createUser(o.email, o.products as never);
        await records.links.save(op.connectionId, o.userId, created.accountId, o.email);
        return 'created';
      } catch (err) {
        const refused = createRefused(err, o.email);
        if (!refused) throw err;
        // The search already said nobody has the email (when it came first): asking again would say the same.
        const found = refused.exists && !searchFirst ? await findAccount(jira, o.email) : undefined;
        if (!found) throw refused;
        return grantAccess(found.accountId, o, op, jira, records, groupId);
      }
    }
    case 'setProperty': {
      await jira.setUserProperty(await accountOf(o.userId), o.key, o.value);
      await records.links.saveProperty(op.connectionId, o.userId, o.key, o.value);
      return 'updated';
    }
    case 'updateProfile': {
      try {
        await jira.updateManagedProfile(await accountOf(o.userId), o.profile);
      } catch (err) {
        // The org API manages only its organization's (managed) accounts: for the others Jira keeps the
        // profile its owner set. Recorded as written, so it is not tried again until the IdP changes it.
        if (!(err instanceof JiraError && (err.status === 404 || err.status === 403))) throw err;
        await records.links.saveProperty(op.connectionId, o.userId, PROFILE_KEY, o.profile);
        return 'not-managed';
      }
      await records.links.saveProperty(op.connectionId, o.userId, PROFILE_KEY, o.profile);
      return 'updated';
    }
    case 'addMember': {
      const accountId = await accountOf(o.userId);
      const gid = o.groupId ?? (await groupId(jira, o.groupName));
      if (!gid) throw new CannotApply(`Jira has no group "${o.groupName}"`);
      try {
        await jira.addUserToGroup(gid, accountId);
      } catch (err) {
        if (!isAlreadyMember(err)) throw err;
        // Already a member: ours if an earlier attempt of this very operation added it.
        if (op.attempts > 1) await records.managed.add(op.connectionId, accountId, gid, o.groupName);
        await records.jiraState.memberAdded(op.clientKey, gid, accountId);
        return 'already';
      }
      await records.managed.add(op.connectionId, accountId, gid, o.groupName);
      await records.jiraState.memberAdded(op.clientKey, gid, accountId);
      return 'added';
    }
    case 'removeMember': {
      try {
        await jira.removeUserFromGroup(o.groupId, o.accountId);
      } catch (err) {
        if (!(
          err instanceof JiraError &&
          (err.status === 404 || (err.status === 400 && /not a member/i.test(err.message)))
        ))
          throw err;
        await records.managed.remove(op.connectionId, o.accountId, o.groupId);
        await records.jiraState.memberRemoved(op.clientKey, o.groupId, o.accountId);
        return 'absent';
      }
      await records.managed.remove(op.connectionId, o.accountId, o.groupId);
      await records.jiraState.memberRemoved(op.clientKey, o.groupId, o.accountId);
      return 'removed';
    }
    case 'reassignLeads': {
      let moved = 0;
      const projects = await collect(pageThrough((startAt) => jira.searchProjects(startAt)));
      for (const p of projects) {
        if (o.projectLead && p.lead?.accountId === o.accountId) {
          await jira.setProjectLead(p.key, o.projectLead);
          moved++;
        }
        if (o.componentLead) {
          for (const c of await jira.projectComponents(p.key)) {
            if (c.lead?.accountId !== o.accountId) continue;
            await jira.setComponentLead(c.id, o.componentLead);
            moved++;
          }
        }
      }
      return moved ? 'reassigned' : 'nothing-led';
    }
    case 'deprovision': {
      if (o.mode === 'deleteFromSite') {
        try {
          await jira.deleteUser(o.accountId);
        } catch (err) {
          if (!(err instanceof JiraError && err.status === 404)) throw err;
        }
        await records.jiraState.accountRemoved(op.clientKey, o.accountId);
      } else if (o.mode === 'deactivate') {
        await jira.disableAccount(o.accountId, 'Disabled or removed in the identity provider');
      }
      await records.links.setDeprovisioned(op.connectionId, o.userId, true, o.removedGroups);
      return 'deprovisioned';
    }
    case 'reactivate': {
      // Deactivated accounts are enabled (org API key); product-group deprovisioning is undone by re-adding.
      if (o.enable) await jira.enableAccount(o.accountId);
      for (const name of o.regroup) {
        const gid = await groupId(jira, name);
        if (!gid) continue;
        await jira.addUserToGroup(gid, o.accountId).catch((err) => {
          if (!isAlreadyMember(err)) throw err;
        });
        await records.jiraState.memberAdded(op.clientKey, gid, o.accountId);
      }
      await records.links.setDeprovisioned(op.connectionId, o.userId, false);
      return 'reactivated';
    }
    case 'ensureCustomer':
    case 'grantAccess':
    case 'revokeAccess':
      return applyCustomerOperation(op, o, jira, records, findAccount);
  }
}

/** An existing account without Jira access, linked: it joins the product-access groups that give the rules' products. */
async function grantAccess(
  accountId: string,
  o: Extract<Operation, { kind: 'ensureUser' }>,
  op: StoredOperation,
  jira: JiraClient,
  records: { links: LinkRepository; jiraState: JiraStateStore },
  groupId: (jira: JiraClient, name: string) => Promise<string | undefined>,
): Promise<Outcome> {
  await records.links.save(op.connectionId, o.userId, accountId, o.email);
  let granted = 0;
  for (const name of o.accessGroups ?? []) {
    const gid = await groupId(jira, name);
    if (!gid) continue;
    await jira.addUserToGroup(gid, accountId).catch((e: unknown) => {
      if (!isAlreadyMember(e)) throw e;
    });
    await records.jiraState.memberAdded(op.clientKey, gid, accountId);
    granted++;
  }
  if (granted === 0)
    throw new CannotApply(
      `linked the existing account of ${o.email}, which has no Jira access; no product-access group (${(o.accessGroups ?? []).join(', ') || 'none configured'}) exists in Jira to give it: give it access in Atlassian Administration, or list the site's product groups in the rules`,
    );
  return 'linked-access-granted';
}

/**
 * Jira group IDs by name, per tenant, learnt from lookups and from groups this instance created,
 * so memberships of a new group do not look the group up one by one. Group IDs never change.
 */
export class GroupIds {
  private readonly known = new Map<string, Map<string, string>>();

  set(clientKey: string, name: string, groupId: string): void {
    let tenant = this.known.get(clientKey);
    if (!tenant) this.known.set(clientKey, (tenant = new Map<string, string>()));
    if (tenant.size > 50_000) tenant.clear();
    tenant.set(name.toLowerCase(), groupId);
  }

  /** The ID of a group by its name (case-insensitive), looked up in Jira when not known; undefined when there is none. */
  async get(clientKey: string, name: string, jira: JiraClient): Promise<string | undefined> {
    const cached = this.known.get(clientKey)?.get(name.toLowerCase());
    if (cached) return cached;
    const page = await jira.listGroups({ groupName: [name], maxResults: 10 });
    const found = page.values.find((g) => g.name.toLowerCase() === name.toLowerCase());
    if (found) this.set(clientKey, found.name, found.groupId);
    return found?.groupId;
  }
}

/**
 * The one account of an email: Jira's search by the whole address — the answer whose email equals
 * it, or, when the account's profile hides its email (the answer has none), the one account Jira
 * found — then, with an org key, the organization's directory, which matches emails exactly whatever
 * the profile shows and also sees accounts without Jira access. Several candidates cannot be told
 * apart: the operation parks.
 */
async function findAccount(
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

/** Jira's 400 to `POST /user`: an account that exists without Jira access, or a full licence, said in words. */
class CreateRefused extends CannotApply {
  constructor(
    message: string,
    readonly exists: boolean,
  ) {
    super(message);
  }
}

function createRefused(err: unknown, email: string): CreateRefused | undefined {
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
