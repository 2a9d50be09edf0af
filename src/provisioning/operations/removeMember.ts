import { JiraError } from '../../jira/errors';
import type { OperationKind } from './kind';

/** An account leaves a Jira group (one already gone from it is as good). */
export const removeMember: OperationKind<'removeMember'> = {
  async apply(o, x) {
    let outcome = 'removed';
    try {
      await x.jira.removeUserFromGroup(o.groupId, o.accountId);
    } catch (err) {
      if (!(
        err instanceof JiraError &&
        (err.status === 404 || (err.status === 400 && /not a member/i.test(err.message)))
      ))
        throw err;
      outcome = 'absent';
    }
    await x.records.managed.remove(x.op.connectionId, o.accountId, o.groupId);
    await x.records.jiraState.memberRemoved(x.op.clientKey, o.groupId, o.accountId);
    return outcome;
  },
  needs: { 'site-admin-token': 'always' },
  counters: { removed: 'membershipsRemoved' },
  details: (o) => ({
    kind: o.kind,
    userId: o.userId,
    accountId: o.accountId,
    groupId: o.groupId,
    groupName: o.groupName,
  }),
  group: (o) => o.groupName,
};
