import request from 'supertest';
import { QueryTypes } from 'sequelize';
import { FakeJira } from '../support/fakeJira';
import { KeyServer } from '../support/keyServer';
import { jwtHeader, startTestApp, type TestApp } from '../support/app';

let keys: KeyServer;
let app: TestApp;
let jira: FakeJira;
const ORG_KEY = 'org-key-' + 'k'.repeat(40);

beforeAll(async () => {
  keys = await new KeyServer().start();
});
beforeEach(async () => {
  jira = await new FakeJira().start();
  app = await startTestApp({ keys, env: { ATLASSIAN_API_URL: jira.url, JIRA_MAX_ATTEMPTS: '2' } });
  await jira.install(app.url, keys);
  jira.setOrgApiKey(ORG_KEY);
});
afterEach(async () => {
  await app.close();
  await jira.stop();
});
afterAll(() => keys.stop());

const put = (body: unknown) =>
  request(app.url)
    .put('/api/v1/site-credentials')
    .set(jwtHeader(jira.contextJwt(jira.admin.accountId)))
    .send(body as object);
const get = () =>
  request(app.url)
    .get('/api/v1/site-credentials')
    .set(jwtHeader(jira.contextJwt(jira.admin.accountId)));
const storedRow = async () =>
  (
    await app.db.sequelize.query<Record<string, string | null>>(
      'SELECT * FROM site_credentials WHERE client_key = $1',
      { bind: [jira.clientKey], type: QueryTypes.SELECT },
    )
  )[0];

describe('GET /api/v1/site-credentials', () => {
  it('says nothing is set before anything was saved', async () => {
    const res = await get();
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      email: null,
      apiTokenSet: false,
      tokenAccountId: null,
      orgId: null,
      orgApiKeySet: false,
      verifiedAt: null,
      updatedAt: null,
    });
  });
});

