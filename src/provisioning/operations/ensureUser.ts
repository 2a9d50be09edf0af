import { CannotApply, type OperationKind } from './kind';
import { createRefused, findAccount, grantProductAccess } from './accounts';

/** The IdP user's Jira account: linked to the one the email has, or created (one call either way where it can). */
export const ensureUser: OperationKind<'ensureUser'> = {
  async apply(o, x) {
    const { op, jira, records } = x;
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
      if (!found) throw new CannotApply(`no Jira account has the email ${o.email}, and user import is off`);
      await records.links.save(op.connectionId, o.userId, found.accountId, o.email);
      return 'linked';
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
      const found = refused.exists ? await findAccount(jira, o.email) : undefined;
      if (!found) throw refused;
      return grantProductAccess(found.accountId, o, x);
    }
  },
  // A creation, unless the site's account list already named the account to link.
  needs: {
    'site-admin-token': [
      { path: ['create'], is: 'true' },
      { path: ['site', 'accountId'], is: 'absent' },
    ],
  },
  counters: { created: 'usersCreated', linked: 'usersLinked', 'linked-access-granted': 'usersLinked' },
  details: (o) => ({
    kind: o.kind,
    userId: o.userId,
    email: o.email,
    displayName: o.displayName,
    products: o.products,
    create: o.create,
  }),
  person: (o) => ({ email: o.email, displayName: o.displayName }),
};
