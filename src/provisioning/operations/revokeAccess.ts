import { JiraError } from '../../jira/errors';
import { isGone } from './customerPlaces';
import type { OperationKind } from './kind';

/** The same access withdrawn from these accounts, in one call. */
export const revokeAccess: OperationKind<'revokeAccess'> = {
  async apply(o, { op, jira, records }) {
    let outcome = 'withdrawn';
    try {
      if (o.target === 'desk') await jira.removeCustomersFromServiceDesk(o.targetId, o.accountIds);
      else await jira.removeFromOrganization(o.targetId, o.accountIds);
    } catch (err) {
      // The desk or organization is gone, and the access with it: nothing left to withdraw.
      if (isGone(err)) outcome = 'target-gone';
      // A desk anyone may use (open access, public signup) keeps no customer list to remove from: JSM says 400.
      else if (o.target === 'desk' && err instanceof JiraError && err.status === 400) outcome = 'open-access-desk';
      else throw err;
    }
    await records.grants.remove(op.connectionId, o.target, o.targetId, o.accountIds);
    return outcome;
  },
  // JSM's removals take no Connect JWT (and the app has no DELETE scope).
  needs: { 'site-admin-token': 'always' },
  counters: { withdrawn: 'accessWithdrawals', 'open-access-desk': 'openAccessDesks' },
  details: (o) => ({ kind: o.kind, target: o.target, targetId: o.targetId, accountIds: o.accountIds }),
};
