import { QueryTypes } from 'sequelize';
import { parseFilter } from '../../src/directory/filter';
import { Bind, filterToSql } from '../../src/scim/filterSql';
import { USER_TYPE } from '../../src/scim/schemas';
import { ENTERPRISE, startScim, type ScimHarness } from '../support/scim';

/** The whole RFC 7644 filter grammar, answered from SQL, against a small known directory. */
let s: ScimHarness;
const ids: Record<string, string> = {};

beforeAll(async () => {
  s = await startScim('generic');
  const people = [
    {
      userName: 'alice@example.com',
      displayName: 'Alice Archer',
      title: 'Engineer',
      active: true,
      name: { givenName: 'Alice', familyName: 'Archer' },
      emails: [
        { value: 'alice@example.com', type: 'work', primary: true },
        { value: 'alice@home.example', type: 'home' },
      ],
      [ENTERPRISE]: { employeeNumber: '100', department: 'R&D' },
      externalId: 'EXT-1',
    },
    {
      userName: 'bob@example.org',
      displayName: 'Bob Baker',
      title: 'Manager',
      active: false,
      name: { givenName: 'Bob', familyName: 'Baker' },
      emails: [{ value: 'bob@example.org', type: 'work', primary: true }],
      [ENTERPRISE]: { employeeNumber: '200', department: 'Sales', manager: { value: 'alice' } },
      externalId: 'ext-2',
    },
    {
      userName: 'carol@example.com',
      displayName: 'Carol Cooper',
      active: true,
      name: { givenName: 'Carol', familyName: 'Employee' },
      emails: [{ value: 'carol@example.net', type: 'other' }],
      phoneNumbers: [{ value: '+1 555 0100', type: 'mobile' }],
    },
    { userName: 'dan_%special@example.com', displayName: 'Dan 50% Discount', active: true },
  ];
  for (const p of people) {
    const res = await s.post('/Users', p);
    if (res.status !== 201) throw new Error(JSON.stringify(res.body));
    ids[p.userName.split('@')[0]] = res.body.id;
  }
  const g = await s.post('/Groups', { displayName: 'Admins', members: [{ value: ids.alice }] });
  ids.admins = g.body.id;
  await s.post('/Groups', {
    displayName: 'Everyone',
    members: [{ value: ids.alice }, { value: ids.bob }, { value: ids.carol }],
  });
});
afterAll(() => s.close());

