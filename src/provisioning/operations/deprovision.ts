import { JiraError } from '../../jira/errors';
import type { OperationKind } from './kind';

/** A user the IdP disabled or removed: out of the product groups, deactivated, or deleted from the site (the rules say which). */
export const deprovision: OperationKind<'deprovision'> = {
  async apply(o, x) {
    if (o.mode === 'deleteFromSite') {
      try {
        await x.jira.deleteUser(o.accountId);
      } catch (err) {
        if (!(err instanceof JiraError && err.status === 404)) throw err;
      }
      await x.records.jiraState.accountRemoved(x.op.clientKey, o.accountId);
    } else if (o.mode === 'deactivate') {
      await x.jira.disableAccount(o.accountId, 'Disabled or removed in the identity provider');
    }
    await x.records.links.setDeprovisioned(x.op.connectionId, o.userId, true, o.removedGroups);
    return 'deprovisioned';
  },
  needs: {
    'site-admin-token': [{ path: ['mode'], equals: 'deleteFromSite' }],
    'org-api-key': [{ path: ['mode'], equals: 'deactivate' }],
  },
  counters: { deprovisioned: 'usersDeprovisioned' },
  details: (o) => ({
    kind: o.kind,
    userId: o.userId,
    accountId: o.accountId,
    mode: o.mode,
    removedGroups: o.removedGroups,
  }),
};
