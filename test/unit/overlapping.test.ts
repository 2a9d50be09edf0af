import type { Connection } from '../../src/db/connections';
import { Plans, type PlansDeps } from '../../src/provisioning/inputs';

/**
 * Which changes are planned beside a run going on (docs/provisioning.md, "Overlapping runs"): a
 * JSM customers connection's, and a change that concerns every user, wait for that run — decided
 * before anything is read.
 */
const untouched = new Proxy({} as PlansDeps, {
  get: (_, name) => {
    throw new Error(`read ${String(name)}: a change that waits reads nothing`);
  },
});
const connection = (target: 'users' | 'customers') =>
  ({ id: 'c1', clientKey: 'site', kind: 'scim', target, settings: {} }) as unknown as Connection;

it("a JSM customers connection's change waits for the run going on", async () => {
  const plans = new Plans(untouched);
  expect(await plans.makeOverlapping(connection('customers'), { userIds: ['u1'], groupIds: [], wide: false })).toBe(
    undefined,
  );
});

it('a change that concerns every user waits for the run going on', async () => {
  const plans = new Plans(untouched);
  expect(await plans.makeOverlapping(connection('users'), { userIds: [], groupIds: [], wide: true })).toBe(undefined);
});
