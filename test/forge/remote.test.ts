import crypto from 'node:crypto';
import { QueryTypes } from 'sequelize';
import { entraSalesConnection, waitFor } from '../support/entra';
import { FakeEntra } from '../support/fakeEntra';
import { entraUser, startScim, type ScimHarness } from '../support/scim';

/**
 * A site on the Forge version, end to end through the fake Forge platform: installed by Forge's
 * lifecycle trigger, configured through the admin page's invokeRemote, SCIM push reaching Jira,
 * the app's own Jira reads made with Forge's app system token through the API gateway (writes with
 * the stored site-admin token), events and the scheduled trigger, and the uninstall.
 */
let s: ScimHarness;

beforeEach(async () => {
  s = await startScim('okta', {}, { host: 'forge' });
});
afterEach(() => s.close());

const rows = (sql: string, bind: unknown[] = []) =>
  s.app.db.sequelize.query<Record<string, unknown>>(sql, { bind, type: QueryTypes.SELECT });

it('is installed as a Forge-only site keyed by its installation, with the system token kept sealed', async () => {
  const inst = s.installation!;
  expect(inst.calls[0]).toEqual({ endpoint: 'lifecycle-installed', path: '/forge/lifecycle/installed', status: 204 });
  const [tenant] = await rows('SELECT client_key, base_url, installation_id FROM tenants');
  expect(tenant).toEqual({ client_key: inst.ari, base_url: s.jira.url, installation_id: inst.ari });
  const [tokens] = await rows('SELECT * FROM forge_tokens');
  expect(tokens.api_base_url).toBe(s.jira.apiBaseUrl);
  expect(String(tokens.system_token_enc)).not.toContain(inst.systemToken!.slice(0, 40));
  expect(s.app.logs.join('')).not.toContain(inst.systemToken!.slice(-20));
  // Redelivered (Forge retries what failed): nothing changes.
  expect((await inst.lifecycle('avi:forge:installed:app')).statuses).toEqual([204]);
  expect(await rows('SELECT client_key FROM tenants')).toHaveLength(1);
});

it('SCIM push reaches Jira: reads with the app system token through the gateway, writes with the site-admin token, no Connect JWT', async () => {
  const saved = await s.adminApi('PUT', '/site-credentials', {
    email: s.jira.admin.emailAddress,
    apiToken: s.jira.adminToken,
  });
  expect(saved.status).toBe(200);
  expect((await s.post('/Users', entraUser('ann'))).status).toBe(201);
  await s.settle();
  expect(s.jira.state.userByEmail('ann@contoso.com')).toBeDefined();
  const auths = new Set(s.jira.calls.map((c) => c.auth));
  expect(auths.has('forge')).toBe(true);
  expect(auths.has('jwt')).toBe(false);
  expect(s.jira.calls.filter((c) => c.method === 'POST' && c.path === '/rest/api/3/user')[0].auth).toBe('token');
  const runs = await s.adminApi('GET', `/connections/${s.connectionId}/runs`);
  expect(runs.status).toBe(200);
  expect(runs.body.runs[0]).toMatchObject({ status: 'succeeded' });
});

it('checks Jira-admin rights on the server for every admin API call (the token has no admin flag); a bad token is the one 401', async () => {
  const inst = s.installation!;
  const user = s.jira.state.addUser({ emailAddress: 'dev@example.com', displayName: 'Dev' });
  const asUser = await inst.invokeRemote({ path: '/forge/api/v1/connections', method: 'GET' }, user.accountId);
  expect(asUser).toMatchObject({ success: true, payload: { status: 403, body: { error: 'forbidden' } } });
  const asAdmin = await inst.invokeRemote({ path: '/forge/api/v1/connections', method: 'GET' }, s.jira.admin.accountId);
  expect(asAdmin).toMatchObject({ success: true, payload: { status: 200 } });
  // The permission check went to Jira as the app (system token), not as the user.
  expect(s.jira.callsTo('POST', '/rest/api/3/permissions/check').map((c) => c.auth)).toEqual(['forge', 'forge']);

  const noToken = await fetch(`${s.app.url}/forge/api/v1/connections`);
  expect(noToken.status).toBe(401);
  expect(await noToken.json()).toMatchObject({ error: 'unauthorized' });
  const foreign = await fetch(`${s.app.url}/forge/api/v1/connections`, {
    headers: {
      Authorization: `Bearer ${await s.forge!.token(inst.claims({ principal: s.jira.admin.accountId, ui: true }), { audience: 'ari:cloud:ecosystem::app/other' })}`,
    },
  });
  expect(foreign.status).toBe(401);
  // Forge rejects invokeRemote on a 401 (reserved for its token): the page says so, and nothing 5xx.
  const unknown = await inst.invokeRemote(
    { path: '/forge/api/v1/connections/nope', method: 'GET' },
    s.jira.admin.accountId,
  );
  expect(unknown).toMatchObject({ success: true, payload: { status: 404 } });
});

