import { gone, isGone } from './customerPlaces';
import { CannotApply, type OperationKind } from './kind';

/** Portal access to a service desk, or membership of an organization, for up to 50 customers in one call; recorded as this connection's grants. */
export const grantAccess: OperationKind<'grantAccess'> = {
  async apply(o, { op, jira, records }) {
    const links = await records.links.all(op.connectionId, o.userIds);
    const accountIds = [...new Set(o.userIds.flatMap((id) => links.get(id)?.accountId ?? []))];
    if (accountIds.length === 0)
      throw new CannotApply(
        `none of these ${o.userIds.length} user(s) is a customer yet: see their ensureCustomer operations`,
      );
    try {
      if (o.target === 'desk') await jira.addCustomersToServiceDesk(o.targetId, accountIds);
      else await jira.addToOrganization(o.targetId, accountIds);
    } catch (err) {
      if (isGone(err)) throw new CannotApply(gone(o.target, o.targetId, err));
      throw err;
    }
    await records.grants.add(op.connectionId, o.target, o.targetId, accountIds);
    const missing = o.userIds.length - accountIds.length;
    return missing > 0 ? `granted (${missing} not customers yet)` : 'granted';
  },
  needs: {},
  counters: { granted: 'accessGrants' },
  details: (o) => ({ kind: o.kind, target: o.target, targetId: o.targetId, userIds: o.userIds }),
};
