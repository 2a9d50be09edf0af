import request from 'supertest';
import { QueryTypes } from 'sequelize';
import { FakeJira } from '../support/fakeJira';
import { KeyServer } from '../support/keyServer';
import { jwtHeader, startTestApp, type TestApp } from '../support/app';

let keys: KeyServer;
let app: TestApp;
let siteA: FakeJira;
let siteB: FakeJira;

beforeAll(async () => {
  keys = await new KeyServer().start();
  app = await startTestApp({ keys });
  siteA = await new FakeJira().start();
  siteB = await new FakeJira().start();
  await siteA.install(app.url, keys);
  await siteB.install(app.url, keys);
});
afterAll(async () => {
  await app.close();
  await Promise.all([siteA.stop(), siteB.stop(), keys.stop()]);
});

const api = (site: FakeJira) => ({
  get: (path: string) =>
    request(app.url)
      .get(`/api/v1${path}`)
      .set(jwtHeader(site.contextJwt(site.admin.accountId))),
  post: (path: string, body?: object) =>
    request(app.url)
      .post(`/api/v1${path}`)
      .set(jwtHeader(site.contextJwt(site.admin.accountId)))
      .send(body),
  put: (path: string, body: object) =>
    request(app.url)
      .put(`/api/v1${path}`)
      .set(jwtHeader(site.contextJwt(site.admin.accountId)))
      .send(body),
  patch: (path: string, body: object) =>
    request(app.url)
      .patch(`/api/v1${path}`)
      .set(jwtHeader(site.contextJwt(site.admin.accountId)))
      .send(body),
  del: (path: string) =>
    request(app.url)
      .delete(`/api/v1${path}`)
      .set(jwtHeader(site.contextJwt(site.admin.accountId))),
});
const scimGet = (baseUrl: string, token: string) =>
  request(app.url)
    .get(`${new URL(baseUrl).pathname}/Users`)
    .set('Authorization', `Bearer ${token}`);
const create = (site: FakeJira, name: string, extra: object = {}) =>
  api(site).post('/connections', {
    name,
    kind: 'scim',
    provider: 'entra',
    target: 'users',
    importUsers: true,
    importGroups: true,
    ...extra,
  });

