import { JiraError } from '../../jira/errors';
import type { OperationKind } from './kind';

/** A Jira group the rules need and Jira lacks: created, or found when it exists already. */
export const createGroup: OperationKind<'createGroup'> = {
  async apply(o, x) {
    try {
      const created = await x.jira.createGroup(o.name);
      x.groupSeen(created.name, created.groupId);
      await x.records.jiraState.groupSeen(x.op.clientKey, created.groupId, created.name, true);
      return 'created';
    } catch (err) {
      // "A group with this name already exists": someone (or an earlier attempt of ours) made it.
      const existing = err instanceof JiraError && err.status === 400 ? await x.groupId(o.name) : undefined;
      if (!existing) throw err;
      await x.records.jiraState.groupSeen(x.op.clientKey, existing, o.name, false);
      return 'existed';
    }
  },
  needs: { 'site-admin-token': 'always' },
  counters: { created: 'groupsCreated' },
  details: (o) => ({ kind: o.kind, name: o.name }),
  group: (o) => o.name,
};
