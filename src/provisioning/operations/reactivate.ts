import { isAlreadyMember } from '../../jira/client';
import type { OperationKind } from './kind';

/** A user back in the IdP: a deactivated account enabled (org API key), product groups removed at deprovisioning re-added. */
export const reactivate: OperationKind<'reactivate'> = {
  async apply(o, x) {
    if (o.enable) await x.jira.enableAccount(o.accountId);
    for (const name of o.regroup) {
      const gid = await x.groupId(name);
      if (!gid) continue;
      await x.jira.addUserToGroup(gid, o.accountId).catch((err: unknown) => {
        if (!isAlreadyMember(err)) throw err;
      });
      await x.records.jiraState.memberAdded(x.op.clientKey, gid, o.accountId);
    }
    await x.records.links.setDeprovisioned(x.op.connectionId, o.userId, false);
    return 'reactivated';
  },
  needs: { 'site-admin-token': [{ path: ['regroup'], is: 'nonEmpty' }] },
  counters: { reactivated: 'usersReactivated' },
  details: (o) => ({ kind: o.kind, userId: o.userId, accountId: o.accountId, enable: o.enable, regroup: o.regroup }),
};