describe('connections admin API', () => {
  it('creates a SCIM connection and shows its base URL and token once', async () => {
    const res = await create(siteA, 'Entra ID (SCIM)');
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: 'Entra ID (SCIM)',
      kind: 'scim',
      provider: 'entra',
      providerLabel: 'Microsoft Entra ID',
      target: 'users',
      importUsers: true,
      importGroups: true,
      scim: { baseUrl: `${app.url}/scim/v2/${res.body.id}`, token: expect.stringMatching(/^scim_[A-Za-z0-9_-]{43}$/) },
    });
    expect(Buffer.from(res.body.scim.token.slice(5), 'base64url')).toHaveLength(32);
    expect((await scimGet(res.body.scim.baseUrl, res.body.scim.token)).status).toBe(200);
    // Shown once: later reads show only a hint.
    const got = await api(siteA).get(`/connections/${res.body.id}`);
    expect(got.body.scim).toEqual({
      baseUrl: res.body.scim.baseUrl,
      tokenHint: `…${res.body.scim.token.slice(-4)}`,
      tokenCreatedAt: expect.any(String),
      lastRequestAt: expect.any(String), // the IdP's call just now
    });
    expect(JSON.stringify((await api(siteA).get('/connections')).body)).not.toContain(res.body.scim.token);
    // Stored as a hash only.
    const [row] = await app.db.sequelize.query<Record<string, unknown>>('SELECT * FROM connections WHERE id = $1', {
      bind: [res.body.id],
      type: QueryTypes.SELECT,
    });
    expect(JSON.stringify(row)).not.toContain(res.body.scim.token);
  });

  it('lists, edits and validates', async () => {
    const c = (await create(siteA, 'Okta', { provider: 'okta' })).body;
    expect((await api(siteA).get('/connections')).body.connections.map((x: { name: string }) => x.name)).toContain(
      'Okta',
    );
    const edited = await api(siteA).patch(`/connections/${c.id}`, { name: 'Okta (prod)', importGroups: false });
    expect(edited.status).toBe(200);
    expect(edited.body).toMatchObject({
      name: 'Okta (prod)',
      importGroups: false,
      importUsers: true,
      provider: 'okta',
    });
    const bad = await api(siteA).patch(`/connections/${c.id}`, { kind: 'ldap', importUsers: 'yes' });
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.body.fields)).toEqual(expect.arrayContaining(['importUsers']));
    expect(bad.body.message).toMatch(/kind/);
  });

  it('previews group mapping under the saved rules or the rules given, validated at the edge', async () => {
    const c = (await create(siteA, 'Preview')).body;
    const saved = await api(siteA).put(`/connections/${c.id}/rules`, {
      groups: { manual: [{ idpGroup: 'Sales', jiraGroups: ['sales-team'] }] },
    });
    expect(saved.status).toBe(200);
    const bySaved = await api(siteA).post(`/connections/${c.id}/rules/preview`, { samples: ['Sales'] });
    expect(bySaved.status).toBe(200);
    expect(JSON.stringify(bySaved.body.mappings)).toContain('sales-team');
    const given = await api(siteA).post(`/connections/${c.id}/rules/preview`, {
      samples: ['jira-dev'],
      rules: { groups: { onTheFly: { enabled: true, pattern: '^jira-(.*)$', replacement: '$1' } } },
    });
    expect(given.status).toBe(200);
    expect(JSON.stringify(given.body.mappings)).toContain('"dev"');
    const bad = await api(siteA).post(`/connections/${c.id}/rules/preview`, {
      samples: ['x'],
      rules: { groups: { include: ['(unclosed'] } },
    });
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.body.fields)).toEqual(['rules.groups.include.0']);
  });

  it('refuses bad values, naming the field', async () => {
    const ldap = await create(siteA, 'Directory', { kind: 'ldap' });
    expect(ldap.status).toBe(400);
    expect(Object.keys(ldap.body.fields)).toContain('ldap');
    const other = await create(siteA, 'Other', { kind: 'onelogin' });
    expect(other.body.fields.kind).toMatch(/must be "scim", "entra", "ldap", "google", "okta" or "keycloak"/);
    const entra = await create(siteA, 'Graph', { kind: 'entra' });
    expect(entra.status).toBe(400);
    expect(Object.keys(entra.body.fields).sort()).toEqual(['clientSecret', 'entra']);
    const res = await api(siteA).post('/connections', { name: '', kind: 'scim', provider: 'ping' });
    expect(res.status).toBe(400);
    expect(Object.keys(res.body.fields).sort()).toEqual(['name', 'provider']);
  });

  it('refuses a second connection with the same name (any case) with 409', async () => {
    await create(siteA, 'Unique Name');
    const res = await create(siteA, 'UNIQUE name');
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ error: 'conflict', fields: { name: expect.any(String) } });
    expect((await create(siteB, 'Unique Name')).status).toBe(201); // names are per site
  });

  it('rotates the token: the new one works, the old one is refused at once', async () => {
    const c = (await create(siteA, 'Rotating')).body;
    const rotated = await api(siteA).post(`/connections/${c.id}/token`);
    expect(rotated.status).toBe(200);
    expect(rotated.body).toMatchObject({ baseUrl: c.scim.baseUrl, token: expect.stringMatching(/^scim_/) });
    expect(rotated.body.token).not.toBe(c.scim.token);
    expect((await scimGet(c.scim.baseUrl, c.scim.token)).status).toBe(401);
    expect((await scimGet(c.scim.baseUrl, rotated.body.token)).status).toBe(200);
  });

  it('deletes a connection: its token is revoked at once and its directory is gone', async () => {
    const c = (await create(siteA, 'Short-lived')).body;
    const path = new URL(c.scim.baseUrl).pathname;
    const user = await request(app.url)
      .post(`${path}/Users`)
      .set('Authorization', `Bearer ${c.scim.token}`)
      .set('Content-Type', 'application/scim+json')
      .send(JSON.stringify({ userName: 'x@y.z' }));
    expect(user.status).toBe(201);
    expect((await api(siteA).del(`/connections/${c.id}`)).status).toBe(204);
    expect((await scimGet(c.scim.baseUrl, c.scim.token)).status).toBe(401);
    expect((await api(siteA).get(`/connections/${c.id}`)).status).toBe(404);
    const [{ n }] = await app.db.sequelize.query<{ n: string }>(
      'SELECT count(*) AS n FROM directory_users WHERE connection_id = $1',
      { bind: [c.id], type: QueryTypes.SELECT },
    );
    expect(Number(n)).toBe(0);
  });

  it('answers 404 for unknown or malformed ids', async () => {
    for (const id of ['00000000-0000-0000-0000-000000000000', 'not-a-uuid']) {
      expect((await api(siteA).get(`/connections/${id}`)).status).toBe(404);
      expect((await api(siteA).patch(`/connections/${id}`, { name: 'x' })).status).toBe(404);
      expect((await api(siteA).del(`/connections/${id}`)).status).toBe(404);
      expect((await api(siteA).post(`/connections/${id}/token`)).status).toBe(404);
    }
  });
});

describe('tenant and connection isolation', () => {
  it("never shows or changes another site's connections", async () => {
    const a = (await create(siteA, 'A only')).body;
    expect((await api(siteB).get(`/connections/${a.id}`)).status).toBe(404);
    expect((await api(siteB).patch(`/connections/${a.id}`, { name: 'stolen' })).status).toBe(404);
    expect((await api(siteB).del(`/connections/${a.id}`)).status).toBe(404);
    expect((await api(siteB).post(`/connections/${a.id}/token`)).status).toBe(404);
    expect((await api(siteB).get('/connections')).body.connections.map((c: { id: string }) => c.id)).not.toContain(
      a.id,
    );
    expect((await api(siteA).get(`/connections/${a.id}`)).body.name).toBe('A only');
  });

  it("refuses a token on another connection's SCIM endpoint, of the same site or another, and tells nothing", async () => {
    const a1 = (await create(siteA, 'A1')).body;
    const a2 = (await create(siteA, 'A2')).body;
    const b1 = (await create(siteB, 'B1')).body;
    for (const [target, token] of [
      [a1, a2.scim.token],
      [a1, b1.scim.token],
      [b1, a1.scim.token],
    ]) {
      const res = await scimGet(target.scim.baseUrl, token);
      expect(res.status).toBe(401);
      expect(res.body).toEqual({
        schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
        status: '401',
        detail: 'The bearer token is not valid for this SCIM endpoint.',
      });
    }
    const unknown = await scimGet(`${app.url}/scim/v2/00000000-0000-0000-0000-000000000000`, a1.scim.token);
    expect(unknown.body.detail).toBe('The bearer token is not valid for this SCIM endpoint.');
  });
});

describe('control characters', () => {
  it('are refused in names with 400, not stored or failed on', async () => {
    const res = await create(siteA, 'bad\u0000name');
    expect(res.status).toBe(400);
    expect(res.body.fields.name).toMatch(/control characters/);
  });
});