describe('PUT /api/v1/site-credentials', () => {
  it('verifies the token with a real /myself call, stores it encrypted, and never returns it', async () => {
    const res = await put({ email: jira.admin.emailAddress, apiToken: jira.adminToken });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      email: jira.admin.emailAddress,
      apiTokenSet: true,
      tokenAccountId: jira.admin.accountId,
      orgApiKeySet: false,
    });
    expect(JSON.stringify(res.body)).not.toContain(jira.adminToken);
    expect(JSON.stringify((await get()).body)).not.toContain(jira.adminToken);
    const myself = jira.callsTo('GET', '/rest/api/3/myself');
    expect(myself).toHaveLength(1);
    expect(myself[0]).toMatchObject({ auth: 'token', status: 200 });

    const row = await storedRow();
    expect(JSON.stringify(row)).not.toContain(jira.adminToken);
    expect(row.api_token_enc).toMatch(/^v1:/);
    expect(await app.credentials.siteToken(jira.clientKey)).toEqual({
      baseUrl: jira.url,
      email: jira.admin.emailAddress,
      apiToken: jira.adminToken,
    });
  });

  it('never writes a secret to the log', async () => {
    await put({ email: jira.admin.emailAddress, apiToken: jira.adminToken, orgId: 'org-1', orgApiKey: ORG_KEY });
    await put({ email: jira.admin.emailAddress, apiToken: 'wrong-token' });
    await request(app.url).put('/api/v1/site-credentials').send({ email: 'x@y.z', apiToken: 'unauthenticated-secret' });
    const logs = app.logs.join('\n');
    expect(logs.length).toBeGreaterThan(0);
    for (const secret of [jira.adminToken, ORG_KEY, 'wrong-token', 'unauthenticated-secret', jira.sharedSecret!])
      expect(logs).not.toContain(secret);
  });

  it('refuses a token Jira does not accept, naming the field, and stores nothing', async () => {
    const res = await put({ email: jira.admin.emailAddress, apiToken: 'not-the-token' });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      error: 'validation_failed',
      fields: { apiToken: expect.stringMatching(/did not accept/) },
    });
    expect(await storedRow()).toBeUndefined();
  });

  it('refuses the token of a user who is not a Jira administrator', async () => {
    const dev = jira.state.addUser({ emailAddress: 'dev@example.com' });
    const res = await put({ email: dev.emailAddress, apiToken: jira.issueApiToken(dev) });
    expect(res.status).toBe(400);
    expect(res.body.fields.email).toMatch(/not a Jira administrator/);
    expect(await storedRow()).toBeUndefined();
  });

  it('verifies and stores an org API key; a wrong one is refused by name', async () => {
    const bad = await put({
      email: jira.admin.emailAddress,
      apiToken: jira.adminToken,
      orgId: 'org-1',
      orgApiKey: 'wrong',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.fields.orgApiKey).toMatch(/did not accept/);
    const good = await put({
      email: jira.admin.emailAddress,
      apiToken: jira.adminToken,
      orgId: 'org-1',
      orgApiKey: ORG_KEY,
    });
    expect(good.status).toBe(200);
    expect(good.body).toMatchObject({ orgId: 'org-1', orgApiKeySet: true });
    expect(JSON.stringify(await storedRow())).not.toContain(ORG_KEY);
    expect(await app.credentials.orgKey(jira.clientKey)).toEqual({ orgId: 'org-1', orgApiKey: ORG_KEY });
  });

  it('keeps the stored token and org key when they are left out, and removes the org key on null', async () => {
    await put({ email: jira.admin.emailAddress, apiToken: jira.adminToken, orgId: 'org-1', orgApiKey: ORG_KEY });
    const kept = await put({ email: jira.admin.emailAddress });
    expect(kept.status).toBe(200);
    expect(kept.body).toMatchObject({ apiTokenSet: true, orgApiKeySet: true });
    const removed = await put({ email: jira.admin.emailAddress, orgId: null, orgApiKey: null });
    expect(removed.body).toMatchObject({ apiTokenSet: true, orgId: null, orgApiKeySet: false });
  });

  it('asks for the token when none is stored, or when the email changes', async () => {
    expect((await put({ email: jira.admin.emailAddress })).body.fields.apiToken).toMatch(/Required/);
    await put({ email: jira.admin.emailAddress, apiToken: jira.adminToken });
    expect((await put({ email: 'someone-else@example.com' })).body.fields.apiToken).toMatch(/Required/);
  });

  it('validates the body, naming each wrong field', async () => {
    const res = await put({ email: 'not-an-email', apiToken: '', extra: 1 });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('validation_failed');
    expect(Object.keys(res.body.fields)).toEqual(expect.arrayContaining(['email', 'apiToken']));
    expect(res.body.message).toMatch(/extra/);
    expect(
      (await put({ email: jira.admin.emailAddress, apiToken: jira.adminToken, orgId: 'org-1' })).body.fields.orgApiKey,
    ).toMatch(/Required/);
  });

  it('refuses an account that can administer Jira but is not a site admin, naming the missing role; the probe changes nothing', async () => {
    const jiraAdmin = jira.state.addUser({ emailAddress: 'jira-admin@example.com' });
    jira.state.administrators.add(jiraAdmin.accountId); // Administer Jira, not the site-admin role
    const groupsBefore = JSON.stringify([...jira.state.groups.values()].map((g) => [g.groupId, [...g.members]]));
    const res = await put({ email: jiraAdmin.emailAddress, apiToken: jira.issueApiToken(jiraAdmin) });
    expect(res.status).toBe(400);
    expect(res.body.fields.email).toMatch(/not a site administrator.*site admin role/);
    expect(await storedRow()).toBeUndefined();
    const probes = jira.callsTo('POST', '/rest/api/3/group/user');
    expect(probes.map((c) => c.status)).toEqual([403]);
    expect(JSON.stringify([...jira.state.groups.values()].map((g) => [g.groupId, [...g.members]]))).toBe(groupsBefore);
    // a site admin's token passes the same probe (404: the group does not exist)
    expect((await put({ email: jira.admin.emailAddress, apiToken: jira.adminToken })).status).toBe(200);
    expect(jira.callsTo('POST', '/rest/api/3/group/user').map((c) => c.status)).toEqual([403, 404]);
  });

  it('finds the organization from the org API key, or asks which one when the key sees several', async () => {
    const one = await put({ email: jira.admin.emailAddress, apiToken: jira.adminToken, orgApiKey: ORG_KEY });
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ orgId: 'org-1', orgApiKeySet: true });
    jira.state.orgs.push({ id: 'org-2', name: 'Subsidiary' });
    const several = await put({ email: jira.admin.emailAddress, orgId: null, orgApiKey: ORG_KEY });
    expect(several.status).toBe(400);
    expect(several.body.fields.orgId).toMatch(/2 organizations.*org-1 \(Fake org\), org-2 \(Subsidiary\)/);
    const chosen = await put({ email: jira.admin.emailAddress, orgId: 'org-2', orgApiKey: ORG_KEY });
    expect(chosen.body).toMatchObject({ orgId: 'org-2' });
    const unknown = await put({ email: jira.admin.emailAddress, orgId: 'org-9', orgApiKey: ORG_KEY });
    expect(unknown.status).toBe(400);
    expect(unknown.body.fields.orgApiKey).toMatch(/does not see organization org-9/);
  });

  it('answers 502 when Jira is down during verification, and stores nothing', async () => {
    jira.failNext({ status: 503 }, { status: 503 });
    const res = await put({ email: jira.admin.emailAddress, apiToken: jira.adminToken });
    expect(res.status).toBe(502);
    expect(res.body.error).toBe('jira_unavailable');
    expect(await storedRow()).toBeUndefined();
  });
});
