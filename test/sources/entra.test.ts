import request from 'supertest';
import { startEntra, type ApiBody, type EntraHarness } from '../support/entra';

/** Entra ID pull sync through Microsoft Graph, end to end: fake Entra ID (HTTPS) → directory → engine → fake Jira. */
let h: EntraHarness;
beforeEach(async () => {
  h = await startEntra();
});
afterEach(() => h.close());

const jiraUser = (upn: string) => h.jira.state.userByEmail(upn);
const groupsOf = (upn: string) => (jiraUser(upn) ? h.jira.state.groupsOf(jiraUser(upn)!.accountId) : []);
const api = {
  get: (id: string) => request(h.app.url).get(`/api/v1/connections/${id}`).set(h.admin()),
  patch: (id: string, body: object) => request(h.app.url).patch(`/api/v1/connections/${id}`).set(h.admin()).send(body),
  test: (id: string, body: object = {}) =>
    request(h.app.url).post(`/api/v1/connections/${id}/test`).set(h.admin()).send(body),
  rules: (id: string, rules: object) =>
    request(h.app.url).put(`/api/v1/connections/${id}/rules`).set(h.admin()).send(rules),
};
const graphPaths = () => h.entra.graphCalls().map((c) => decodeURIComponent(c.path));
/** Jira calls other than the app's own permission checks. */
const jiraCalls = () => h.jira.calls.filter((c) => c.path !== '/rest/api/3/permissions/check');

/** Whether the connection's full reconciliation is due at the reconciler's next check (made so by a run that lost changes). */
async function reconcileDue(id: string): Promise<boolean> {
  const [rows] = await h.app.db.sequelize.query(
    "SELECT reconciled_at = '-infinity' AS due FROM connections WHERE id = $1",
    {
      bind: [id],
    },
  );
  return (rows as Array<{ due: boolean | null }>)[0].due === true;
}

/** One scheduled tick of a connection, its slot free (as a schedule's interval later): its run, finished. */
async function scheduled(id: string): Promise<ApiBody> {
  await h.app.db.sequelize.query('UPDATE source_state SET scheduled_at = NULL WHERE connection_id = $1', {
    bind: [id],
  });
  expect(await h.app.scheduler.tick(id)).toBe('ran');
  const [run] = (await request(h.app.url).get(`/api/v1/connections/${id}/runs`).set(h.admin())).body.runs;
  return h.waitRun(run.id);
}

/** A small directory: ann and bob in Engineering, ann in Sales, carl in no group. */
function seedDirectory() {
  const ann = h.entra.addUser({ userPrincipalName: 'ann@contoso.com', displayName: 'Ann', department: 'R&D' });
  const bob = h.entra.addUser({ userPrincipalName: 'bob@contoso.com', displayName: 'Bob', department: 'R&D' });
  const carl = h.entra.addUser({ userPrincipalName: 'carl@contoso.com', displayName: 'Carl', department: 'Sales' });
  const eng = h.entra.addGroup('Engineering');
  const sales = h.entra.addGroup('Sales');
  h.entra.addMember(eng.id, ann.id as string);
  h.entra.addMember(eng.id, bob.id as string);
  h.entra.addMember(sales.id, ann.id as string);
  return { ann, bob, carl, eng, sales };
}

