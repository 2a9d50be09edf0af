import type { JiraClient } from '../../jira/client';
import { JiraError } from '../../jira/errors';
import type { CustomerGrants } from '../customerGrants';
import type { LinkRepository } from '../links';
import type { Operation } from '../plan';
import type { StoredOperation } from './queue';
import { CannotApply, type Outcome } from './outcome';

type CustomerOperation = Extract<Operation, { kind: 'ensureCustomer' | 'grantAccess' | 'revokeAccess' }>;

/**
 * Applies a JSM Customer Sync operation, idempotently: a customer is linked to the account its email
 * has or created (JSM answers 409 for an email that has an account: it is linked, never made
 * twice); portal access and organization membership are granted and withdrawn for up to 50
 * accounts per call, and recorded as this connection's grants.
 */
export async function applyCustomerOperation(
  op: StoredOperation,
  o: CustomerOperation,
  jira: JiraClient,
  records: { links: LinkRepository; grants: CustomerGrants },
  findAccount: (jira: JiraClient, email: string) => Promise<{ accountId: string } | undefined>,
): Promise<Outcome> {
  switch (o.kind) {
    case 'ensureCustomer': {
      if (!o.create) {
        const found = await findAccount(jira, o.email);
        if (!found) throw new CannotApply(`no account has the email ${o.email}, and user import is off`);
        await records.links.save(op.connectionId, o.userId, found.accountId, o.email);
        return 'linked';
      }
      try {
        const created = await jira.createCustomer(o.email, o.displayName ?? o.email);
        await records.links.save(op.connectionId, o.userId, created.accountId, o.email);
        return 'created';
      } catch (err) {
        if (!(err instanceof JiraError) || (err.status !== 409 && err.status !== 400)) throw err;
        // 409: the email has an account (a licensed user, or an earlier attempt of ours): link it.
        const found = err.status === 409 ? await findAccount(jira, o.email) : undefined;
        if (found) {
          await records.links.save(op.connectionId, o.userId, found.accountId, o.email);
          return 'linked';
        }
        throw new CannotApply(
          err.status === 409
            ? `JSM says ${o.email} has an account already, but no search finds it (its profile may hide the email: an organization API key lets the sync ask the organization's directory)`
            : `JSM refused to create the customer ${o.email}: ${err.message}`,
        );
      }
    }
    case 'grantAccess': {
      const links = await records.links.all(op.connectionId, o.userIds);
      const accountIds = [...new Set(o.userIds.flatMap((id) => links.get(id)?.accountId ?? []))];
      if (accountIds.length === 0)
        throw new CannotApply(
          `none of these ${o.userIds.length} user(s) is a customer yet: see their ensureCustomer operations`,
        );
      try {
        if (o.target === 'desk') await jira.addCustomersToServiceDesk(o.targetId, accountIds);
        else await jira.addToOrganization(o.targetId, accountIds);
      } catch (err) {
        if (isGone(err)) throw new CannotApply(gone(o.target, o.targetId, err));
        throw err;
      }
      await records.grants.add(op.connectionId, o.target, o.targetId, accountIds);
      const missing = o.userIds.length - accountIds.length;
      return missing > 0 ? `granted (${missing} not customers yet)` : 'granted';
    }
    case 'revokeAccess': {
      try {
        if (o.target === 'desk') await jira.removeCustomersFromServiceDesk(o.targetId, o.accountIds);
        else await jira.removeFromOrganization(o.targetId, o.accountIds);
      } catch (err) {
        // The desk or organization is gone, and the access with it: nothing left to withdraw.
        if (isGone(err)) {
          await records.grants.remove(op.connectionId, o.target, o.targetId, o.accountIds);
          return 'target-gone';
        }
        // A desk anyone may use (open access, public signup) keeps no customer list to remove from: JSM says 400.
        if (!(o.target === 'desk' && err instanceof JiraError && err.status === 400)) throw err;
        await records.grants.remove(op.connectionId, o.target, o.targetId, o.accountIds);
        return 'open-access-desk';
      }
      await records.grants.remove(op.connectionId, o.target, o.targetId, o.accountIds);
      return 'withdrawn';
    }
  }
}

/** The words that say a rule names a desk or organization JSM no longer has (the run's notes pick them out). */
export const GONE_MARK = 'no longer exists: remove it from the rules';

function isGone(err: unknown): err is JiraError {
  return err instanceof JiraError && err.status === 404;
}

/** "service desk 999 no longer exists: remove it from the rules (JSM: …)", in JSM's own words rather than an HTTP path. */
function gone(target: 'desk' | 'org', id: string, err: JiraError): string {
  const said = err.details.errorMessages?.join(' ') || 'not found';
  return `${target === 'desk' ? 'service desk' : 'JSM organization'} ${id} ${GONE_MARK} (JSM: ${said})`;
}
