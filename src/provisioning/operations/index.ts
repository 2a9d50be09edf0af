import type { JiraClient } from '../../jira/client';
import type { Operation } from '../planning/types';
import { addMember } from './addMember';
import { createGroup } from './createGroup';
import { deprovision } from './deprovision';
import { ensureCustomer } from './ensureCustomer';
import { ensureUser } from './ensureUser';
import { grantAccess } from './grantAccess';
import type { GroupIds } from './groupIds';
import {
  CannotApply,
  type ApplyContext,
  type Applying,
  type Credential,
  type OperationKind,
  type Outcome,
  type Records,
  type Rule,
} from './kind';
import { reactivate } from './reactivate';
import { reassignLeads } from './reassignLeads';
import { removeMember } from './removeMember';
import { revokeAccess } from './revokeAccess';
import { setProperty } from './setProperty';
import { updateProfile } from './updateProfile';

/** Every operation kind's module: the compiler rejects a kind of `Operation` that has none. */
export const OPERATIONS: { [K in Operation['kind']]: OperationKind<K> } = {
  createGroup,
  ensureUser,
  reactivate,
  setProperty,
  updateProfile,
  addMember,
  removeMember,
  reassignLeads,
  deprovision,
  ensureCustomer,
  grantAccess,
  revokeAccess,
};

/** The module of an operation's kind, typed for that operation. */
function moduleOf<K extends Operation['kind']>(o: Extract<Operation, { kind: K }>): OperationKind<K> {
  return OPERATIONS[o.kind];
}

/**
 * Applies one stored operation to Jira through its kind's module, idempotently; links, written
 * properties, managed memberships and grants are recorded as it goes.
 */
export function applyOperation(op: Applying, jira: JiraClient, records: Records, groups: GroupIds): Promise<Outcome> {
  const o = op.payload as Operation;
  const x: ApplyContext = {
    op,
    jira,
    records,
    groupId: (name) => groups.get(op.clientKey, name, jira),
    groupSeen: (name, groupId) => groups.set(op.clientKey, name, groupId),
    accountOf: async (userId) => {
      const link = await records.links.get(op.connectionId, userId);
      if (!link) throw new CannotApply('the user has no Jira account yet: see its ensureUser operation');
      return link.accountId;
    },
  };
  return moduleOf(o).apply(o, x);
}

/** Which kinds need the credential, and when. */
export function credentialRules(credential: Credential): Array<[Operation['kind'], Rule]> {
  return (Object.keys(OPERATIONS) as Array<Operation['kind']>).flatMap((kind) => {
    const rule = OPERATIONS[kind].needs[credential];
    return rule ? [[kind, rule] as [Operation['kind'], Rule]] : [];
  });
}

/** The run's counter an outcome of a kind adds one to, if any. */
export function counterOf(kind: string, outcome: string): string | undefined {
  const counters = (OPERATIONS as Record<string, { counters: Record<string, string> } | undefined>)[kind]?.counters;
  return counters && Object.hasOwn(counters, outcome) ? counters[outcome] : undefined;
}

/** An operation's own fields as the admin API shows them. */
export function detailsOf(o: Operation): Record<string, unknown> {
  return moduleOf(o).details(o);
}

/** The Jira group an operation is about, and the user as it names them itself. */
export function namedIn(o: Operation): {
  group: string | null;
  person?: { email: string; displayName: string | null };
} {
  const m = moduleOf(o);
  return { group: m.group?.(o) ?? null, ...(m.person ? { person: m.person(o) } : {}) };
}

export { CannotApply, type Credential, type Outcome, type Records } from './kind';
export { GroupIds } from './groupIds';
export { GONE_MARK } from './customerPlaces';
