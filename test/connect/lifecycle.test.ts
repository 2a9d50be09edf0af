import crypto from 'node:crypto';
import * as jwt from 'atlassian-jwt';
import request from 'supertest';
import { QueryTypes } from 'sequelize';
import { FakeJira } from '../support/fakeJira';
import { generateRsa, KeyServer } from '../support/keyServer';
import { jwtHeader, startTestApp, type TestApp } from '../support/app';

let keys: KeyServer;
let app: TestApp;
let jira: FakeJira;

beforeAll(async () => {
  keys = await new KeyServer().start();
  app = await startTestApp({ keys });
});
beforeEach(async () => {
  jira = await new FakeJira().start();
});
afterEach(() => jira.stop());
afterAll(async () => {
  await app.close();
  await keys.stop();
});

const tenantRows = (clientKey: string) =>
  app.db.sequelize.query<{ client_key: string; installed_at: Date; enabled: boolean; installation_id: string | null }>(
    'SELECT * FROM tenants WHERE client_key = $1',
    { bind: [clientKey], type: QueryTypes.SELECT },
  );
const settingRows = (clientKey: string) =>
  app.db.sequelize.query<{ key: string; val: Record<string, unknown> }>(
    'SELECT key, val FROM addon_settings WHERE client_key = $1',
    { bind: [clientKey], type: QueryTypes.SELECT },
  );

/** Posts an install payload with the given Authorization header. */
function postInstall(payload: Record<string, unknown>, token?: string) {
  const req = request(app.url).post('/installed').send(payload);
  return token ? req.set('Authorization', `JWT ${token}`) : req;
}

describe('signed install', () => {
  it('accepts an RS256 install signed with a key from the key server and records the tenant', async () => {
    const res = await jira.install(app.url, keys);
    expect(res.status).toBe(204);
    const [tenant] = await tenantRows(jira.clientKey);
    expect(tenant).toMatchObject({
      client_key: jira.clientKey,
      base_url: jira.url,
      enabled: true,
      installation_id: null,
    });
  });

  it('keeps the shared secret encrypted at rest, never in the clear', async () => {
    await jira.install(app.url, keys);
    const [row] = await settingRows(jira.clientKey);
    expect(JSON.stringify(row.val)).not.toContain(jira.sharedSecret);
    expect(row.val.sharedSecret).toBeUndefined();
    expect(String(row.val.sharedSecretEnc)).toMatch(/^v1:/);
    // …and ACE still gets it back: a JWT signed with it authenticates.
    const res = await request(app.url)
      .get('/api/v1/site-credentials')
      .set(jwtHeader(jira.contextJwt(jira.admin.accountId)));
    expect(res.status).toBe(200);
  });

  it('refuses an install signed with a private key the key server does not vouch for', async () => {
    const payload = jira.installPayload();
    const forged = keys.signLifecycle({
      method: 'POST',
      path: '/installed',
      clientKey: jira.clientKey,
      audience: app.url,
      privateKey: generateRsa().privateKey,
    });
    expect((await postInstall(payload, forged)).status).toBe(401);
    const unknownKid = keys.signLifecycle({
      method: 'POST',
      path: '/installed',
      clientKey: jira.clientKey,
      audience: app.url,
      kid: 'no-such-key',
      privateKey: generateRsa().privateKey,
    });
    expect((await postInstall(payload, unknownKid)).status).toBe(401);
    expect(await tenantRows(jira.clientKey)).toHaveLength(0);
  });

  it('refuses an install whose audience is another app', async () => {
    const token = keys.signLifecycle({
      method: 'POST',
      path: '/installed',
      clientKey: jira.clientKey,
      audience: 'https://someone-else.example.com',
    });
    expect((await postInstall(jira.installPayload(), token)).status).toBe(401);
    expect(await tenantRows(jira.clientKey)).toHaveLength(0);
  });

  it('refuses an HS256 (shared-secret) install', async () => {
    const payload = jira.installPayload();
    const now = Math.floor(Date.now() / 1000);
    const hs = jwt.encodeSymmetric(
      {
        iss: jira.clientKey,
        aud: [app.url],
        iat: now,
        exp: now + 60,
        qsh: jwt.createQueryStringHash(jwt.fromMethodAndUrl('POST', '/installed')),
      },
      String(payload.sharedSecret),
      jwt.SymmetricAlgorithm.HS256,
    );
    expect((await postInstall(payload, hs)).status).toBe(401);
    expect(await tenantRows(jira.clientKey)).toHaveLength(0);
  });

  it('refuses an install with no JWT, an expired JWT, or a clientKey that is not the signer', async () => {
    expect((await postInstall(jira.installPayload())).status).toBe(401);
    const expired = keys.signLifecycle({
      method: 'POST',
      path: '/installed',
      clientKey: jira.clientKey,
      audience: app.url,
      expiresIn: -10,
    });
    expect((await postInstall(jira.installPayload(), expired)).status).toBe(401);
    const other = keys.signLifecycle({
      method: 'POST',
      path: '/installed',
      clientKey: 'someone-else',
      audience: app.url,
    });
    expect((await postInstall(jira.installPayload(), other)).status).toBe(401);
    expect(await tenantRows(jira.clientKey)).toHaveLength(0);
  });

  it('answers in the admin API error format, not HTML or a stack trace', async () => {
    const res = await postInstall(jira.installPayload());
    expect(res.body).toEqual({ error: 'unauthorized', message: expect.any(String) });
  });

  it('is idempotent on reinstall: one tenant, first install time kept, the new shared secret in force', async () => {
    await jira.install(app.url, keys);
    const [first] = await tenantRows(jira.clientKey);
    const oldSecret = jira.sharedSecret!;
    expect((await jira.install(app.url, keys)).status).toBe(204);
    const rows = await tenantRows(jira.clientKey);
    expect(rows).toHaveLength(1);
    expect(rows[0].installed_at).toEqual(first.installed_at);
    expect(await settingRows(jira.clientKey)).toHaveLength(1);
    const stale = jira.contextJwt(jira.admin.accountId, { secret: oldSecret });
    expect((await request(app.url).get('/api/v1/site-credentials').set(jwtHeader(stale))).status).toBe(401);
    expect(
      (
        await request(app.url)
          .get('/api/v1/site-credentials')
          .set(jwtHeader(jira.contextJwt(jira.admin.accountId)))
      ).status,
    ).toBe(200);
  });
});