describe('Entra ID connections through the admin API', () => {
  it('creates a connection with a write-only, sealed client secret and refuses bad settings naming the field', async () => {
    const id = await h.createConnection({ attributes: ['department', 'extension_1a2b_costCenter'] });
    const shown = (await api.get(id)).body;
    expect(shown).toMatchObject({
      kind: 'entra',
      provider: 'entra',
      entra: {
        tenantId: h.registration.tenantId,
        clientSecretSet: true,
        scope: { kind: 'directory' },
        usernameAttribute: 'userPrincipalName',
      },
    });
    expect(JSON.stringify(shown)).not.toContain(h.registration.secret);
    const [{ secret_enc: sealed }] = (await h.app.db.sequelize.query(
      'SELECT secret_enc FROM connections WHERE id = $1',
      { bind: [id], type: 'SELECT' },
    )) as Array<{ secret_enc: string }>;
    expect(sealed).toBeTruthy();
    expect(sealed).not.toContain(h.registration.secret);
    expect(h.app.logs.join('')).not.toContain(h.registration.secret);

    const bad = async (entra: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
      (await request(h.app.url).post('/api/v1/connections').set(h.admin()).send(h.connectionBody(entra, extra))).body;
    expect((await bad({ tenantId: 'not a tenant' })).fields).toHaveProperty(['entra.tenantId']);
    expect((await bad({ clientId: 'abc' })).fields).toHaveProperty(['entra.clientId']);
    expect((await bad({ cloud: 'custom', graphUrl: undefined })).fields).toHaveProperty(['entra.graphUrl']);
    expect((await bad({ graphUrl: `${h.entra.url}/graph` })).fields).toHaveProperty(['entra.graphUrl']);
    expect((await bad({ authorityHost: 'http://login.example' })).fields).toHaveProperty(['entra.authorityHost']);
    expect((await bad({ scope: { kind: 'groups', groupIds: [] } })).fields).toHaveProperty(['entra.scope.groupIds']);
    expect((await bad({ scope: { kind: 'application' } })).fields).toHaveProperty(['entra.scope.servicePrincipalId']);
    expect((await bad({ scheduleMinutes: 7 })).fields).toHaveProperty(['entra.scheduleMinutes']);
    expect((await bad({}, { clientSecret: '' })).fields).toHaveProperty(['clientSecret']);
    expect((await bad({ scope: { kind: 'everything' } })).fields['entra.scope.kind']).toMatch(
      /directory, application, groups/,
    );

    const patched = await api.patch(id, { entra: { tenantId: 'nope nope' } });
    expect(patched.status).toBe(400);
    expect(patched.body.fields).toHaveProperty(['entra.tenantId']);
  });

  it('tests the connection and says in one line what to fix', async () => {
    const id = await h.createConnection();
    h.entra.addUser({ userPrincipalName: 'ann@contoso.com' });
    expect((await api.test(id)).body).toMatchObject({ ok: true, sampleUser: 'ann@contoso.com' });

    const wrongSecret = (await api.test(id, { clientSecret: 'wrong' })).body;
    expect(wrongSecret).toMatchObject({ ok: false });
    expect(wrongSecret.message).toMatch(/client secret is wrong.*Value \(not its Secret ID\)/);

    h.registration.secretExpired = true;
    expect((await api.test(id)).body.message).toMatch(/client secret has expired/);
    h.registration.secretExpired = false;

    expect((await api.test(id, { entra: { tenantId: '00000000-0000-0000-0000-000000000000' } })).body.message).toMatch(
      /tenant was not found.*Directory \(tenant\) ID/,
    );
    expect((await api.test(id, { entra: { clientId: '11111111-1111-1111-1111-111111111111' } })).body.message).toMatch(
      /No application with this client ID/,
    );

    h.registration.roles = [];
    expect((await api.test(id)).body.message).toMatch(/User\.Read\.All.*Grant admin consent/);
    h.registration.roles = ['User.Read.All', 'GroupMember.Read.All'];
    expect(
      (await api.test(id, { entra: { scope: { kind: 'groups', groupIds: ['22222222-2222-2222-2222-222222222222'] } } }))
        .body.message,
    ).toMatch(/Not found in the directory/);
    expect(h.app.logs.join('')).not.toContain(h.registration.secret);
  });

  it("a custom cloud's URLs may not reach loopback, link-local or private addresses unless the operator allows them", async () => {
    await h.close();
    h = await startEntra({ OUTBOUND_ALLOW: '' }); // the fake Entra ID listens on loopback
    const id = await h.createConnection();
    const said = (await api.test(id)).body;
    expect(said).toMatchObject({ ok: false });
    expect(said.message).toMatch(
      /(127\.0\.0\.1|localhost): (127\.0\.0\.1|::1) is a loopback address, which this server does not call unless its operator allows it \(OUTBOUND_ALLOW/,
    );
    // Loopback allowed (the fake's), cloud metadata typed as the Graph URL of a custom cloud: refused before any connection.
    await h.close();
    h = await startEntra();
    const allowed = await h.createConnection();
    h.entra.calls.length = 0;
    const metadata = (await api.test(allowed, { entra: { cloud: 'custom', graphUrl: 'https://169.254.169.254' } }))
      .body;
    expect(metadata).toMatchObject({
      ok: false,
      message: expect.stringMatching(/169\.254\.169\.254 is a link-local address/),
    });
    expect(h.entra.calls).toEqual([]); // nothing reached the fake either

    // A redirect is not a way around it: neither the token endpoint's nor Graph's 302 is followed.
    for (const [target, location] of [
      ['token', 'https://169.254.169.254/latest/meta-data/iam/security-credentials/'],
      ['graph', 'https://10.0.0.5/v1.0/users'],
    ] as const) {
      h.entra.redirectNext(target, location);
      const redirected = (await api.test(allowed)).body;
      expect(redirected).toEqual({
        ok: false,
        message: `Not followed: ${new URL(h.entra.url).host} answered with a redirect (to ${new URL(location).host}), which this server does not follow: the URL must answer itself.`,
      });
    }
  });
});

describe('full and incremental sync of the whole directory', () => {
  it('reads everything with $select and $top=999 at low priority, then only the changes; leavers are deprovisioned', async () => {
    const d = seedDirectory();
    const id = await h.createConnection({ attributes: ['department'] });
    await api.rules(id, {
      attributes: { custom: [{ from: 'department', propertyKey: 'idp.department' }] },
      groups: { onTheFly: { enabled: true } },
    });
    const run = await h.syncAndWait(id, { mode: 'full' });
    expect(run).toMatchObject({
      status: 'succeeded',
      trigger: 'manual',
      stage: 'applying',
      progress: { read: { mode: 'full', usersSeen: 3, groupsSeen: 2 } },
    });
    expect(run.counts).toMatchObject({ usersCreated: 3, groupsCreated: 2, membershipsAdded: 3, failed: 0 });
    expect(groupsOf('ann@contoso.com')).toEqual(['Engineering', 'Sales']);
    expect(groupsOf('bob@contoso.com')).toEqual(['Engineering']);
    expect(h.jira.state.userProperty(jiraUser('ann@contoso.com')!.accountId, 'idp.department')).toEqual({
      value: 'R&D',
    });
    expect(
      graphPaths().some(
        (p) => p.startsWith('/v1.0/users?$select=') && p.includes('$top=999') && p.includes('department'),
      ),
    ).toBe(true);
    expect(h.entra.graphCalls().every((c) => c.headers['x-ms-throttle-priority'] === 'low')).toBe(true);

    // Changes in Entra ID: a new member, a removed member, a renamed attribute, a deleted user, a new user in a group.
    h.entra.calls.length = 0;
    h.entra.addMember(d.sales.id, d.bob.id as string);
    h.entra.removeMember(d.eng.id, d.ann.id as string);
    h.entra.updateUser(d.ann.id as string, { department: 'Research' });
    h.entra.deleteUser(d.carl.id as string);
    const dana = h.entra.addUser({ userPrincipalName: 'dana@contoso.com', displayName: 'Dana' });
    h.entra.addMember(d.eng.id, dana.id as string);

    const inc = await h.syncAndWait(id);
    expect(inc).toMatchObject({ status: 'succeeded', progress: { read: { mode: 'incremental' } } });
    expect(graphPaths().filter((p) => /^\/v1\.0\/users\?/.test(p))).toEqual([]); // no full listing: deltas only
    expect(graphPaths().some((p) => p.startsWith('/v1.0/users/delta?$deltatoken='))).toBe(true);
    expect(groupsOf('ann@contoso.com')).toEqual(['Sales']);
    expect(groupsOf('bob@contoso.com')).toEqual(['Engineering', 'Sales']);
    expect(groupsOf('dana@contoso.com')).toEqual(['Engineering']);
    expect(groupsOf('carl@contoso.com')).toEqual([]); // removeManagedGroups: carl had none; his link is deprovisioned
    expect(inc.counts.usersDeprovisioned).toBe(1);
    expect(h.jira.state.userProperty(jiraUser('ann@contoso.com')!.accountId, 'idp.department')).toEqual({
      value: 'Research',
    });

    // Nothing changed: the next incremental sync writes nothing to Jira.
    const writes = () =>
      h.jira.calls.filter((c) => c.method !== 'GET' && c.path !== '/rest/api/3/permissions/check').length;
    const writesBefore = writes();
    const quiet = await h.syncAndWait(id);
    expect(quiet.progress.total).toBe(0);
    expect(writes()).toBe(writesBefore);
  });

  it('a connection whose target is customers: Entra ID users become JSM customers with portal access by group, and a delta read withdraws what a leaver had', async () => {
    const d = seedDirectory();
    h.jira.state.addServiceDesk('5', 'ENG', 'Engineering help');
    const id = await h.createConnection({}, { name: 'Entra customers', target: 'customers' });
    expect(
      (await api.rules(id, { customers: { groups: [{ idpGroup: 'Engineering', serviceDesks: ['5'] }] } })).status,
    ).toBe(200);
    const run = await h.syncAndWait(id, { mode: 'full' });
    expect(run).toMatchObject({ status: 'succeeded', counts: { customersCreated: 3, accessGrants: 1 } });
    const onDesk = () =>
      [...h.jira.state.serviceDesks.get('5')!.customers].map((a) => h.jira.state.users.get(a)?.emailAddress).sort();
    expect(onDesk()).toEqual(['ann@contoso.com', 'bob@contoso.com']);
    expect(jiraUser('carl@contoso.com')).toMatchObject({ accountType: 'customer', products: [] });

    h.entra.removeMember(d.eng.id, d.bob.id as string);
    const inc = await h.syncAndWait(id);
    expect(inc).toMatchObject({ status: 'succeeded', progress: { read: { mode: 'incremental' } } });
    expect(onDesk()).toEqual(['ann@contoso.com']);
  });

  it('a scheduled delta read plans only what it changed, from the Jira state the app knows: no Jira reads; a renamed group plans everyone', async () => {
    const d = seedDirectory();
    const id = await h.createConnection({ scheduleMinutes: 15 });
    await api.rules(id, { groups: { onTheFly: { enabled: true } } });
    await h.syncAndWait(id, { mode: 'full' });
    h.jira.calls.length = 0;
    h.entra.addMember(d.sales.id, d.bob.id as string);
    const inc = await scheduled(id);
    expect(inc).toMatchObject({
      status: 'succeeded',
      trigger: 'schedule',
      progress: { read: { mode: 'incremental' } },
      plan: { mode: 'changes', users: 1 },
    });
    expect(groupsOf('bob@contoso.com')).toEqual(['Engineering', 'Sales']);
    expect(jiraCalls().map((c) => `${c.method} ${c.path}`)).toEqual(['POST /rest/api/3/group/user']);

    // A renamed group maps its members elsewhere: every user is planned, still from the known state.
    h.jira.calls.length = 0;
    h.entra.renameGroup(d.sales.id, 'Sales EMEA');
    const wide = await scheduled(id);
    expect(wide.plan).toMatchObject({ mode: 'changes', users: 3 });
    expect(groupsOf('ann@contoso.com')).toEqual(['Engineering', 'Sales EMEA']);
    expect(jiraCalls().filter((c) => c.method === 'GET')).toEqual([]);
  });

  it('reassembles members@delta split over pages, and an expired delta state (410) falls back to a full read', async () => {
    h.entra.deltaPageSize = 2;
    h.entra.membersPerDeltaEntry = 3;
    const big = h.entra.addGroup('Big');
    const users = Array.from({ length: 10 }, (_, i) => h.entra.addUser({ userPrincipalName: `u${i}@contoso.com` }));
    for (const u of users) h.entra.addMember(big.id, u.id as string);
    const id = await h.createConnection();
    await h.syncAndWait(id);
    expect(h.jira.state.groupMembers('Big')).toHaveLength(10);

    for (const u of users.slice(0, 7)) h.entra.removeMember(big.id, u.id as string);
    await h.syncAndWait(id, {});
    expect(h.jira.state.groupMembers('Big')).toHaveLength(3);

    h.entra.expireDeltaTokens();
    h.entra.addMember(big.id, users[0].id as string);
    h.entra.calls.length = 0;
    const run = await h.syncAndWait(id);
    expect(h.entra.graphCalls().some((c) => c.status === 410)).toBe(true);
    expect(run).toMatchObject({ status: 'succeeded', progress: { read: { mode: 'full' } } });
    expect(h.jira.state.groupMembers('Big')).toHaveLength(4);
  });

  it('waits out Retry-After on Graph and on the token endpoint, and shows a throttled read in the run', async () => {
    seedDirectory();
    const id = await h.createConnection();
    h.entra.throttle('token', 1, 1);
    h.entra.throttle('graph', 2, 1, 429);
    h.entra.throttle('graph', 1, 1, 503);
    const started = Date.now();
    const run = await h.syncAndWait(id);
    expect(run.status).toBe('succeeded');
    expect(Date.now() - started).toBeGreaterThanOrEqual(3000); // three 1-second waits at least
    expect(groupsOf('ann@contoso.com')).toEqual(['Engineering', 'Sales']);
    const refused = h.entra.calls.filter((c) => c.status === 429 || c.status === 503);
    expect(refused).toHaveLength(4);
  });

  it("shows the read's progress in the run while it reads", async () => {
    for (let i = 0; i < 12; i++) h.entra.addUser({ userPrincipalName: `p${i}@contoso.com` });
    h.entra.deltaPageSize = 1;
    h.entra.addGroup('G1');
    h.entra.addGroup('G2');
    h.entra.addGroup('G3');
    h.entra.latencyMs = 250;
    const id = await h.createConnection({ scope: { kind: 'directory' } });
    const started = (await h.sync(id, { mode: 'full' })).body;
    expect(started).toMatchObject({ status: 'running', stage: 'reading' });
    let seen: ApiBody;
    for (let i = 0; i < 100 && !seen; i++) {
      const run = (await request(h.app.url).get(`/api/v1/runs/${started.id}?limit=0`).set(h.admin())).body;
      if (run.stage === 'reading' && run.progress.read?.pages > 0) seen = run.progress.read;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(seen).toMatchObject({ mode: 'full', phase: expect.any(String), pages: expect.any(Number) });
    h.entra.latencyMs = 0;
    expect((await h.waitRun(started.id)).status).toBe('succeeded');
  });

  it('stores the first of two users with the same username and names the other in the run', async () => {
    h.entra.addUser({ userPrincipalName: 'ann@contoso.com', mail: 'shared@contoso.com' });
    const twin = h.entra.addUser({ userPrincipalName: 'ann2@contoso.com', mail: 'Shared@contoso.com' });
    const id = await h.createConnection({ usernameAttribute: 'mail' });
    const run = await h.syncAndWait(id);
    expect(run.status).toBe('succeeded');
    expect(run.progress.read.conflicts).toEqual([
      `user ${twin.id as string}: username Shared@contoso.com is already another user's`,
    ]);
    expect(run.counts.usersCreated).toBe(1);

    // two groups with one name: the first is stored, the other named
    h.entra.addGroup('Sales');
    const dup = h.entra.addGroup('SALES');
    const full = await h.syncAndWait(id, { mode: 'full' });
    expect(full.progress.read.conflicts).toEqual(
      expect.arrayContaining([`group ${dup.id}: name SALES is already another group's`]),
    );
  });

  it('a dry run reads Entra ID and returns the plan without writing to Jira', async () => {
    seedDirectory();
    const id = await h.createConnection();
    const res = await h.sync(id, { dryRun: true });
    expect(res.status).toBe(200);
    expect(res.body.operations.filter((o: { kind: string }) => o.kind === 'ensureUser')).toHaveLength(3);
    expect(h.jira.calls.filter((c) => c.method !== 'GET' && c.path !== '/rest/api/3/permissions/check')).toEqual([]);
    // The read moved the source's position and wrote the store: the next incremental run would not
    // see those changes, so the full reconciliation is due at once and brings them to Jira.
    expect(await h.app.reconciler.check()).toBe(1);
    for (let i = 0; i < 200 && !jiraUser('ann@contoso.com'); i++) {
      await h.app.engine.drain(5_000);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(jiraUser('ann@contoso.com')).toBeDefined();
  });

  it('a wrong secret fails the run with the reason; a rotated secret makes it work again', async () => {
    seedDirectory();
    const id = await h.createConnection();
    const old = h.registration.secret;
    h.registration.secret = 'rotated-in-entra';
    const failed = await h.syncAndWait(id);
    expect(failed).toMatchObject({ status: 'failed' });
    expect(failed.error).toMatch(/client secret is wrong/);
    expect(await reconcileDue(id)).toBe(false); // it wrote nothing: no change is lost
    expect((await api.patch(id, { clientSecret: 'rotated-in-entra' })).status).toBe(200);
    const ok = await h.syncAndWait(id);
    expect(ok.status).toBe('succeeded');
    expect(jiraUser('ann@contoso.com')).toBeDefined();
    expect(h.app.logs.join('')).not.toContain('rotated-in-entra');
    expect(h.app.logs.join('')).not.toContain(old);
  });

  it('a read that wrote into the store and then failed makes the full reconciliation due, as does a read whose instance stopped', async () => {
    const d = seedDirectory();
    const missing = '00000000-0000-4000-8000-00000000dead';
    const id = await h.createConnection({ scope: { kind: 'groups', groupIds: [d.eng.id, missing] } });
    const failed = await h.syncAndWait(id);
    expect(failed).toMatchObject({ status: 'failed', progress: { read: { rowsWritten: 5 } } }); // Engineering, ann, bob, their 2 memberships
    expect(await reconcileDue(id)).toBe(true);
    // The reconciler's next check plans every user the store holds, against Jira read again.
    expect(await h.app.reconciler.check()).toBe(1);
    const [run] = (await request(h.app.url).get(`/api/v1/connections/${id}/runs`).set(h.admin())).body.runs;
    expect(await h.waitRun(run.id)).toMatchObject({ status: 'succeeded', trigger: 'schedule', plan: { mode: 'full' } });
    expect(groupsOf('bob@contoso.com')).toEqual(['Engineering']);

    // An instance that died mid-read: the run fails once its lease is out, and the reconciliation is due.
    await h.app.db.sequelize.query(
      `INSERT INTO sync_runs (id, connection_id, client_key, trigger, status, stage, heartbeat_at)
       SELECT gen_random_uuid(), id, client_key, 'schedule', 'running', 'reading', now() - interval '1 hour' FROM connections WHERE id = $1`,
      { bind: [id] },
    );
    expect(await reconcileDue(id)).toBe(false);
    await h.app.runs.failStaleReads(60_000);
    expect(await reconcileDue(id)).toBe(true);
  });

  it('with a user filter, only matching users are read; a user who stops matching leaves', async () => {
    const d = seedDirectory();
    h.entra.updateUser(d.carl.id as string, { accountEnabled: false });
    const id = await h.createConnection({ userFilter: 'accountEnabled eq true' });
    await h.syncAndWait(id);
    expect(jiraUser('carl@contoso.com')).toBeUndefined();
    expect(jiraUser('bob@contoso.com')).toBeDefined();
    h.entra.updateUser(d.bob.id as string, { accountEnabled: false });
    const run = await h.syncAndWait(id);
    expect(run.counts.usersDeprovisioned).toBe(1);
    expect(groupsOf('bob@contoso.com')).toEqual([]);
    // back in scope: his group memberships (reported by no delta since) come with him
    h.entra.updateUser(d.bob.id as string, { accountEnabled: true });
    const back = await h.syncAndWait(id);
    expect(back.counts.usersReactivated).toBe(1);
    expect(groupsOf('bob@contoso.com')).toEqual(['Engineering']);
  });
});

describe('sync scopes', () => {
  it('chosen groups: transitive members through nested groups; leaving the nested group deprovisions', async () => {
    const d = seedDirectory();
    const contractors = h.entra.addGroup('Contractors');
    const eve = h.entra.addUser({ userPrincipalName: 'eve@contoso.com' });
    h.entra.addMember(contractors.id, eve.id as string);
    h.entra.addMember(d.eng.id, contractors.id); // nested
    const id = await h.createConnection({ scope: { kind: 'groups', groupIds: [d.eng.id] } });
    await h.syncAndWait(id);
    expect(
      h.jira.state
        .groupMembers('Engineering')
        .map((u) => u.emailAddress)
        .sort(),
    ).toEqual(['ann@contoso.com', 'bob@contoso.com', 'eve@contoso.com']);
    expect(jiraUser('carl@contoso.com')).toBeUndefined();
    expect(h.jira.state.groupByName('Sales')).toBeUndefined(); // only the chosen groups
    expect(graphPaths().some((p) => p.includes('/transitiveMembers/microsoft.graph.user'))).toBe(true);

    h.entra.removeMember(contractors.id, eve.id as string);
    const run = await h.syncAndWait(id);
    expect(run.counts).toMatchObject({ usersDeprovisioned: 1, membershipsRemoved: 1 });
    expect(
      h.jira.state
        .groupMembers('Engineering')
        .map((u) => u.emailAddress)
        .sort(),
    ).toEqual(['ann@contoso.com', 'bob@contoso.com']);
  });

  it('a scheduled read of chosen groups, full every time, writes nothing and plans nothing when nothing changed; a leaver is planned alone', async () => {
    const d = seedDirectory();
    const id = await h.createConnection({
      scope: { kind: 'groups', groupIds: [d.eng.id, d.sales.id] },
      scheduleMinutes: 15,
    });
    await h.syncAndWait(id);
    h.jira.calls.length = 0;
    const quiet = await scheduled(id);
    expect(quiet).toMatchObject({
      status: 'succeeded',
      trigger: 'schedule',
      // a chosen group's delta cannot see a nested group's change: the scope is read whole every time
      progress: { total: 0, read: { mode: 'incremental', usersSeen: 3, rowsWritten: 0 } },
      plan: { mode: 'changes', users: 0 },
    });
    // How long the server's event loop was held while it read and planned (what a SCIM call could wait).
    const loop = { p99Ms: expect.any(Number), maxMs: expect.any(Number) };
    expect(quiet.progress.read.eventLoop).toEqual(loop);
    expect(quiet.plan.eventLoop).toEqual(loop);
    expect(jiraCalls()).toEqual([]); // Jira not read again

    h.entra.removeMember(d.sales.id, d.ann.id as string);
    const leaver = await scheduled(id);
    expect(leaver).toMatchObject({
      status: 'succeeded',
      progress: { read: { rowsWritten: 1 } },
      plan: { mode: 'changes', users: 1 },
    });
    expect(groupsOf('ann@contoso.com')).toEqual(['Engineering']);
    expect(jiraCalls().map((c) => `${c.method} ${c.path}`)).toEqual(['DELETE /rest/api/3/group/user']);
  });

  it('an enterprise application: assigned users and the direct members of assigned groups; unassigning removes them', async () => {
    const d = seedDirectory();
    const sp = h.entra.addServicePrincipal();
    h.entra.assign(sp.id, 'Group', d.sales.id);
    h.entra.assign(sp.id, 'User', d.carl.id as string);
    const id = await h.createConnection({ scope: { kind: 'application', appId: sp.appId } });
    await h.syncAndWait(id);
    expect(jiraUser('ann@contoso.com')).toBeDefined();
    expect(jiraUser('carl@contoso.com')).toBeDefined();
    expect(jiraUser('bob@contoso.com')).toBeUndefined();
    expect(groupsOf('ann@contoso.com')).toEqual(['Sales']);

    h.entra.unassign(sp.id, d.carl.id as string);
    const run = await h.syncAndWait(id);
    expect(run.counts.usersDeprovisioned).toBe(1);
  });
});

describe('first login (user_created webhook)', () => {
  it('pulls the one user with their groups from Graph and provisions them at once', async () => {
    const d = seedDirectory();
    const id = await h.createConnection();
    await h.syncAndWait(id);
    const fay = h.entra.addUser({ userPrincipalName: 'fay@contoso.com', displayName: 'Fay' });
    h.entra.addMember(d.sales.id, fay.id as string);
    h.entra.calls.length = 0;
    const body = {
      webhookEvent: 'user_created',
      timestamp: Date.now(),
      user: { accountId: 'acc-fay', emailAddress: 'fay@contoso.com', accountType: 'atlassian' },
    };
    const res = await request(h.app.url)
      .post('/webhooks/user-created')
      .set({ Authorization: `JWT ${h.jira.appJwt('POST', '/webhooks/user-created')}` })
      .send(body);
    expect(res.status).toBe(204);
    const deadline = Date.now() + 20_000;
    while (!jiraUser('fay@contoso.com')?.accountId || groupsOf('fay@contoso.com').length === 0) {
      if (Date.now() > deadline) throw new Error('fay was not provisioned');
      await h.app.engine.drain(5_000);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(groupsOf('fay@contoso.com')).toEqual(['Sales']);
    const runs = (await request(h.app.url).get(`/api/v1/connections/${id}/runs`).set(h.admin())).body.runs;
    expect(runs[0].trigger).toBe('login');
    // Only that user was read, not the directory.
    expect(graphPaths().filter((p) => p.startsWith('/v1.0/users?') && !p.includes('$filter=')).length).toBe(0);
    expect(graphPaths().some((p) => p.includes("mail eq 'fay@contoso.com'"))).toBe(true);

    const unsigned = await request(h.app.url).post('/webhooks/user-created').send(body);
    expect(unsigned.status).toBe(401);
  });
});

describe('schedule', () => {
  it('schedules each Entra connection with its interval in every instance, follows changes, and one instance runs each tick', async () => {
    const id = await h.createConnection({ scheduleMinutes: 15 });
    seedDirectory();
    const other = await h.secondInstance();
    await h.app.scheduler.start();
    await other.scheduler.start();
    expect(h.app.scheduler.expressionOf(id)).toBe('*/15 * * * *');
    expect(other.scheduler.expressionOf(id)).toBe('*/15 * * * *');

    const results = await Promise.all([h.app.scheduler.tick(id), other.scheduler.tick(id), h.app.scheduler.tick(id)]);
    expect(results.filter((r) => r === 'ran')).toHaveLength(1);
    const runs = (await request(h.app.url).get(`/api/v1/connections/${id}/runs`).set(h.admin())).body.runs;
    expect(runs).toHaveLength(1);
    expect(runs[0].trigger).toBe('schedule');
    await h.waitRun(runs[0].id, h.app);
    await other.engine.drain(10_000);
    // the slot is taken: another instance's tick of the same slot skips even now that no run is going
    expect(await other.scheduler.tick(id)).toBe('skipped');

    expect((await api.patch(id, { entra: { scheduleMinutes: 120 } })).status).toBe(200);
    await waitFor(() => other.scheduler.expressionOf(id) === '0 */2 * * *'); // told through Postgres
    expect(h.app.scheduler.expressionOf(id)).toBe('0 */2 * * *');
    expect((await request(h.app.url).delete(`/api/v1/connections/${id}`).set(h.admin())).status).toBe(204);
    // This instance refreshes its schedule right after the delete (not awaited), the other when Postgres tells it.
    await waitFor(() => other.scheduler.expressionOf(id) === undefined);
    await waitFor(() => h.app.scheduler.expressionOf(id) === undefined);
  });
});

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
