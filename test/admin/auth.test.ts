import request from 'supertest';
import { FakeJira } from '../support/fakeJira';
import { KeyServer } from '../support/keyServer';
import { jwtHeader, startTestApp, type TestApp } from '../support/app';

let keys: KeyServer;
let app: TestApp;
let siteA: FakeJira;
let siteB: FakeJira;

beforeAll(async () => {
  keys = await new KeyServer().start();
  app = await startTestApp({ keys, env: { JIRA_MAX_ATTEMPTS: '2' } });
  siteA = await new FakeJira().start();
  siteB = await new FakeJira().start();
  await siteA.install(app.url, keys);
  await siteB.install(app.url, keys);
});
afterAll(async () => {
  await app.close();
  await Promise.all([siteA.stop(), siteB.stop(), keys.stop()]);
});

const getCreds = (token?: string) => {
  const req = request(app.url).get('/api/v1/site-credentials');
  return token ? req.set(jwtHeader(token)) : req;
};

describe('admin API authentication', () => {
  it('lets a Jira administrator in with a context JWT (qsh "context-qsh")', async () => {
    const res = await getCreds(siteA.contextJwt(siteA.admin.accountId));
    expect(res.status).toBe(200);
    // The admin check really asked Jira, with the add-on's JWT.
    const check = siteA.callsTo('POST', '/rest/api/3/permissions/check').at(-1);
    expect(check).toMatchObject({
      auth: 'jwt',
      status: 200,
      body: { globalPermissions: ['ADMINISTER'], accountId: siteA.admin.accountId },
    });
  });

  it('answers 401 without a JWT', async () => {
    const res = await getCreds();
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('unauthorized');
  });

  it('a browser opening an admin address outside Jira gets a page that says where the app lives, not a JSON 401', async () => {
    const browser = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
    for (const path of ['/admin', '/api/v1/connections']) {
      const res = await request(app.url).get(path).set('Accept', browser);
      expect([path, res.status, res.headers['content-type']]).toEqual([path, 401, 'text/html; charset=utf-8']);
      expect(res.text).toContain('Open this from Jira');
      expect(res.text).toContain('Settings → Apps → IdP User &amp; Group Sync');
    }
    // A script (JSON, or no Accept) still gets the API's 401.
    expect((await request(app.url).get('/api/v1/connections')).body.error).toBe('unauthorized');
    expect((await request(app.url).get('/admin').set('Accept', 'application/json')).body.error).toBe('unauthorized');
  });

  it('sends security headers that let Jira, and only Jira, frame the admin page', async () => {
    const page = await request(app.url)
      .get('/admin')
      .set(jwtHeader(siteA.appJwt('GET', '/admin', siteA.admin.accountId)));
    expect(page.status).toBe(200);
    const csp = page.headers['content-security-policy'];
    expect(csp).toContain(`frame-ancestors ${siteA.url} https://*.atlassian.net https://*.jira.com`);
    expect(csp).toContain(`script-src 'self' ${app.url} ${siteA.url} https://connect-cdn.atl-paas.net`);
    expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
    expect(page.headers['x-frame-options']).toBeUndefined();
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    // Everything else may be framed by nobody but us, and is not sniffed.
    const api = await getCreds(siteA.contextJwt(siteA.admin.accountId));
    expect(api.headers['content-security-policy']).toContain("frame-ancestors 'self'");
    expect(api.headers['content-security-policy']).not.toContain('upgrade-insecure-requests');
    expect(api.headers['x-content-type-options']).toBe('nosniff');
    const home = await request(app.url).get('/');
    expect(home.headers['content-security-policy']).toContain("frame-ancestors 'self'");
  });

  it('answers 403 to a user who is not a Jira administrator', async () => {
    const user = siteA.state.addUser({ emailAddress: 'dev@example.com' });
    const res = await getCreds(siteA.contextJwt(user.accountId));
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ error: 'forbidden', message: expect.stringMatching(/administrators/) });
  });

  it('answers 403 to a context JWT that names no user', async () => {
    expect((await getCreds(siteA.contextJwt(undefined))).status).toBe(403);
  });

  it('answers 401 to a JWT with a wrong qsh, or one Jira bound to another URL', async () => {
    expect((await getCreds(siteA.contextJwt(siteA.admin.accountId, { qsh: 'f'.repeat(64) }))).status).toBe(401);
    const pageToken = siteA.appJwt('GET', '/admin', siteA.admin.accountId);
    expect((await getCreds(pageToken)).status).toBe(401);
  });

  it('accepts a JWT bound to exactly this request', async () => {
    const token = siteA.appJwt('GET', '/api/v1/site-credentials', siteA.admin.accountId);
    expect((await getCreds(token)).status).toBe(200);
  });

  it('answers 401 to an expired JWT', async () => {
    expect((await getCreds(siteA.contextJwt(siteA.admin.accountId, { expiresIn: -5 }))).status).toBe(401);
  });

  it("answers 401 to a JWT that claims another tenant but is signed with this tenant's secret", async () => {
    const forged = siteA.contextJwt(siteA.admin.accountId, { iss: siteB.clientKey });
    expect((await getCreds(forged)).status).toBe(401);
  });

  it('answers 401 to a JWT from a site that never installed the app', async () => {
    const stranger = await new FakeJira().start();
    stranger.installPayload(); // a shared secret we never received
    expect((await getCreds(stranger.contextJwt(stranger.admin.accountId))).status).toBe(401);
    await stranger.stop();
  });

  it("keeps tenants apart: tenant B's admin never sees tenant A's credentials", async () => {
    await app.credentials.save(siteA.clientKey, {
      email: 'owner@a.example',
      apiToken: 'tok-A',
      tokenAccountId: 'x',
      orgId: null,
      orgApiKey: null,
      updatedBy: 'test',
    });
    const a = await getCreds(siteA.contextJwt(siteA.admin.accountId));
    const b = await getCreds(siteB.contextJwt(siteB.admin.accountId));
    expect(a.body).toMatchObject({ email: 'owner@a.example', apiTokenSet: true });
    expect(b.body).toMatchObject({ email: null, apiTokenSet: false });
    expect(JSON.stringify(b.body)).not.toContain('owner@a.example');
  });

  it('answers 502, never 500, when Jira cannot answer the permission check', async () => {
    const other = siteA.state.addUser({ emailAddress: 'admin2@example.com' });
    siteA.state.administrators.add(other.accountId); // an admin whose answer the app has not heard yet
    siteA.failNext({ status: 503 }, { status: 503 });
    const res = await getCreds(siteA.contextJwt(other.accountId));
    expect(res.status).toBe(502);
    expect(res.body.error).toBe('jira_unavailable');
  });

  it("asks Jira once per page load and user, not once per API call (app traffic counts against the site's quota)", async () => {
    const admin = siteA.state.addUser({ emailAddress: 'admin3@example.com' });
    siteA.state.administrators.add(admin.accountId);
    const checks = () =>
      siteA
        .callsTo('POST', '/rest/api/3/permissions/check')
        .filter((c) => (c.body as { accountId?: string }).accountId === admin.accountId).length;
    const page = await request(app.url)
      .get('/admin')
      .set(jwtHeader(siteA.appJwt('GET', '/admin', admin.accountId)));
    expect(page.status).toBe(200);
    expect(checks()).toBe(1);
    // the page's first calls come together, then more as the admin works
    await Promise.all(Array.from({ length: 5 }, () => getCreds(siteA.contextJwt(admin.accountId)).expect(200)));
    for (let i = 0; i < 20; i++) await getCreds(siteA.contextJwt(admin.accountId)).expect(200);
    expect(checks()).toBe(1);
    // a user who is not an administrator asks no more often, however many calls they make
    const user = siteA.state.addUser({ emailAddress: 'curious@example.com' });
    for (let i = 0; i < 10; i++) expect((await getCreds(siteA.contextJwt(user.accountId))).status).toBe(403);
    expect(
      siteA
        .callsTo('POST', '/rest/api/3/permissions/check')
        .filter((c) => (c.body as { accountId?: string }).accountId === user.accountId),
    ).toHaveLength(1);
    // a new page load asks again (an admin whose role was taken away is refused from then on)
    siteA.state.administrators.delete(admin.accountId);
    const again = await request(app.url)
      .get('/admin')
      .set(jwtHeader(siteA.appJwt('GET', '/admin', admin.accountId)));
    expect(again.status).toBe(403);
    expect((await getCreds(siteA.contextJwt(admin.accountId))).status).toBe(403);
    expect(checks()).toBe(2);
  });

  it('answers 404 in JSON for an unknown admin resource, but only after authentication', async () => {
    expect((await request(app.url).get('/api/v1/nope')).status).toBe(401);
    const res = await request(app.url)
      .get('/api/v1/nope')
      .set(jwtHeader(siteA.contextJwt(siteA.admin.accountId)));
    expect(res.status).toBe(404);
    expect(res.body.error).toBe('not_found');
  });
});