it('a Jira read without a usable system token waits for the next trigger and says so in the run; the scheduled trigger brings one and the run goes on', async () => {
  await s.storeSiteToken();
  await rows("UPDATE forge_tokens SET system_token_exp = now() - interval '1 minute'");
  s.app.jira.forget(s.clientKey);
  expect((await s.post('/Users', entraUser('bob'))).status).toBe(201);
  await s.takeUp();
  const [waiting] = await rows('SELECT status, error, next_try_at FROM sync_runs ORDER BY started_at DESC LIMIT 1');
  expect(waiting.status).toBe('failed');
  expect(String(waiting.error)).toMatch(/waits for Forge's app system token/);
  expect(waiting.next_try_at).not.toBeNull();
  expect(s.jira.state.userByEmail('bob@contoso.com')).toBeUndefined();

  const inst = s.installation!;
  await inst.refreshSystemToken();
  expect((await inst.scheduled()).statuses).toEqual([204]);
  await waitFor(
    async () => (await rows('SELECT 1 FROM sync_requests')).length > 0 || !!s.jira.state.userByEmail('bob@contoso.com'),
  );
  await s.settle();
  expect(s.jira.state.userByEmail('bob@contoso.com')).toBeDefined();
});

it('avi:jira:created:user is answered at once and queued; a redelivery of the same event does nothing more', async () => {
  const inst = s.installation!;
  const user = s.jira.state.addUser({ emailAddress: 'new@contoso.com', displayName: 'New' });
  const started = Date.now();
  const first = await inst.userCreated({ accountId: user.accountId, displayName: 'New' });
  expect(first.statuses).toEqual([204]);
  expect(Date.now() - started).toBeLessThan(5000);
  expect((await inst.userCreated({ accountId: user.accountId })).statuses).toEqual([204]);
  // An event for an installation this server does not know is answered too (Forge must not retry it).
  const stranger = await s.forge!.invoke(`${s.app.url}/forge/events/user-created`, {
    installationId: crypto.randomUUID(),
  });
  expect(stranger.status).toBe(202);
});

it('uninstalling through Forge removes the site and everything of it; a retried uninstall does nothing more', async () => {
  await s.storeSiteToken();
  expect((await s.post('/Users', entraUser('carl'))).status).toBe(201);
  await s.settle();
  const inst = s.installation!;
  expect((await inst.uninstall()).statuses).toEqual([204]);
  for (const table of ['tenants', 'forge_tokens', 'connections', 'site_credentials', 'sync_runs'])
    expect(await rows(`SELECT 1 FROM ${table}`)).toEqual([]);
  expect((await inst.uninstall()).statuses).toEqual([202]); // nothing left to remove
  expect((await s.get('/Users')).status).toBe(401); // the SCIM token went with the connection
});

describe('with an Entra ID connection', () => {
  let entra: FakeEntra;
  let e: ScimHarness;
  beforeEach(async () => {
    entra = await new FakeEntra().start();
    e = await startScim('okta', { ENTRA_CA_FILE: entra.certFile }, { host: 'forge' });
    await e.storeSiteToken();
  });
  afterEach(async () => {
    await e.close();
    await entra.stop();
  });

  it('Entra pull reaches Jira, and avi:jira:created:user pulls and provisions that one user at once', async () => {
    const { id, sales } = await entraSalesConnection(e, entra);
    expect(e.jira.state.groupMembers('Sales').map((u) => u.emailAddress)).toEqual(['ann@contoso.com']);

    // A new Jira user (say, one who signed in through SSO): Forge's event, answered at once, pulls them from Graph.
    const fay = entra.addUser({ userPrincipalName: 'fay@contoso.com', displayName: 'Fay' });
    entra.addMember(sales, fay.id as string);
    const jiraFay = e.jira.state.addUser({ emailAddress: 'fay@contoso.com', displayName: 'Fay' });
    const delivery = await e.installation!.userCreated({ accountId: jiraFay.accountId, displayName: 'Fay' });
    expect(delivery.statuses).toEqual([204]);
    await waitFor(async () => {
      await e.app.engine.drain(5_000);
      return e.jira.state.groupMembers('Sales').length === 2;
    }, 20_000);
    const runs = (await e.adminApi('GET', `/connections/${id}/runs`)).body.runs as Array<{ trigger: string }>;
    expect(runs[0].trigger).toBe('login');
    // The email Jira's event hid was read from Jira as the app, with the system token.
    expect(e.jira.callsTo('GET', '/rest/api/3/user').map((c) => c.auth)).toContain('forge');
  });
});
