import type { StoredOperation } from '../provisioning/executor/queue';
import type { Names } from '../provisioning/links';
import type { Operation, PlannedOperation } from '../provisioning/plan';

/* Operations as the admin API shows them: in dry runs, in a run's history, naming who and what they are about. */

/** One operation of a run, as the history shows it, naming the user and group it is about. */
export const presentOperation = (o: StoredOperation, names?: Names) => ({
  id: o.id,
  phase: o.phase,
  kind: o.kind,
  subject: o.subject,
  reason: o.reason,
  status: o.status,
  outcome: o.outcome,
  attempts: o.attempts,
  error: o.error,
  ...about(o.payload as unknown as Operation, names),
  details: presentDetails(o.payload as unknown as Operation),
});

/** One operation of a dry run's plan. */
export const presentPlanned = (p: PlannedOperation, names?: Names) => ({
  phase: p.phase,
  kind: p.op.kind,
  subject: p.subject,
  reason: p.reason,
  ...about(p.op, names),
  details: presentDetails(p.op),
});

/** The user (email, display name, directory id, account) and the group an operation is about, for people to read. */
function about(op: Operation, names?: Names) {
  const userId = 'userId' in op ? op.userId : null;
  const accountId = 'accountId' in op ? op.accountId : null;
  const known =
    (userId ? names?.users.get(userId) : undefined) ?? (accountId ? names?.accounts.get(accountId) : undefined);
  const email = op.kind === 'ensureUser' || op.kind === 'ensureCustomer' ? op.email : (known?.email ?? null);
  return {
    user:
      userId || accountId
        ? {
            id: userId,
            accountId,
            email,
            displayName:
              op.kind === 'ensureUser' || op.kind === 'ensureCustomer' ? op.displayName : (known?.displayName ?? null),
          }
        : null,
    group:
      op.kind === 'createGroup' ? op.name : op.kind === 'addMember' || op.kind === 'removeMember' ? op.groupName : null,
  };
}

/** The IdP users and Jira accounts a page of operations names (to look their emails up in one go). */
export function whoOf(ops: Operation[]): { userIds: string[]; accountIds: string[] } {
  const userIds = new Set<string>();
  const accountIds = new Set<string>();
  for (const op of ops) {
    if ('userId' in op && op.userId) userIds.add(op.userId);
    else if ('accountId' in op && op.accountId) accountIds.add(op.accountId);
  }
  return { userIds: [...userIds], accountIds: [...accountIds] };
}

/** An operation's own fields, by kind. */
function presentDetails(op: Operation) {
  switch (op.kind) {
    case 'createGroup':
      return { kind: op.kind, name: op.name };
    case 'ensureUser':
      return {
        kind: op.kind,
        userId: op.userId,
        email: op.email,
        displayName: op.displayName,
        products: op.products,
        create: op.create,
      };
    case 'reactivate':
      return { kind: op.kind, userId: op.userId, accountId: op.accountId, enable: op.enable, regroup: op.regroup };
    case 'setProperty':
      return { kind: op.kind, userId: op.userId, key: op.key, value: op.value };
    case 'addMember':
      return { kind: op.kind, userId: op.userId, groupName: op.groupName, groupId: op.groupId };
    case 'removeMember':
      return {
        kind: op.kind,
        userId: op.userId,
        accountId: op.accountId,
        groupId: op.groupId,
        groupName: op.groupName,
      };
    case 'reassignLeads':
      return {
        kind: op.kind,
        userId: op.userId,
        accountId: op.accountId,
        projectLead: op.projectLead,
        componentLead: op.componentLead,
      };
    case 'deprovision':
      return {
        kind: op.kind,
        userId: op.userId,
        accountId: op.accountId,
        mode: op.mode,
        removedGroups: op.removedGroups,
      };
    case 'ensureCustomer':
      return { kind: op.kind, userId: op.userId, email: op.email, displayName: op.displayName, create: op.create };
    case 'grantAccess':
      return { kind: op.kind, target: op.target, targetId: op.targetId, userIds: op.userIds };
    case 'revokeAccess':
      return { kind: op.kind, target: op.target, targetId: op.targetId, accountIds: op.accountIds };
    default:
      return { kind: op.kind };
  }
}
