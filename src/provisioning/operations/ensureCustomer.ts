import { JiraError } from '../../jira/errors';
import { findAccount } from './accounts';
import { CannotApply, type OperationKind } from './kind';

/**
 * A JSM customer for the IdP user: linked to the account its email has, or created (JSM answers 409
 * for an email that has an account: it is linked, never made twice).
 */
export const ensureCustomer: OperationKind<'ensureCustomer'> = {
  async apply(o, { op, jira, records }) {
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
  },
  needs: {},
  counters: { created: 'customersCreated', linked: 'customersLinked' },
  details: (o) => ({ kind: o.kind, userId: o.userId, email: o.email, displayName: o.displayName, create: o.create }),
  person: (o) => ({ email: o.email, displayName: o.displayName }),
};