const users = async (filter: string) => {
  const res = await s.get(`/Users?filter=${encodeURIComponent(filter)}&attributes=userName`);
  if (res.status !== 200) throw new Error(`${filter} → ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.Resources.map((u: { userName: string }) => u.userName.split('@')[0]).sort();
};

it.each([
  ['userName eq "ALICE@example.com"', ['alice']],
  ['userName ne "alice@example.com"', ['bob', 'carol', 'dan_%special']],
  ['userName co "EXAMPLE.COM"', ['alice', 'carol', 'dan_%special']],
  ['userName sw "b"', ['bob']],
  ['userName ew ".org"', ['bob']],
  ['userName co "%"', ['dan_%special']],
  ['userName co "_"', ['dan_%special']],
  ['displayName co "50%"', ['dan_%special']],
  ['userName gt "bob"', ['bob', 'carol', 'dan_%special']],
  ['userName ge "bob@example.org"', ['bob', 'carol', 'dan_%special']],
  ['userName lt "bob"', ['alice']],
  ['userName le "alice@example.com"', ['alice']],
  ['title pr', ['alice', 'bob']],
  ['not (title pr)', ['carol', 'dan_%special']],
  ['active eq true', ['alice', 'carol', 'dan_%special']],
  ['active eq false', ['bob']],
  ['active eq "False"', ['bob']],
  ['externalId eq "EXT-1"', ['alice']],
  ['externalId eq "ext-1"', []],
  ['externalId eq ext-2', ['bob']],
  ['title eq "engineer"', ['alice']],
  ['name.familyName eq "archer"', ['alice']],
  ['name.FamilyName eq Employee and (emails.Value co example.com or emails.Value co example.org)', []],
  ['name.familyName eq Employee and (emails.value co example.net or emails.value co example.org)', ['carol']],
  ['emails.value eq "alice@home.example"', ['alice']],
  ['emails eq "bob@example.org"', ['bob']],
  ['emails[type eq "work" and primary eq true]', ['alice', 'bob']],
  ['emails[type eq "home" or type eq "other"]', ['alice', 'carol']],
  ['emails[value ew ".net"]', ['carol']],
  ['emails[not (type eq "work")]', ['alice', 'carol']],
  ['emails.type eq "work" and not (emails.value sw "bob")', ['alice']],
  ['phoneNumbers pr', ['carol']],
  ['emails pr', ['alice', 'bob', 'carol']],
  [`${ENTERPRISE}:employeeNumber eq "200"`, ['bob']],
  [`${ENTERPRISE}:department sw "r"`, ['alice']],
  [`${ENTERPRISE}:manager.value eq "alice"`, ['bob']],
  ['employeeNumber gt "150"', ['bob']],
  ['(userName sw "a" or userName sw "b") and active eq true', ['alice']],
  ['userName sw "a" or userName sw "b" and active eq true', ['alice']],
  ['not (userName sw "a" or userName sw "b")', ['carol', 'dan_%special']],
  ['USERNAME EQ "bob@example.org"', ['bob']],
  ['meta.created gt 2015-10-10T14:38:21.8617979-07:00', ['alice', 'bob', 'carol', 'dan_%special']],
  ['meta.lastModified lt "2000-01-01T00:00:00Z"', []],
  ['meta.resourceType eq "User"', ['alice', 'bob', 'carol', 'dan_%special']],
  ['title eq null', ['carol', 'dan_%special']],
  ['title ne null', ['alice', 'bob']],
  ['displayName eq "Nobody"', []],
])('%s', async (filter, expected) => {
  expect(await users(filter)).toEqual(expected);
});

it('filters by id (and a malformed id finds nothing)', async () => {
  expect(await users(`id eq "${ids.bob}"`)).toEqual(['bob']);
  expect(await users('id eq "not-a-uuid"')).toEqual([]);
});

it('filters users by group membership, and groups by member', async () => {
  expect(await users(`groups.value eq "${ids.admins}"`)).toEqual(['alice']);
  expect(await users(`groups eq "${ids.admins}"`)).toEqual(['alice']);
  expect(await users('groups.display eq "everyone"')).toEqual(['alice', 'bob', 'carol']);
  expect(await users('not (groups pr)')).toEqual(['dan_%special']);
  expect(await users('groups[display eq "ADMINS" or display eq "nobody"]')).toEqual(['alice']);
  expect(await users(`groups[value eq "${ids.admins}" and type eq "direct"]`)).toEqual(['alice']);
  const groups = async (f: string) =>
    (await s.get(`/Groups?filter=${encodeURIComponent(f)}&excludedAttributes=members`)).body.Resources.map(
      (g: { displayName: string }) => g.displayName,
    ).sort();
  expect(await groups(`members.value eq "${ids.bob}"`)).toEqual(['Everyone']);
  expect(await groups(`members eq "${ids.alice}"`)).toEqual(['Admins', 'Everyone']);
  expect(await groups('displayName sw "adm"')).toEqual(['Admins']);
  expect(await groups('members pr')).toEqual(['Admins', 'Everyone']);
  expect(await groups('members[display sw "bob"]')).toEqual(['Everyone']);
});

it.each([
  ['userName eq', /expected a value/],
  ['userName xx "a"', /unknown operator/],
  ['(userName eq "a"', /expected "\)"/],
  ['userName eq "a" and', /ended/],
  ['nosuch eq "a"', /unknown attribute "nosuch"/],
  ['name.nosuch eq "a"', /unknown sub-attribute/],
  ['urn:example:unknown:User:x eq "a"', /unknown schema/],
  ['active gt true', /does not apply to boolean/],
  ['active eq "yes"', /boolean/],
  ['meta.created gt "yesterday"', /not a dateTime/],
  ['name eq "x"', /complex attribute cannot be compared/],
  ['emails[type eq "work"', /expected "\]"/],
  ['userName eq "unterminated', /unterminated string/],
  ['emails[emails[type eq "x"]]', /cannot be nested|plain sub-attribute|unknown/],
])('answers 400 invalidFilter to %p', async (filter, detail) => {
  const res = await s.get(`/Users?filter=${encodeURIComponent(filter)}`);
  expect(res.status).toBe(400);
  expect(res.body).toMatchObject({ status: '400', scimType: 'invalidFilter', detail: expect.stringMatching(detail) });
});

it('treats an empty filter parameter as no filter', async () => {
  expect((await s.get('/Users?filter=')).body.totalResults).toBe(4);
  expect((await s.get('/Users?filter=%20%20')).body.totalResults).toBe(4);
});

it('runs a userName lookup as an index scan', async () => {
  const bind = new Bind();
  const where = `r.connection_id = ${bind.add(s.connectionId)}::uuid AND ${filterToSql(parseFilter('userName eq "alice@example.com"'), USER_TYPE, bind)}`;
  await s.app.db.sequelize.query('SET enable_seqscan = off'); // a tiny table would otherwise be scanned; what matters is that the index fits
  const plan = await s.app.db.sequelize.query<{ 'QUERY PLAN': string }>(
    `EXPLAIN SELECT * FROM directory_users r WHERE ${where}`,
    { bind: bind.values, type: QueryTypes.SELECT },
  );
  await s.app.db.sequelize.query('RESET enable_seqscan');
  expect(plan.map((p) => p['QUERY PLAN']).join('\n')).toMatch(
    /Index Scan using directory_users_user_name(_prefix)? on directory_users/,
  );
});

it('handles attribute names with "$" ($ref) in filters and sorting', async () => {
  expect((await s.get(`/Users?filter=${encodeURIComponent(`${ENTERPRISE}:manager.$ref pr`)}`)).status).toBe(200);
  expect((await s.get(`/Users?sortBy=${ENTERPRISE}:manager.$ref`)).status).toBe(200);
  for (const [endpoint, f] of [
    ['Users', 'groups[not ($ref eq "%")]'],
    ['Groups', 'members[$ref eq "x"]'],
  ]) {
    const res = await s.get(`/${endpoint}?filter=${encodeURIComponent(f)}`);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ scimType: 'invalidFilter', detail: expect.stringContaining('$ref') });
  }
});
