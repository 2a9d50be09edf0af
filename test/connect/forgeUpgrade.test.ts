import request from 'supertest';
import { QueryTypes } from 'sequelize';
import { jwtHeader } from '../support/app';
import { entraUser, startScim, type ScimHarness } from '../support/scim';

/**
 * A site on the Connect version moves to the Forge version ("Connect on Forge", same app key):
 * Jira replaces the Connect install with the Forge one and sends a signed `installed` with a new
 * shared secret and an installationId — no uninstall. Everything the site had stays and keeps working.
 */
let s: ScimHarness;
beforeAll(async () => {
  s = await startScim('entra', { SYNC_DEBOUNCE_MS: '1' });
});
afterAll(() => s.close());

const admin = () => jwtHeader(s.jira.contextJwt(s.jira.admin.accountId));
const api = (path: string) => request(s.app.url).get(`/api/v1${path}`).set(admin());
const user = entraUser;
const settle = () => s.settle();

it('keeps connections, SCIM tokens, site credentials and sync history, and syncs on', async () => {
  await s.storeSiteToken();
  expect((await s.post('/Users', user('ada'))).status).toBe(201);
  await settle();
  const connectionsBefore = (await api('/connections')).body.connections;
  const runsBefore = (await api(`/connections/${s.connectionId}/runs`)).body.runs;
  expect(runsBefore).toHaveLength(1);
  const oldSecretJwt = s.jira.contextJwt(s.jira.admin.accountId);

  const installationId = '0b9e7c2a-5d41-4f8e-a3b6-7c1d2e3f4a5b';
  expect((await s.jira.install(s.app.url, s.keys, { installationId })).status).toBe(204);

  const [tenant] = await s.app.db.sequelize.query<{ installation_id: string }>(
    'SELECT installation_id FROM tenants WHERE client_key = $1',
    { bind: [s.jira.clientKey], type: QueryTypes.SELECT },
  );
  expect(tenant.installation_id).toBe(`ari:cloud:ecosystem::installation/${installationId}`);
  // The new shared secret is in force, the old one no longer is.
  expect((await request(s.app.url).get('/api/v1/connections').set(jwtHeader(oldSecretJwt))).status).toBe(401);
  expect((await api('/connections')).body.connections).toEqual(connectionsBefore);
  expect((await api(`/connections/${s.connectionId}/runs`)).body.runs).toEqual(runsBefore);
  expect((await api('/site-credentials')).body).toMatchObject({ email: s.jira.admin.emailAddress, apiTokenSet: true });
  const listed = await s.get('/Users?filter=' + encodeURIComponent('userName eq "ada@contoso.com"'));
  expect(listed.status).toBe(200); // the IdP's bearer token still works
  expect(listed.body.totalResults).toBe(1);

  expect((await s.post('/Users', user('grace'))).status).toBe(201);
  await settle();
  expect(s.jira.state.userByEmail('grace@contoso.com')).toBeDefined();
  expect((await api(`/connections/${s.connectionId}/runs`)).body.runs).toHaveLength(2);
});
