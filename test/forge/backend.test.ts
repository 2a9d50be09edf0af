import crypto from 'node:crypto';
import { QueryTypes } from 'sequelize';
import { entraSalesConnection, waitFor } from '../support/entra';
import { FakeEntra } from '../support/fakeEntra';
import { FakeForge, type ForgeInstallation } from '../support/fakeForge';
import { FakeJira } from '../support/fakeJira';
import { entraUser, startScim, type ScimHarness } from '../support/scim';

/**
 * Forge as it really is: lifecycle events, product events, the scheduled trigger and preUninstall
 * are backend invocations whose tokens carry no `context` (no site URL, no cloud id of the UI) —
 * only the installation, its contexts and the app system token. Every scenario here runs on those
 * calls alone; no admin page is opened under Forge at any point. The site is found by asking Jira
 * (serverInfo, the reserved Connect clientKey property) once, then by its installation.
 */
let forge: FakeForge;
let entra: FakeEntra;
let s: ScimHarness;

beforeEach(async () => {
  forge = await new FakeForge().start();
  entra = await new FakeEntra().start();
  s = await startScim('okta', {
    FORGE_APP_ID: forge.appId,
    FORGE_JWKS_URL: forge.jwksUrl,
    ENTRA_CA_FILE: entra.certFile,
  });
  await s.storeSiteToken();
});
afterEach(async () => {
  await s.close();
  await entra.stop();
  await forge.stop();
});

const rows = (sql: string, bind: unknown[] = []) =>
  s.app.db.sequelize.query<Record<string, unknown>>(sql, { bind, type: QueryTypes.SELECT });
const logged = () => s.app.logs.join('\n');
const lookups = (jira: FakeJira) =>
  jira.calls.filter((c) => c.path === '/rest/api/3/serverInfo' || c.path.startsWith('/rest/atlassian-connect/'));

/** Every row of every table that belongs to the site: by its key, its connections, or their runs. */
async function rowsOfSite(clientKey: string, connectionIds: string[]): Promise<Record<string, number>> {
  const columns = await rows(
    `SELECT table_name, column_name FROM information_schema.columns
     WHERE table_schema = 'public' AND column_name IN ('client_key', 'connection_id')`,
  );
  const found: Record<string, number> = {};
  for (const { table_name: table, column_name: column } of columns) {
    const value = column === 'client_key' ? [clientKey] : connectionIds;
    const [{ n }] = await rows(
      `SELECT count(*)::int AS n FROM "${String(table)}" WHERE "${String(column)}"::text = ANY($1)`,
      [value],
    );
    if (Number(n) > 0) found[`${String(table)}.${String(column)}`] = Number(n);
  }
  return found;
}