describe('enabled and disabled', () => {
  it('records both events, signed with the shared secret', async () => {
    await jira.install(app.url, keys);
    expect((await jira.lifecycle('disabled', app.url)).status).toBe(204);
    expect((await tenantRows(jira.clientKey))[0].enabled).toBe(false);
    expect((await jira.lifecycle('enabled', app.url)).status).toBe(204);
    expect((await tenantRows(jira.clientKey))[0].enabled).toBe(true);
  });

  it('refuses an event whose JWT was signed with another secret', async () => {
    await jira.install(app.url, keys);
    const now = Math.floor(Date.now() / 1000);
    const token = jwt.encodeSymmetric(
      {
        iss: jira.clientKey,
        iat: now,
        exp: now + 60,
        qsh: jwt.createQueryStringHash(jwt.fromMethodAndUrl('POST', '/disabled')),
      },
      crypto.randomBytes(32).toString('hex'),
      jwt.SymmetricAlgorithm.HS256,
    );
    const res = await request(app.url).post('/disabled').set(jwtHeader(token)).send({ clientKey: jira.clientKey });
    expect(res.status).toBe(401);
    expect((await tenantRows(jira.clientKey))[0].enabled).toBe(true);
  });
});

describe('installed through Forge (Connect on Forge)', () => {
  const uuid = '6a1f1c0e-2b7d-4c3e-9f4a-0d8e5b7c6a21';
  const ari = `ari:cloud:ecosystem::installation/${uuid}`;

  it('stores the installationId with the tenant, in its full ARI form whichever form Forge sends', async () => {
    expect((await jira.install(app.url, keys, { installationId: uuid })).status).toBe(204);
    expect((await tenantRows(jira.clientKey))[0]).toMatchObject({ installation_id: ari, enabled: true });
    expect((await jira.install(app.url, keys, { installationId: ari })).status).toBe(204);
    expect(await tenantRows(jira.clientKey)).toEqual([expect.objectContaining({ installation_id: ari })]);
  });

  it('works with no enabled event ever sent: the admin page and the admin API answer', async () => {
    expect((await jira.install(app.url, keys, { installationId: uuid })).status).toBe(204);
    const page = await request(app.url)
      .get('/admin')
      .set(jwtHeader(jira.appJwt('GET', '/admin', jira.admin.accountId)));
    expect(page.status).toBe(200);
    expect(page.text).toContain('IdP User &amp; Group Sync');
    const api = await request(app.url)
      .get('/api/v1/connections')
      .set(jwtHeader(jira.contextJwt(jira.admin.accountId)));
    expect(api.status).toBe(200);
    expect(api.body).toEqual({ connections: [] });
  });

  it('hands an installation over to the site that installed last, never failing the install', async () => {
    expect((await jira.install(app.url, keys, { installationId: uuid })).status).toBe(204);
    const other = await new FakeJira().start();
    try {
      expect((await other.install(app.url, keys, { installationId: uuid })).status).toBe(204);
      expect((await tenantRows(other.clientKey))[0].installation_id).toBe(ari);
      expect((await tenantRows(jira.clientKey))[0].installation_id).toBeNull();
    } finally {
      await other.stop();
    }
  });

  it('refuses an installationId that is not text, in the admin API error format', async () => {
    const payload = { ...jira.installPayload(), installationId: 42 };
    const token = keys.signLifecycle({
      method: 'POST',
      path: '/installed',
      clientKey: jira.clientKey,
      audience: app.url,
    });
    const res = await postInstall(payload, token);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: expect.any(String), message: expect.stringContaining('installationId') });
    expect(await tenantRows(jira.clientKey)).toHaveLength(0);
  });
});

