import request from 'supertest';
import { jwtHeader } from '../support/app';
import { entraUser, startScim, type ScimHarness } from '../support/scim';

/** Finding a user's Jira account as Jira really answers: hidden emails, POST /user on existing accounts, a full licence. */
let s: ScimHarness;
beforeEach(async () => {
  s = await startScim('entra');
  await s.storeSiteToken();
});
afterEach(() => s.close());

const admin = () => jwtHeader(s.jira.contextJwt(s.jira.admin.accountId));
const operationsOf = async () => {
  const runs = (await request(s.app.url).get(`/api/v1/connections/${s.connectionId}/runs`).set(admin())).body.runs;
  return (await request(s.app.url).get(`/api/v1/runs/${runs[0].id}?limit=200`).set(admin())).body.operations as Array<
    Record<string, unknown>
  >;
};
const creates = () => s.jira.callsTo('POST', '/rest/api/3/user');

it('links the account whose email the profile hides with one call, the create Jira answers with that account, and never makes a second one', async () => {
  const ann = s.jira.state.addUser({ emailAddress: 'ann@contoso.com', emailHidden: true });
  await s.post('/Users', entraUser('ann')).expect(201);
  await s.settle();
  expect(creates().map((c) => c.status)).toEqual([201]); // Jira's answer is the account the email has
  expect(s.jira.callsTo('GET', '/rest/api/3/user/search')).toEqual([]);
  expect([...s.jira.state.users.values()].filter((u) => u.emailAddress === 'ann@contoso.com')).toHaveLength(1);
  const [ensure] = (await operationsOf()).filter((o) => o.kind === 'ensureUser');
  expect(ensure).toMatchObject({ status: 'done' });
  expect(await s.app.db.sequelize.query('SELECT account_id FROM jira_links', { plain: true })).toEqual({
    account_id: ann.accountId,
  });
});

it('parks, in words, an account that exists without Jira access which the search does not show', async () => {
  // deactivated on the site: the search (active users only) does not show it, and POST /user answers 400
  s.jira.state.addUser({ emailAddress: 'bob@contoso.com', products: [], active: false });
  await s.post('/Users', entraUser('bob')).expect(201);
  await s.settle();
  expect(creates().map((c) => c.status)).toEqual([400]); // read as an answer, not retried
  const [ensure] = (await operationsOf()).filter((o) => o.kind === 'ensureUser');
  expect(ensure).toMatchObject({
    status: 'parked',
    error: expect.stringMatching(/already exists but has no access to Jira.*Atlassian Administration/),
  });
});

it('says a full licence in words', async () => {
  s.jira.state.userLimit = [...s.jira.state.users.values()].filter((u) => u.products.length > 0).length;
  await s.post('/Users', entraUser('cat')).expect(201);
  await s.settle();
  const [ensure] = (await operationsOf()).filter((o) => o.kind === 'ensureUser');
  expect(ensure).toMatchObject({ status: 'parked', error: expect.stringMatching(/licence is full.*user tier/) });
  expect(s.jira.state.userByEmail('cat@contoso.com')).toBeUndefined();
});

const storeOrgKey = async () => {
  s.jira.setOrgApiKey('org-key-for-tests');
  await s.app.credentials.save(s.jira.clientKey, {
    email: s.jira.admin.emailAddress,
    apiToken: s.jira.adminToken,
    tokenAccountId: s.jira.admin.accountId,
    orgId: 'org-1',
    orgApiKey: 'org-key-for-tests',
    updatedBy: 'test',
  });
};

it("with an org key, finds an account without Jira access in the organization's directory, links it and gives it access", async () => {
  await storeOrgKey();
  const access = s.jira.state.addGroup('jira-software-users');
  const bob = s.jira.state.addUser({ emailAddress: 'bob@contoso.com', products: [], active: false });
  await s.post('/Users', entraUser('bob')).expect(201);
  await s.settle();
  const [ensure] = (await operationsOf()).filter((o) => o.kind === 'ensureUser');
  expect(ensure).toMatchObject({ status: 'done', outcome: 'linked-access-granted' });
  expect(access.members.has(bob.accountId)).toBe(true);
  expect(s.jira.callsTo('POST', '/admin/v2/orgs/org-1/directories/-/users/search')).toHaveLength(1);
  expect(creates().map((c) => c.status)).toEqual([400]); // the create first: Jira says the account exists without access
  expect([...s.jira.state.users.values()].filter((u) => u.emailAddress === 'bob@contoso.com')).toHaveLength(1);
});

