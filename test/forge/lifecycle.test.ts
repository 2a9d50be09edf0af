import crypto from 'node:crypto';
import request from 'supertest';
import { jwtHeader, startTestApp, storeSiteToken, type TestApp } from '../support/app';
import { FakeForge } from '../support/fakeForge';
import { FakeJira } from '../support/fakeJira';
import { KeyServer } from '../support/keyServer';

/** Forge's lifecycle triggers at our remote: trusted by their invocation token; a Connect site carries over. */
let keys: KeyServer;
let forge: FakeForge;
let jira: FakeJira;
let app: TestApp;
const installation = crypto.randomUUID();
const ari = `ari:cloud:ecosystem::installation/${installation}`;

beforeAll(async () => {
  keys = await new KeyServer().start();
});
afterAll(() => keys.stop());
beforeEach(async () => {
  forge = await new FakeForge().start();
  jira = await new FakeJira().start();
  app = await startTestApp({ keys, env: { FORGE_APP_ID: forge.appId, FORGE_JWKS_URL: forge.jwksUrl } });
});
afterEach(async () => {
  await app.close();
  await jira.stop();
  await forge.stop();
});

/** An app system token as Forge hands it (a JWT; the remote only reads its expiry). */
const systemToken = (expSec: number) =>
  ['{"alg":"RS256"}', JSON.stringify({ exp: expSec, sub: 'app' }), 'sig']
    .map((p, i) => (i < 2 ? Buffer.from(p).toString('base64url') : p))
    .join('.');

it('a site installed as the Connect version carries over when Forge upgrades it: same data, tokens kept sealed; a retried event changes nothing', async () => {
  expect((await jira.install(app.url, keys, { installationId: installation })).status).toBe(204);
  await storeSiteToken(app, jira);
  const admin = () => jwtHeader(jira.contextJwt(jira.admin.accountId));
  const created = await request(app.url)
    .post('/api/v1/connections')
    .set(admin())
    .send({ name: 'Okta', kind: 'scim', provider: 'okta' })
    .expect(201);

  const exp = Math.floor(Date.now() / 1000) + 4 * 3600;
  const token = systemToken(exp);
  const claims = { installationId: installation, apiBaseUrl: 'https://api.atlassian.com/ex/jira/cloud-1' };
  for (let delivery = 0; delivery < 2; delivery++) {
    const res = await forge.invoke(`${app.url}/forge/lifecycle/upgraded`, claims, { appSystemToken: token });
    expect(res.status).toBe(204);
  }
  const [rows] = (await app.db.sequelize.query('SELECT * FROM forge_tokens')) as [
    Array<Record<string, unknown>>,
    unknown,
  ];
  expect(rows).toHaveLength(1);
  expect(rows[0]).toMatchObject({
    client_key: jira.clientKey,
    api_base_url: 'https://api.atlassian.com/ex/jira/cloud-1',
  });
  expect(String(rows[0].system_token_enc)).not.toContain(token.split('.')[1]); // sealed at rest
  expect((rows[0].system_token_exp as Date).getTime()).toBe(exp * 1000);

  // Everything the site had is still there.
  const list = await request(app.url).get('/api/v1/connections').set(admin()).expect(200);
  expect(list.body.connections.map((c: { id: string }) => c.id)).toEqual([created.body.id]);
  expect((await request(app.url).get('/api/v1/site-credentials').set(admin())).body.apiTokenSet).toBe(true);

  // A later event without a system token keeps the stored one.
  expect((await forge.invoke(`${app.url}/forge/lifecycle/installed`, claims)).status).toBe(204);
  const [[again]] = (await app.db.sequelize.query('SELECT system_token_enc FROM forge_tokens')) as [
    Array<{ system_token_enc: string }>,
    unknown,
  ];
  expect(again.system_token_enc).toBe(rows[0].system_token_enc);
  expect(app.logs.join('\n')).not.toContain(token);
});

