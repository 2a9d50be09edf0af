import type { OperationKind } from './kind';

/** A custom attribute written to the account as a user property (the value last written is remembered). */
export const setProperty: OperationKind<'setProperty'> = {
  async apply(o, x) {
    await x.jira.setUserProperty(await x.accountOf(o.userId), o.key, o.value);
    await x.records.links.saveProperty(x.op.connectionId, o.userId, o.key, o.value);
    return 'updated';
  },
  needs: {},
  counters: { updated: 'usersUpdated' },
  details: (o) => ({ kind: o.kind, userId: o.userId, key: o.key, value: o.value }),
};
