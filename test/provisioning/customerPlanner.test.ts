import { CUSTOMER_BATCH, planCustomers, type CustomerPlanInput } from '../../src/provisioning/planning/customers';
import type { Operation, PlannedUser } from '../../src/provisioning/planning/types';
import { rulesSchema } from '../../src/provisioning/rules';

/** The customer planner as a table of cases: what it plans for each state of users, links and grants. */
const u = (
  id: string,
  groups: string[] = [],
  active = true,
  email: string | null = `${id}@x.example`,
): PlannedUser => ({
  id,
  active,
  groups,
  resource: email ? { userName: email, emails: [{ value: email, primary: true }], displayName: id.toUpperCase() } : {},
});
const input = (
  o: Partial<Omit<CustomerPlanInput, 'rules' | 'grants' | 'links'>> & {
    customers?: object;
    links?: Record<string, string>;
    grants?: string[];
  },
): CustomerPlanInput => ({
  importUsers: o.importUsers ?? true,
  rules: rulesSchema.parse({ customers: o.customers ?? {} }),
  users: o.users ?? [],
  departed: o.departed ?? [],
  links: new Map(
    Object.entries(o.links ?? {}).map(([id, accountId]) => [
      id,
      { accountId, deprovisioned: false, properties: {}, removedGroups: [] },
    ]),
  ),
  grants: new Set(o.grants ?? []),
});
const ops = (i: CustomerPlanInput): Operation[] => planCustomers(i).operations.map((o) => o.op);
const RULES = {
  serviceDesksForAll: ['1'],
  groups: [
    { idpGroup: 'Staff', serviceDesks: ['2'], organizations: ['10'] },
    { idpGroup: 'staff', serviceDesks: ['3'] }, // the same group, named in another case: both apply
  ],
};

it('a new user: found or created, then given everything the rules give, in one call per place', () => {
  expect(ops(input({ customers: RULES, users: [u('ann', ['STAFF']), u('bob')] }))).toEqual([
    { kind: 'ensureCustomer', userId: 'ann', email: 'ann@x.example', displayName: 'ANN', create: true },
    { kind: 'ensureCustomer', userId: 'bob', email: 'bob@x.example', displayName: 'BOB', create: true },
    { kind: 'grantAccess', target: 'desk', targetId: '1', userIds: ['ann', 'bob'] },
    { kind: 'grantAccess', target: 'desk', targetId: '2', userIds: ['ann'] },
    { kind: 'grantAccess', target: 'org', targetId: '10', userIds: ['ann'] },
    { kind: 'grantAccess', target: 'desk', targetId: '3', userIds: ['ann'] },
  ]);
});

it('user import off: links only; no email: a warning, nothing planned', () => {
  const p = planCustomers(
    input({ importUsers: false, customers: RULES, users: [u('ann'), u('nomail', [], true, null)] }),
  );
  expect(p.operations.map((o) => o.op)).toEqual([
    { kind: 'ensureCustomer', userId: 'ann', email: 'ann@x.example', displayName: 'ANN', create: false },
    { kind: 'grantAccess', target: 'desk', targetId: '1', userIds: ['ann'] },
  ]);
  expect(p.warnings).toEqual([expect.stringMatching(/1 user\(s\) have no email/)]);
});

it('a linked customer with everything granted: nothing; a group left: only what this connection granted goes', () => {
  const links = { ann: 'acc-ann' };
  const all = ['desk:1|acc-ann', 'desk:2|acc-ann', 'desk:3|acc-ann', 'org:10|acc-ann'];
  expect(ops(input({ customers: RULES, users: [u('ann', ['Staff'])], links, grants: all }))).toEqual([]);
  // Ann left Staff; desk 3's access was never ours (an agent gave it): it stays.
  expect(
    ops(
      input({
        customers: RULES,
        users: [u('ann')],
        links,
        grants: ['desk:1|acc-ann', 'desk:2|acc-ann', 'org:10|acc-ann'],
      }),
    ),
  ).toEqual([
    { kind: 'revokeAccess', target: 'desk', targetId: '2', accountIds: ['acc-ann'] },
    { kind: 'revokeAccess', target: 'org', targetId: '10', accountIds: ['acc-ann'] },
  ]);
});