it.each([
  ['installed through the Connect bridge (its installed event named the installation)', true, 'avi:forge:upgraded:app'],
  ['installed from its descriptor, before Forge (Jira names its clientKey)', false, 'avi:forge:installed:app'],
] as const)(
  'a Connect site %s moves to Forge on backend calls alone: carried over, first login, scheduled trigger, preUninstall',
  async (_name, viaBridge, event) => {
    const installationId = crypto.randomUUID();
    if (viaBridge) expect((await s.jira.install(s.app.url, s.keys, { installationId })).status).toBe(204);
    expect((await s.post('/Users', entraUser('bea'))).status).toBe(201);
    await s.settle();
    const { id: entraId, sales } = await entraSalesConnection(s, entra);
    expect(s.jira.state.groupMembers('Sales').map((u) => u.emailAddress)).toEqual(['ann@contoso.com']);
    const before = await rows('SELECT id, scim_token_hash FROM connections ORDER BY id');

    // Forge moves the site: one lifecycle event, with no context in its token.
    const inst = await forge.install(s.jira, s.app.url, { installationId, silent: true });
    expect((await inst.lifecycle(event)).statuses).toEqual([204]);
    expect(await rows('SELECT client_key, installation_id, base_url FROM tenants')).toEqual([
      { client_key: s.jira.clientKey, installation_id: inst.ari, base_url: s.jira.url },
    ]);
    expect(await rows('SELECT id, scim_token_hash FROM connections ORDER BY id')).toEqual(before);
    expect(logged()).toContain(
      viaBridge
        ? `Forge ${event === 'avi:forge:upgraded:app' ? 'upgraded' : 'installed'}: the site is installed (already known)`
        : 'Forge installed: the site on the Connect version was carried over with all its data; its Jira reads now use the app system token',
    );
    // Jira was asked once at most (not at all when the bridge had named the installation), then never again.
    expect(lookups(s.jira)).toHaveLength(viaBridge ? 0 : 2);
    expect(lookups(s.jira).every((c) => c.auth === 'forge')).toBe(true);

    // First login: a new Jira user's event pulls them from Entra ID and provisions them, reading Jira as Forge.
    const callsBefore = s.jira.calls.length;
    const fay = entra.addUser({ userPrincipalName: 'fay@contoso.com', displayName: 'Fay' });
    entra.addMember(sales, fay.id as string);
    const jiraFay = s.jira.state.addUser({ emailAddress: 'fay@contoso.com', displayName: 'Fay' });
    expect((await inst.userCreated({ accountId: jiraFay.accountId, displayName: 'Fay' })).statuses).toEqual([204]);
    await waitFor(async () => {
      await s.app.engine.drain(5_000);
      return s.jira.state.groupMembers('Sales').length === 2;
    }, 20_000);
    const runs = (await s.adminApi('GET', `/connections/${entraId}/runs`)).body.runs as Array<{ trigger: string }>;
    expect(runs[0].trigger).toBe('login');
    const after = s.jira.calls.slice(callsBefore);
    expect(after.map((c) => c.auth)).toContain('forge');
    expect(after.map((c) => c.auth)).not.toContain('jwt');

    // The scheduled trigger, and the IdP's SCIM token still answering.
    expect((await inst.scheduled()).statuses).toEqual([204]);
    expect((await s.get('/Users')).status).toBe(200);
    expect(lookups(s.jira)).toHaveLength(viaBridge ? 0 : 2);

    // preUninstall: the site and every row of it go; the IdP's SCIM token is refused at once.
    const connectionIds = (await rows('SELECT id FROM connections')).map((r) => String(r.id));
    expect(Object.keys(await rowsOfSite(s.jira.clientKey, connectionIds)).length).toBeGreaterThan(5);
    expect((await inst.uninstall()).statuses).toEqual([204]);
    expect(await rowsOfSite(s.jira.clientKey, connectionIds)).toEqual({});
    expect(await rows('SELECT 1 FROM tenants')).toEqual([]);
    const scim = await s.get('/Users');
    expect(scim.status).toBe(401);
    expect(scim.body.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:Error']);
    expect(logged()).toContain(
      'Forge uninstall: the site and all its data were removed; its SCIM tokens no longer work',
    );
    for (const token of forge.issuedSystemTokens) expect(logged()).not.toContain(token);
  },
  60_000,
);

it('a site installed through Forge alone is made from what Jira says, once; its events and uninstall need no page', async () => {
  const jira = await new FakeJira().start();
  try {
    const inst = await forge.install(jira, s.app.url);
    expect(inst.calls.map((c) => c.status)).toEqual([204]);
    expect(
      await rows('SELECT client_key, base_url, installation_id FROM tenants WHERE client_key = $1', [inst.ari]),
    ).toEqual([{ client_key: inst.ari, base_url: jira.url, installation_id: inst.ari }]);
    expect(logged()).toContain('Forge installed: a new site was created for the installation');
    // serverInfo for the URL and the Connect clientKey property (absent: this site never had Connect), as the app.
    expect(lookups(jira).map((c) => [c.path, c.status, c.auth])).toEqual([
      ['/rest/api/3/serverInfo', 200, 'forge'],
      [expect.stringContaining('/properties/connect_client_key_'), 404, 'forge'],
    ]);
    expect((await inst.lifecycle('avi:forge:installed:app')).statuses).toEqual([204]);
    expect((await inst.lifecycle('avi:forge:upgraded:app')).statuses).toEqual([204]);
    expect((await inst.scheduled()).statuses).toEqual([204]);
    const someone = jira.state.addUser({ emailAddress: 'new@example.com', displayName: 'New' });
    expect((await inst.userCreated({ accountId: someone.accountId })).statuses).toEqual([204]);
    expect(lookups(jira)).toHaveLength(2); // remembered: looked up once, not at every event
    // The other site (the Connect one) is untouched by this one's uninstall.
    expect((await inst.uninstall()).statuses).toEqual([204]);
    expect(await rows('SELECT client_key FROM tenants')).toEqual([{ client_key: s.jira.clientKey }]);
    expect((await s.get('/Users')).status).toBe(200);
  } finally {
    await jira.stop();
  }
});

it('where Jira names no Connect clientKey (its property gone), the one unclaimed Connect site at the URL Jira gives carries over', async () => {
  s.jira.state.connectClientKey = undefined;
  const inst = await forge.install(s.jira, s.app.url, { silent: true });
  expect((await inst.lifecycle('avi:forge:upgraded:app')).statuses).toEqual([204]);
  expect(await rows('SELECT client_key, installation_id FROM tenants')).toEqual([
    { client_key: s.jira.clientKey, installation_id: inst.ari },
  ]);
  const line = s.app.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.by);
  expect(line).toMatchObject({
    msg: 'Forge upgraded: the site on the Connect version was carried over with all its data; its Jira reads now use the app system token',
    by: 'site-url',
    clientKey: s.jira.clientKey,
  });
  expect((await s.get('/Users')).status).toBe(200);
});

