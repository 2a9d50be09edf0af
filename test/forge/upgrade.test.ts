import crypto from 'node:crypto';
import { QueryTypes } from 'sequelize';
import { FakeForge } from '../support/fakeForge';
import { entraUser, startScim, type ScimHarness } from '../support/scim';

/**
 * A site that installed the Connect version moves to the Forge version through the fake Forge
 * platform and loses nothing: connections, SCIM tokens, credentials, rules, links and history stay,
 * the admin page's invokeRemote sees them, and app reads switch to the system token. Sites installed
 * through Forge's Connect bridge are known by their installation id; older ones (a descriptor
 * install, no installation id) by their site URL.
 */
let forge: FakeForge;
let s: ScimHarness;

beforeEach(async () => {
  forge = await new FakeForge().start();
  s = await startScim('okta', { FORGE_APP_ID: forge.appId, FORGE_JWKS_URL: forge.jwksUrl });
  await s.storeSiteToken();
});
afterEach(async () => {
  await s.close();
  await forge.stop();
});

const rows = (sql: string) => s.app.db.sequelize.query<Record<string, unknown>>(sql, { type: QueryTypes.SELECT });

it.each([
  ['installed through Connect on Forge (the installed event named the installation)', true],
  ['installed from its descriptor before Forge (found by its site URL)', false],
])('a site %s carries over whole', async (_name, viaBridge) => {
  const installationId = crypto.randomUUID();
  if (viaBridge) expect((await s.jira.install(s.app.url, s.keys, { installationId })).status).toBe(204);
  const rules = await s.adminApi('GET', `/connections/${s.connectionId}/rules`);
  rules.body.groups.defaultForNewUsers = ['jira-users-imported'];
  expect((await s.adminApi('PUT', `/connections/${s.connectionId}/rules`, rules.body)).status).toBe(200);
  expect((await s.post('/Users', entraUser('ann'))).status).toBe(201);
  await s.settle();
  const ann = s.jira.state.userByEmail('ann@contoso.com');
  expect(ann).toBeDefined();
  const before = {
    connections: await rows('SELECT id, name, scim_token_hash, settings FROM connections ORDER BY id'),
    links: await rows('SELECT * FROM jira_links ORDER BY connection_id'),
    runs: await rows('SELECT id, status FROM sync_runs ORDER BY started_at'),
    credentials: await rows('SELECT client_key, email, api_token_enc FROM site_credentials'),
  };

  const inst = await forge.install(s.jira, s.app.url, { installationId, silent: true });
  expect((await inst.lifecycle('avi:forge:upgraded:app')).statuses).toEqual([204]);

  const [tenant] = await rows('SELECT client_key, installation_id FROM tenants');
  expect(tenant).toEqual({ client_key: s.jira.clientKey, installation_id: inst.ari });
  expect(await rows('SELECT client_key FROM tenants')).toHaveLength(1);
  expect({
    connections: await rows('SELECT id, name, scim_token_hash, settings FROM connections ORDER BY id'),
    links: await rows('SELECT * FROM jira_links ORDER BY connection_id'),
    runs: await rows('SELECT id, status FROM sync_runs ORDER BY started_at'),
    credentials: await rows('SELECT client_key, email, api_token_enc FROM site_credentials'),
  }).toEqual(before);

  // The admin page under Forge sees the same site.
  const admin = (path: string) =>
    inst.invokeRemote({ path: `/forge/api/v1${path}`, method: 'GET' }, s.jira.admin.accountId);
  const list = await admin('/connections');
  expect(list).toMatchObject({ success: true, payload: { status: 200 } });
  expect(
    list.success && (list.payload.body as { connections: Array<{ id: string }> }).connections.map((c) => c.id),
  ).toEqual([s.connectionId]);
  const history = await admin(`/connections/${s.connectionId}/runs`);
  expect(history.success && (history.payload.body as { runs: unknown[] }).runs).toHaveLength(before.runs.length);
  const rulesAfter = await admin(`/connections/${s.connectionId}/rules`);
  expect(rulesAfter.success && rulesAfter.payload.body).toMatchObject({
    groups: { defaultForNewUsers: ['jira-users-imported'] },
  });

  // The IdP's SCIM token still works; the app's reads now go with Forge's system token.
  const callsBefore = s.jira.calls.length;
  expect((await s.post('/Users', entraUser('bob'))).status).toBe(201);
  await s.settle();
  expect(s.jira.state.userByEmail('bob@contoso.com')).toBeDefined();
  // A full reconciliation reads Jira's groups and members (the SCIM run above only wrote: one create).
  expect((await s.adminApi('POST', `/connections/${s.connectionId}/sync`, {})).status).toBe(202);
  await s.settle();
  const after = s.jira.calls.slice(callsBefore).map((c) => c.auth);
  expect(after).toContain('forge');
  expect(after).not.toContain('jwt');
  // Sites still on the Connect version's page keep working with Connect JWTs until the end of support.
  expect((await s.adminApi('GET', '/connections')).status).toBe(200);
});