it('disabled or deleted: everything granted goes (removeAccess), or stays (keep); back again: granted again', () => {
  const links = { ann: 'acc-ann', gone: 'acc-gone' };
  const grants = ['desk:1|acc-ann', 'desk:1|acc-gone', 'org:10|acc-gone'];
  const world = { customers: RULES, users: [u('ann', [], false)], departed: ['gone'], links, grants };
  expect(ops(input(world))).toEqual([
    { kind: 'revokeAccess', target: 'desk', targetId: '1', accountIds: ['acc-ann', 'acc-gone'] },
    { kind: 'revokeAccess', target: 'org', targetId: '10', accountIds: ['acc-gone'] },
  ]);
  expect(ops(input({ ...world, customers: { ...RULES, deprovision: 'keep' } }))).toEqual([]);
  expect(ops(input({ customers: RULES, users: [u('ann')], links, grants: [] }))).toEqual([
    { kind: 'grantAccess', target: 'desk', targetId: '1', userIds: ['ann'] },
  ]);
});

it(`grants and withdrawals go ${CUSTOMER_BATCH} accounts per call`, () => {
  const users = Array.from({ length: 120 }, (_, i) => u(`u${i}`));
  const grants = ops(input({ customers: { serviceDesksForAll: ['1'] }, users })).filter(
    (o) => o.kind === 'grantAccess',
  );
  expect(grants.map((o) => (o as { userIds: string[] }).userIds.length)).toEqual([50, 50, 20]);
  const links = Object.fromEntries(users.map((x) => [x.id, `acc-${x.id}`]));
  const revokes = ops(
    input({
      customers: { serviceDesksForAll: ['1'] },
      users: users.map((x) => ({ ...x, active: false })),
      links,
      grants: users.map((x) => `desk:1|acc-${x.id}`),
    }),
  );
  expect(revokes.map((o) => (o as { accountIds: string[] }).accountIds.length)).toEqual([50, 50, 20]);
});

it('mirroring: everyone a named place has that the IdP does not give it goes, except an account about to be linked', () => {
  const current = new Map<`desk:${string}` | `org:${string}`, Array<{ accountId: string; email?: string }>>([
    [
      'desk:1',
      [
        { accountId: 'acc-ann', email: 'ann@x.example' }, // linked, wants desk 1: stays
        { accountId: 'acc-walkin', email: 'walk-in@else.example' }, // nobody in the IdP: goes
        { accountId: 'acc-new', email: 'NEW@x.example' }, // the account a new IdP user's email has: stays
        { accountId: 'acc-hidden' }, // an email the profile hides, nobody's link: goes
        { accountId: 'acc-off', email: 'off@x.example' }, // disabled, deprovision keep: stays
      ],
    ],
    ['org:10', [{ accountId: 'acc-ann' }]], // Ann is not in Staff: goes (this connection never granted it)
  ]);
  const world = {
    customers: { ...RULES, keepExisting: false, deprovision: 'keep' },
    users: [u('ann'), u('new'), u('off', [], false)],
    links: { ann: 'acc-ann', off: 'acc-off' },
    grants: ['desk:1|acc-ann', 'desk:1|acc-off'],
  };
  const plan = planCustomers({ ...input(world), current });
  expect(plan.operations.filter((o) => o.op.kind === 'revokeAccess').map((o) => [o.op, o.reason])).toEqual([
    [
      { kind: 'revokeAccess', target: 'desk', targetId: '1', accountIds: ['acc-walkin', 'acc-hidden'] },
      expect.stringMatching(/the IdP does not give it to them/),
    ],
    [{ kind: 'revokeAccess', target: 'org', targetId: '10', accountIds: ['acc-ann'] }, expect.any(String)],
  ]);
  // keepExisting on: the same world withdraws nothing it did not grant.
  expect(
    ops({ ...input({ ...world, customers: { ...RULES, deprovision: 'keep' } }), current }).filter(
      (o) => o.kind === 'revokeAccess',
    ),
  ).toEqual([]);
});

it('the rules refuse ids that are not JSM ids and a mapping that gives nothing', () => {
  const r = rulesSchema.safeParse({
    customers: { serviceDesksForAll: ['HELP'], groups: [{ idpGroup: 'X' }] },
  });
  expect(r.success).toBe(false);
  const messages = r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  expect(messages).toEqual(
    expect.arrayContaining([
      'customers.serviceDesksForAll.0: must be an id as JSM lists it (digits)',
      'customers.groups.0: must give at least one service desk or organization',
    ]),
  );
  // Duplicates are dropped.
  expect(
    rulesSchema.parse({ customers: { serviceDesksForAll: ['1', '1', ' 2'] } }).customers.serviceDesksForAll,
  ).toEqual(['1', '2']);
});
