import { Sql } from '../../src/db/sql';
import { needs, needsSql, type Credential } from '../../src/provisioning/credentials';
import type { Operation } from '../../src/provisioning/planning/types';
import { createTestDatabase, type TestDatabase } from '../support/db';

/**
 * Which operations need the site-admin token or the organization API key: one rule, read on an
 * operation in hand (`needs`, the planner holding a run) and as SQL on stored ones (`needsSql`, the
 * executor parking a run's operations in one statement). Both readings agree, in Postgres.
 */
let db: TestDatabase;
let sql: Sql;
beforeAll(async () => {
  db = await createTestDatabase();
  sql = new Sql(db.sequelize);
});
afterAll(() => db.drop());

const ensure = (create: boolean, accountId?: string): Operation => ({
  kind: 'ensureUser',
  userId: 'u1',
  email: 'ann@example.test',
  displayName: 'Ann',
  products: ['jira-software'],
  create,
  accessGroups: [],
  ...(accountId === undefined ? {} : { site: { accountId, hidden: false } }),
});

const OPS: Array<[string, Operation, { site: boolean; org: boolean }]> = [
  ['a group to create', { kind: 'createGroup', name: 'Sales' }, { site: true, org: false }],
  [
    'a member to add',
    { kind: 'addMember', userId: 'u1', groupName: 'Sales', groupId: 'g1' },
    { site: true, org: false },
  ],
  [
    'a member to remove',
    { kind: 'removeMember', userId: 'u1', accountId: 'a1', groupId: 'g1', groupName: 'Sales' },
    { site: true, org: false },
  ],
  ['a user to create', ensure(true), { site: true, org: false }],
  ['a user to create whose account the site list named', ensure(true, 'a1'), { site: false, org: false }],
  ['a user to link only (import off)', ensure(false), { site: false, org: false }],
  [
    'a removal from the site',
    { kind: 'deprovision', userId: 'u1', accountId: 'a1', mode: 'deleteFromSite', removedGroups: [] },
    { site: true, org: false },
  ],
  [
    'a deactivation',
    { kind: 'deprovision', userId: 'u1', accountId: 'a1', mode: 'deactivate', removedGroups: [] },
    { site: false, org: true },
  ],
  [
    'a reactivation that puts groups back',
    { kind: 'reactivate', userId: 'u1', accountId: 'a1', enable: true, regroup: ['jira-users'] },
    { site: true, org: false },
  ],
  [
    'a reactivation alone',
    { kind: 'reactivate', userId: 'u1', accountId: 'a1', enable: true, regroup: [] },
    { site: false, org: false },
  ],
  ['a profile', { kind: 'updateProfile', userId: 'u1', profile: { name: 'Ann' } }, { site: false, org: true }],
  ['a property', { kind: 'setProperty', userId: 'u1', key: 'k', value: { value: 'v' } }, { site: false, org: false }],
];

it.each(OPS)('%s: needs the credentials it should, read in hand and in SQL alike', async (_what, op, expected) => {
  for (const [credential, want] of [
    ['site-admin-token', expected.site],
    ['org-api-key', expected.org],
  ] as Array<[Credential, boolean]>) {
    expect(needs(credential, op)).toBe(want);
    const [row] = await sql.query<{ needed: boolean | null }>(
      `SELECT (${needsSql(credential)}) AS needed FROM (SELECT $1::text AS kind, $2::jsonb AS payload) AS o`,
      [op.kind, JSON.stringify(op)],
    );
    expect(row.needed === true).toBe(want);
  }
});
