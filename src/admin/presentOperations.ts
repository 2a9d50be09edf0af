import type { StoredOperation } from '../provisioning/executor/queue';
import type { Names } from '../provisioning/stores/links';
import { detailsOf, namedIn } from '../provisioning/operations';
import type { Operation, PlannedOperation } from '../provisioning/planning/types';

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
  details: detailsOf(o.payload as unknown as Operation),
});

/** One operation of a dry run's plan. */
export const presentPlanned = (p: PlannedOperation, names?: Names) => ({
  phase: p.phase,
  kind: p.op.kind,
  subject: p.subject,
  reason: p.reason,
  ...about(p.op, names),
  details: detailsOf(p.op),
});

/** The user (email, display name, directory id, account) and the group an operation is about, for people to read. */
function about(op: Operation, names?: Names) {
  const userId = 'userId' in op ? op.userId : null;
  const accountId = 'accountId' in op ? op.accountId : null;
  const known =
    (userId ? names?.users.get(userId) : undefined) ?? (accountId ? names?.accounts.get(accountId) : undefined);
  const { group, person } = namedIn(op);
  return {
    user:
      userId || accountId
        ? {
            id: userId,
            accountId,
            email: person ? person.email : (known?.email ?? null),
            displayName: person ? person.displayName : (known?.displayName ?? null),
          }
        : null,
    group,
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
