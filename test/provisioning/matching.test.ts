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

it('links the account whose email the profile hides, found by the whole address, and never creates a second one', async () => {
  const ann = s.jira.state.addUser({ emailAddress: 'ann@contoso.com', emailHidden: true });
  await s.post('/Users', entraUser('ann')).expect(201);
  await s.settle();
  expect(creates()).toEqual([]);
  const [ensure] = (await operationsOf()).filter((o) => o.kind === 'ensureUser');
  expect(ensure).toMatchObject({ status: 'done', outcome: 'linked' });
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