describe('uninstall', () => {
  it('removes every row of the tenant, ACE settings and credentials included', async () => {
    await jira.install(app.url, keys);
    await app.db.sequelize.query(
      "INSERT INTO site_credentials (client_key, email, api_token_enc) VALUES ($1, 'a@b.c', 'v1:x')",
      { bind: [jira.clientKey] },
    );
    const contextToken = jira.contextJwt(jira.admin.accountId);
    expect((await jira.uninstall(app.url, keys)).status).toBe(204);
    expect(await tenantRows(jira.clientKey)).toHaveLength(0);
    expect(await settingRows(jira.clientKey)).toHaveLength(0);
    const [{ n }] = await app.db.sequelize.query<{ n: string }>(
      'SELECT count(*) AS n FROM site_credentials WHERE client_key = $1',
      { bind: [jira.clientKey], type: QueryTypes.SELECT },
    );
    expect(Number(n)).toBe(0);
    expect((await request(app.url).get('/api/v1/site-credentials').set(jwtHeader(contextToken))).status).toBe(401);
  });

  it('refuses an unsigned or forged uninstall and removes nothing', async () => {
    await jira.install(app.url, keys);
    const forged = keys.signLifecycle({
      method: 'POST',
      path: '/uninstalled',
      clientKey: jira.clientKey,
      audience: app.url,
      privateKey: generateRsa().privateKey,
    });
    const res = await request(app.url)
      .post('/uninstalled')
      .set(jwtHeader(forged))
      .send({ clientKey: jira.clientKey, baseUrl: jira.url });
    expect(res.status).toBe(401);
    expect(
      (await request(app.url).post('/uninstalled').send({ clientKey: jira.clientKey, baseUrl: jira.url })).status,
    ).toBe(401);
    expect(await tenantRows(jira.clientKey)).toHaveLength(1);
  });

  it('allows a fresh install after an uninstall', async () => {
    await jira.install(app.url, keys);
    await jira.uninstall(app.url, keys);
    expect((await jira.install(app.url, keys)).status).toBe(204);
    expect(await tenantRows(jira.clientKey)).toHaveLength(1);
  });
});

describe('user_created webhook', () => {
  it('accepts the webhook with the JWT Jira signs for it, and refuses it without', async () => {
    await jira.install(app.url, keys);
    const body = { webhookEvent: 'user_created', user: { accountId: 'acc-1' } };
    const signed = await request(app.url)
      .post('/webhooks/user-created')
      .set(jwtHeader(jira.appJwt('POST', '/webhooks/user-created')))
      .send(body);
    expect(signed.status).toBe(204);
    expect((await request(app.url).post('/webhooks/user-created').send(body)).status).toBe(401);
  });
});

describe('descriptor', () => {
  it('serves the descriptor with signed installs, context qsh, scopes, admin pages and the user_created webhook', async () => {
    const res = await request(app.url).get('/atlassian-connect.json');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      key: 'idp-user-group-sync',
      baseUrl: app.url,
      authentication: { type: 'jwt' },
      apiMigrations: { 'signed-install': true, 'context-qsh': true },
      lifecycle: { installed: '/installed', uninstalled: '/uninstalled', enabled: '/enabled', disabled: '/disabled' },
      // ACCESS_EMAIL_ADDRESSES: without it Jira hides every email from the app
      scopes: ['READ', 'WRITE', 'ADMIN', 'ACCESS_EMAIL_ADDRESSES'],
    });
    expect(res.body.modules.adminPages[0]).toMatchObject({ url: '/admin' });
    expect(res.body.modules.configurePage).toMatchObject({ url: '/admin' });
    expect(res.body.modules.webhooks).toContainEqual({ event: 'user_created', url: '/webhooks/user-created' });
  });
});