it("with an org key, tells apart several hidden-email accounts without Jira access by the organization's directory", async () => {
  await storeOrgKey();
  s.jira.state.addGroup('jira-software-users');
  const ann = s.jira.state.addUser({ emailAddress: 'ann@contoso.com', emailHidden: true, products: [] });
  s.jira.state.addUser({ emailAddress: 'ann@contoso.com.other', emailHidden: true, displayName: 'ann', products: [] });
  await s.post('/Users', entraUser('ann')).expect(201);
  await s.settle();
  expect(creates().map((c) => c.status)).toEqual([400]); // refused: the account exists without access
  expect(await s.app.db.sequelize.query('SELECT account_id FROM jira_links', { plain: true })).toEqual({
    account_id: ann.accountId,
  });
});

it("a full run over many new users reads the site's accounts once, links the known ones without a search and creates the rest with one call each", async () => {
  await s.close();
  s = await startScim('entra', { SYNC_DEBOUNCE_MS: '600000' }); // the SCIM changes wait: one manual run takes them all
  await s.storeSiteToken();
  const known = s.jira.state.addUser({ emailAddress: 'u0@contoso.com' });
  s.jira.state.addUser({ emailAddress: 'old-app@contoso.com', accountType: 'app' });
  for (let i = 0; i < 12; i++) await s.post('/Users', entraUser(`u${i}`)).expect(201);
  await request(s.app.url).post(`/api/v1/connections/${s.connectionId}/sync`).set(admin()).send({}).expect(202);
  await s.app.engine.drain();
  expect(s.jira.callsTo('GET', '/rest/api/3/users/search')).toHaveLength(1);
  expect(s.jira.callsTo('GET', '/rest/api/3/user/search')).toHaveLength(0);
  expect(creates().map((c) => c.status)).toEqual(Array(11).fill(201));
  const links = (await s.app.db.sequelize.query('SELECT account_id FROM jira_links')) as unknown as [
    Array<{ account_id: string }>,
  ];
  expect(links[0].map((l) => l.account_id)).toContain(known.accountId);
});

it("updates managed accounts' profiles through the org key, and says once that Jira keeps the others'", async () => {
  await storeOrgKey();
  const ann = s.jira.state.addUser({ emailAddress: 'ann@contoso.com', displayName: 'old name' });
  s.jira.state.managedAccounts.set(ann.accountId, { active: true, profile: {} });
  s.jira.state.addUser({ emailAddress: 'bob@contoso.com' });
  s.jira.state.addUser({ emailAddress: 'cat@contoso.com' });
  const enterprise = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
  for (const name of ['ann', 'bob', 'cat'])
    await s
      .post('/Users', {
        ...entraUser(name),
        displayName: `${name} Doe`,
        title: 'Engineer',
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', enterprise],
        [enterprise]: { department: 'R&D' },
      })
      .expect(201);
  await s.settle();
  expect(s.jira.state.users.get(ann.accountId)!.displayName).toBe('ann Doe');
  expect(s.jira.state.managedAccounts.get(ann.accountId)!.extended).toEqual({
    job_title: 'Engineer',
    department: 'R&D',
  });
  const runs = (await request(s.app.url).get(`/api/v1/connections/${s.connectionId}/runs`).set(admin())).body.runs;
  const notes = runs.flatMap((r: { notes: string[] }) => r.notes);
  const total = runs.reduce(
    (n: number, r: { counts: { profilesNotManaged: number } }) => n + r.counts.profilesNotManaged,
    0,
  );
  expect(total).toBe(2);
  expect(notes.every((n: string) => /not managed by your organization/.test(n))).toBe(true);
  // written once: the same IdP values plan nothing more
  const before = s.jira.callsTo('PATCH', `/users/${encodeURIComponent(ann.accountId)}/manage/profile`).length;
  expect(before).toBe(1);
  await request(s.app.url).post(`/api/v1/connections/${s.connectionId}/sync`).set(admin()).send({}).expect(202);
  await s.app.engine.drain();
  expect(s.jira.callsTo('PATCH', `/users/${encodeURIComponent(ann.accountId)}/manage/profile`)).toHaveLength(before);
});