it('answers 202 for an installation it cannot find a site for (the call brought no system token to ask Jira with), says what to check, and stores nothing', async () => {
  const res = await forge.invoke(`${app.url}/forge/lifecycle/installed`, { installationId: crypto.randomUUID() });
  expect(res.status).toBe(202);
  expect(await res.json()).toEqual({ known: false, message: expect.stringMatching(/no app system token/) });
  expect((await app.db.sequelize.query('SELECT * FROM forge_tokens'))[0]).toEqual([]);
  expect((await app.db.sequelize.query('SELECT * FROM tenants'))[0]).toEqual([]);
  expect(app.logs.join('\n')).toContain(
    "Forge installed: the installation's site could not be found: the call brought no app system token: check that the manifest's endpoints ask for it",
  );
});

it('refuses a call without a valid Forge invocation token with 401, in the API error format', async () => {
  await jira.install(app.url, keys, { installationId: installation });
  const forged = await forge.token({ installationId: ari }, { audience: 'ari:cloud:ecosystem::app/someone-else' });
  const res = await fetch(`${app.url}/forge/lifecycle/installed`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${forged}`, 'Content-Type': 'application/json' },
    body: '{}',
  });
  expect(res.status).toBe(401);
  expect(await res.json()).toMatchObject({
    error: 'unauthorized',
    message: expect.stringMatching(/aud claim/),
  });
  const none = await fetch(`${app.url}/forge/lifecycle/installed`, { method: 'POST' });
  expect(none.status).toBe(401);
});

it('has no Forge endpoints until the app id they must be addressed to is configured', async () => {
  const plain = await startTestApp({ keys });
  try {
    const res = await forge.invoke(`${plain.url}/forge/lifecycle/installed`, { installationId: installation });
    expect(res.status).toBe(404);
  } finally {
    await plain.close();
  }
});

it("Forge's preUninstall removes the site and its data, as Connect's uninstalled does; a second removal does nothing", async () => {
  await jira.install(app.url, keys, { installationId: installation });
  await storeSiteToken(app, jira);
  const admin = () => jwtHeader(jira.contextJwt(jira.admin.accountId));
  await request(app.url)
    .post('/api/v1/connections')
    .set(admin())
    .send({ name: 'Okta', kind: 'scim', provider: 'okta' })
    .expect(201);
  const count = async (table: string) =>
    Number(((await app.db.sequelize.query(`SELECT count(*) AS n FROM ${table}`))[0] as Array<{ n: string }>)[0].n);
  expect(await count('connections')).toBe(1);

  // The first delivery removes the site; a redelivery finds nothing left to remove (202, known: false).
  const statuses = [];
  for (let delivery = 0; delivery < 2; delivery++)
    statuses.push(
      (await forge.invoke(`${app.url}/forge/lifecycle/uninstalling`, { installationId: installation })).status,
    );
  expect(statuses).toEqual([204, 202]);
  for (const table of ['tenants', 'connections', 'site_credentials', 'addon_settings'])
    expect(await count(table)).toBe(0);
  // an uninstall for another installation changes nothing (202: nothing to do), and a forged one is refused
  expect(
    (await forge.invoke(`${app.url}/forge/lifecycle/uninstalling`, { installationId: crypto.randomUUID() })).status,
  ).toBe(202);
  const forged = await fetch(`${app.url}/forge/lifecycle/uninstalling`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${await forge.token({ installationId: installation }, { foreignKey: true })}` },
  });
  expect(forged.status).toBe(401);
});

it('a delivery that failed is redelivered by Forge, and the redelivery makes one site, not two', async () => {
  let failures = 1;
  const original = app.tenants.createForge.bind(app.tenants);
  const spy = jest.spyOn(app.tenants, 'createForge').mockImplementation(async (...args) => {
    if (failures-- > 0) throw new Error('the database blinked');
    return original(...args);
  });
  try {
    const inst = await forge.install(jira, app.url);
    expect(inst.calls.map((c) => c.status)).toEqual([500, 204]);
    const sites = (await app.db.sequelize.query('SELECT client_key FROM tenants'))[0];
    expect(sites).toEqual([{ client_key: inst.ari }]);
    // Forge's own redeliveries of an event that did succeed change nothing either.
    expect((await inst.lifecycle('avi:forge:installed:app')).statuses).toEqual([204]);
    expect((await app.db.sequelize.query('SELECT client_key FROM tenants'))[0]).toHaveLength(1);
  } finally {
    spy.mockRestore();
  }
});