describe('bad input on the admin API', () => {
  const put = (body: string, type = 'application/json') =>
    request(app.url)
      .put('/api/v1/site-credentials')
      .set(jwtHeader(siteA.contextJwt(siteA.admin.accountId)))
      .set('Content-Type', type)
      .send(body);

  it('answers 400 malformed_json to broken JSON', async () => {
    const res = await put('{"email": ');
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'malformed_json', message: expect.any(String) });
  });

  it('answers 413 to a body over 1 MB', async () => {
    const res = await put(JSON.stringify({ email: 'a@b.c', apiToken: 'x'.repeat(1_100_000) }));
    expect(res.status).toBe(413);
    expect(res.body.error).toBe('payload_too_large');
  });
});

describe('admin page', () => {
  it('renders for an administrator, with all.js from the host and AUI from our own origin', async () => {
    const path = '/admin?lic=none&xdm_e=https%3A%2F%2Fevil.example';
    const res = await request(app.url)
      .get(path)
      .set(jwtHeader(siteA.appJwt('GET', path, siteA.admin.accountId)));
    expect(res.status).toBe(200);
    expect(res.text).toContain(`<script src="${siteA.url}/atlassian-connect/all.js"`);
    expect(res.text).toContain(`href="${app.url}/vendor/aui/aui-prototyping.css"`);
    expect(res.text).not.toContain('evil.example');
    expect(res.text).toContain('Site credentials');
    expect((await request(app.url).get('/vendor/aui/aui-prototyping.css')).status).toBe(200);
    expect((await request(app.url).get('/public/js/admin.js')).status).toBe(200);
  });

  it('shows non-administrators a 403 page and no settings', async () => {
    const user = siteA.state.addUser({ emailAddress: 'viewer@example.com' });
    const res = await request(app.url)
      .get('/admin')
      .set(jwtHeader(siteA.appJwt('GET', '/admin', user.accountId)));
    expect(res.status).toBe(403);
    expect(res.text).toContain('Administrators only');
    expect(res.text).not.toContain('site-credentials');
  });

  it('refuses a page load without a JWT bound to it', async () => {
    expect((await request(app.url).get('/admin')).status).toBe(401);
    const res = await request(app.url)
      .get('/admin')
      .set(jwtHeader(siteA.contextJwt(siteA.admin.accountId, { qsh: 'f'.repeat(64) })));
    expect(res.status).toBe(401);
  });
});

describe('health', () => {
  it('reports the process and database up', async () => {
    const res = await request(app.url).get('/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok', database: 'up' });
  });
});

describe('health when the database is gone', () => {
  it('answers 503 with the database down', async () => {
    const other = await startTestApp({ keys });
    await other.db.sequelize.close();
    const res = await request(other.url).get('/healthz');
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ status: 'degraded', database: 'down' });
    await other.close().catch(() => undefined);
  });
});
