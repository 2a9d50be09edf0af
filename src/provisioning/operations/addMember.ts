import { isAlreadyMember } from '../../jira/client';
import { CannotApply, type OperationKind } from './kind';

/** An account joins a Jira group; recorded as this connection's (managed) membership. */
export const addMember: OperationKind<'addMember'> = {
  async apply(o, x) {
    const accountId = await x.accountOf(o.userId);
    const gid = o.groupId ?? (await x.groupId(o.groupName));
    if (!gid) throw new CannotApply(`Jira has no group "${o.groupName}"`);
    try {
      await x.jira.addUserToGroup(gid, accountId);
    } catch (err) {
      if (!isAlreadyMember(err)) throw err;
      // Already a member: ours if an earlier attempt of this very operation added it.
      if (x.op.attempts > 1) await x.records.managed.add(x.op.connectionId, accountId, gid, o.groupName);
      await x.records.jiraState.memberAdded(x.op.clientKey, gid, accountId);
      return 'already';
    }
    await x.records.managed.add(x.op.connectionId, accountId, gid, o.groupName);
    await x.records.jiraState.memberAdded(x.op.clientKey, gid, accountId);
    return 'added';
  },
  needs: { 'site-admin-token': 'always' },
  counters: { added: 'membershipsAdded' },
  details: (o) => ({ kind: o.kind, userId: o.userId, groupName: o.groupName, groupId: o.groupId }),
  group: (o) => o.groupName,
};