it('a lost installed event is healed by the next scheduled trigger', async () => {
  const jira = await new FakeJira().start();
  try {
    const inst = await forge.install(jira, s.app.url, { silent: true });
    expect((await inst.scheduled()).statuses).toEqual([204]);
    expect(await rows('SELECT client_key FROM tenants WHERE client_key = $1', [inst.ari])).toHaveLength(1);
    expect(logged()).toContain('Forge scheduled trigger: a new site was created for the installation');
  } finally {
    await jira.stop();
  }
});

describe('when the site cannot be found', () => {
  let jira: FakeJira;
  let inst: ForgeInstallation;
  beforeEach(async () => {
    jira = await new FakeJira().start();
    inst = await forge.install(jira, s.app.url, { silent: true });
  });
  afterEach(() => jira.stop());

  it('Jira failing for now is answered 503, so Forge delivers the event again, and the redelivery makes the site', async () => {
    jira.failNextOn('/rest/api/3/serverInfo', { status: 503, body: { errorMessages: ['Service Unavailable'] } });
    const delivery = await inst.lifecycle('avi:forge:installed:app');
    expect(delivery.statuses).toEqual([503, 204]);
    expect(await rows('SELECT 1 FROM tenants WHERE client_key = $1', [inst.ari])).toHaveLength(1);
    expect(logged()).toContain(
      "Forge installed: the installation's site could not be found: Jira did not answer which site the installation is on (GET /rest/api/3/serverInfo answered 503: Service Unavailable); Forge delivers the call again",
    );
  });

  it('Jira not answering at all is given 2 s, so Forge still gets its answer (503) within its 5', async () => {
    jira.failNextOn('/rest/api/3/serverInfo', 'hang');
    const started = Date.now();
    const delivery = await inst.lifecycle('avi:forge:installed:app');
    expect(delivery.statuses).toEqual([503, 204]);
    expect(Date.now() - started).toBeLessThan(5000 + 2000);
    expect(logged()).toContain('GET /rest/api/3/serverInfo timed out');
  });

  it('a system token Jira refuses is answered 202 with one line that says what to check, and nothing is stored', async () => {
    const other = await forge.install(new FakeJira(), 'http://127.0.0.1:9', { silent: true });
    inst.systemToken = await other.refreshSystemToken(); // a token of another installation: the gateway refuses it
    const delivery = await inst.lifecycle('avi:forge:installed:app');
    expect(delivery.statuses).toEqual([202]);
    expect(await rows('SELECT 1 FROM tenants WHERE client_key = $1', [inst.ari])).toEqual([]);
    expect(logged()).toMatch(
      /Forge installed: the installation's site could not be found: Jira refused to say which site the installation is on \(GET \/rest\/api\/3\/serverInfo answered 401[^)]*\): check the manifest's scopes \(read:jira-user, read:app-data:jira\) and that FORGE_APP_ID is the deployed app's id/,
    );
  });

  it('preUninstall of a site never seen, whose admin never opened the page, still removes a Connect site Jira names', async () => {
    // The Connect site of the harness is the one Jira names (its clientKey); nothing had associated it with Forge.
    const site = await forge.install(s.jira, s.app.url, { silent: true });
    expect((await site.uninstall()).statuses).toEqual([204]);
    expect(await rows('SELECT 1 FROM tenants WHERE client_key = $1', [s.jira.clientKey])).toEqual([]);
    expect((await s.get('/Users')).status).toBe(401);
    // And one for a site Jira names but this server never had: nothing to do, said so.
    expect((await inst.uninstall()).statuses).toEqual([202]);
    expect(logged()).toContain('Forge uninstall: this server has no site for the installation; nothing to do');
  });
});
