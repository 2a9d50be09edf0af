import request from 'supertest';
import { jwtHeader } from '../support/app';
import { entraUser, patchBody, type ScimHarness, startScim } from '../support/scim';

/** The pipeline end to end: SCIM pushes → directory → planner → executor → the fake Jira. */
let s: ScimHarness;
beforeEach(async () => {
  s = await startScim('entra');
});
afterEach(() => s.close());

const admin = () => jwtHeader(s.jira.contextJwt(s.jira.admin.accountId));
const api = {
  putRules: (rules: object) =>
    request(s.app.url).put(`/api/v1/connections/${s.connectionId}/rules`).set(admin()).send(rules),
  sync: (body: object = {}) =>
    request(s.app.url).post(`/api/v1/connections/${s.connectionId}/sync`).set(admin()).send(body),
  runs: () => request(s.app.url).get(`/api/v1/connections/${s.connectionId}/runs`).set(admin()),
  run: (id: string, q = '') => request(s.app.url).get(`/api/v1/runs/${id}${q}`).set(admin()),
};
const storeToken = () => s.storeSiteToken();
/** Lets the SCIM outbox trigger its (coalesced) run and works it off. */
const settle = () => s.settle();
const jiraUser = (name: string) => s.jira.state.userByEmail(`${name}@contoso.com`);
const writes = () =>
  s.jira.calls.filter((c) => c.method !== 'GET' && c.path !== '/rest/api/3/permissions/check' && c.auth !== 'none');

describe('an Entra-style SCIM sequence reaches Jira', () => {
  beforeEach(async () => {
    await storeToken();
    expect(
      (
        await api.putRules({
          groups: {
            onTheFly: { enabled: true, pattern: '^AAD-(.*)$', replacement: '$1' },
            defaultForAllUsers: ['staff'],
          },
        })
      ).status,
    ).toBe(200);
  });

  it('creates users, groups and memberships; a burst of SCIM calls becomes one run; a second run changes nothing', async () => {
    const ann = (await s.post('/Users', entraUser('ann'))).body.id;
    const bob = (await s.post('/Users', entraUser('bob'))).body.id;
    const eng = (await s.post('/Groups', { displayName: 'AAD-Engineering' })).body.id;
    await s.patch(`/Groups/${eng}`, patchBody({ op: 'Add', path: 'members', value: [{ value: ann }, { value: bob }] }));
    const sales = (await s.post('/Groups', { displayName: 'AAD-Sales' })).body.id;
    await s.patch(
      `/Groups/${sales}?aadOptscim062020`,
      patchBody({ op: 'add', path: 'members', value: [{ value: ann }] }),
    );
    await settle();

    expect(s.jira.state.groupsOf(jiraUser('ann')!.accountId)).toEqual(['Engineering', 'Sales', 'staff']);
    expect(s.jira.state.groupsOf(jiraUser('bob')!.accountId)).toEqual(['Engineering', 'staff']);
    expect(jiraUser('ann')!.products).toEqual(['jira-software']);
    const runs = (await api.runs()).body.runs;
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({
      trigger: 'scim',
      status: 'succeeded',
      counts: { usersCreated: 2, groupsCreated: 3, membershipsAdded: 5, failed: 0 },
    });
    const detail = (await api.run(runs[0].id)).body;
    expect(detail.operations.every((o: { status: string; reason: string }) => o.status === 'done' && o.reason)).toBe(
      true,
    );
    // Every write went with the site-admin token, none with the JWT.
    expect(writes().every((c) => c.auth === 'token')).toBe(true);

    const before = writes().length;
    const second = await api.sync();
    expect(second.status).toBe(202);
    expect(await s.app.engine.drain()).toBe(true);
    expect(writes().length).toBe(before);
    expect((await api.run(second.body.id)).body).toMatchObject({
      status: 'succeeded',
      progress: { done: 0, total: 0 },
    });
  });

  it('follows membership removals and deprovisions a disabled user (remove from managed groups)', async () => {
    const ann = (await s.post('/Users', entraUser('ann'))).body.id;
    const bob = (await s.post('/Users', entraUser('bob'))).body.id;
    const eng = (await s.post('/Groups', { displayName: 'AAD-Engineering', members: [{ value: ann }, { value: bob }] }))
      .body.id;
    await settle();
    await s.patch(`/Groups/${eng}`, patchBody({ op: 'Remove', path: 'members', value: [{ value: bob }] }));
    await s.patch(`/Users/${ann}`, patchBody({ op: 'Replace', path: 'active', value: 'False' }));
    await settle();
    expect(s.jira.state.groupsOf(jiraUser('bob')!.accountId)).toEqual(['staff']);
    expect(s.jira.state.groupsOf(jiraUser('ann')!.accountId)).toEqual([]);
  });

  it('a dry run returns the plan with reasons and changes nothing', async () => {
    await s.post('/Users', entraUser('ann'));
    const before = writes().length;
    const res = await api.sync({ dryRun: true });
    expect(res.status).toBe(200);
    expect(res.body.operations.map((o: { kind: string }) => o.kind)).toEqual([
      'createGroup',
      'ensureUser',
      'addMember',
    ]);
    expect(res.body.operations[1]).toMatchObject({
      subject: expect.stringMatching(/^user:/),
      reason: expect.stringContaining('ann@contoso.com'),
    });
    expect(writes().length).toBe(before);
    expect((await api.runs()).body.runs).toHaveLength(0);
  });
});

it('holds writes that need a site-admin API token when none is stored: one failed run says how many wait; saving a token applies them', async () => {
  await s.post('/Users', entraUser('ann'));
  await s.post('/Users', entraUser('bob'));
  await settle();
  const [run] = (await api.runs()).body.runs;
  expect(run).toMatchObject({
    status: 'failed',
    error: expect.stringMatching(
      /^needs a site-admin API token: 1 change\(s\) wait for it \(1 user\(s\) to create\)|^needs a site-admin API token: 2 change/,
    ),
    nextTryAt: expect.any(String),
  });
  expect((await api.run(run.id)).body.operations).toEqual([]); // nothing queued, nothing parked one by one
  expect(s.jira.callsTo('POST', '/rest/api/3/user')).toHaveLength(0);

  // "Synchronize" says the same, as a conflict to resolve rather than Jira being down.
  const manual = await request(s.app.url).post(`/api/v1/connections/${s.connectionId}/sync`).set(admin()).send({});
  expect(manual.status).toBe(409);
  expect(manual.body).toMatchObject({
    error: 'needs_credentials',
    needs: 'site-admin-token',
    message: expect.stringMatching(/^needs a site-admin API token: 2 change\(s\) wait for it/),
  });

  // Saving the token: the connection stops waiting and runs at once.
  const saved = await request(s.app.url)
    .put('/api/v1/site-credentials')
    .set(admin())
    .send({ email: s.jira.admin.emailAddress, apiToken: s.jira.adminToken });
  expect(saved.status).toBe(200);
  await settle();
  expect(jiraUser('ann')).toBeDefined();
  expect(jiraUser('bob')).toBeDefined();
});

it("without an organization API key, parks the rest of a run's deactivations in one go instead of one by one", async () => {
  await s.close();
  s = await startScim('entra', { SYNC_DEBOUNCE_MS: '600000' }); // the SCIM changes wait: one run takes them all
  await storeToken();
  await request(s.app.url)
    .put(`/api/v1/connections/${s.connectionId}/rules`)
    .set(admin())
    .send({ users: { deprovision: 'deactivate' } })
    .expect(200);
  const sync = async () => {
    expect(
      (await request(s.app.url).post(`/api/v1/connections/${s.connectionId}/sync`).set(admin()).send({})).status,
    ).toBe(202);
    await s.app.engine.drain();
  };
  const ids: string[] = [];
  for (let i = 0; i < 120; i++) ids.push((await s.post('/Users', entraUser(`u${i}`))).body.id as string);
  await sync();
  for (const id of ids) await s.patch(`/Users/${id}`, patchBody({ op: 'replace', path: 'active', value: false }));
  await sync();
  const [run] = (await api.runs()).body.runs;
  const parked = (await api.run(run.id, '?status=parked&limit=500')).body.operations as Array<{
    attempts: number;
    error: string;
  }>;
  expect(parked).toHaveLength(120);
  expect(parked.every((o) => /needs an organization API key/.test(o.error))).toBe(true);
  // never claimed: parked with the first one that found the key missing
  expect(parked.filter((o) => o.attempts === 0).length).toBeGreaterThan(0);
});

it("pages a run's operations (limit, after → nextOperations) and refuses bad paging values by name", async () => {
  await storeToken();
  for (const n of ['ann', 'bob', 'cy']) await s.post('/Users', entraUser(n));
  await settle();
  const [run] = (await api.runs()).body.runs;
  const all = (await api.run(run.id)).body;
  expect(all.operations).toHaveLength(3);
  expect(all.nextOperations).toBeNull();
  const first = (await api.run(run.id, '?limit=2')).body;
  expect(first.operations.map((o: { id: string }) => o.id)).toEqual(
    all.operations.slice(0, 2).map((o: { id: string }) => o.id),
  );
  expect(first.nextOperations).toBe(all.operations[1].id);
  const rest = (await api.run(run.id, `?limit=2&after=${first.nextOperations}`)).body;
  expect(rest.operations.map((o: { id: string }) => o.id)).toEqual([all.operations[2].id]);
  expect(rest.nextOperations).toBeNull();
  expect((await api.run(run.id, '?limit=0')).body).toMatchObject({
    operations: [],
    nextOperations: '0',
    progress: { done: 3, total: 3 },
  });
  for (const [q, field] of [
    ['?limit=5000', 'limit'],
    ['?limit=x', 'limit'],
    ['?after=abc', 'after'],
    ['?status=bogus', 'status'],
  ]) {
    const bad = await api.run(run.id, q);
    expect(bad.status).toBe(400);
    expect(bad.body.fields).toHaveProperty([field]);
  }
});

it('refuses a second run while one is going, and invalid rules naming the field', async () => {
  await storeToken();
  await s.post('/Users', entraUser('ann'));
  s.app.engine.kick = () => undefined; // the first run stays open until drained below
  const first = await api.sync();
  expect(first.status).toBe(202);
  const second = await api.sync();
  expect(second.status).toBe(409);
  expect(second.body).toMatchObject({ error: 'run_in_progress', runId: first.body.id });
  await s.app.engine.drain();
  const bad = await api.putRules({
    groups: { onTheFly: { enabled: true, pattern: '(' } },
    users: { products: ['nope'] },
  });
  expect(bad.status).toBe(400);
  expect(Object.keys(bad.body.fields).sort()).toEqual(['groups.onTheFly.pattern', 'users.products.0']);
});

it('records a run that cannot read Jira as failed, with the reason, and answers 502', async () => {
  await storeToken();
  s.jira.failNextOn('/rest/api/3/group/bulk', ...Array.from({ length: 6 }, () => ({ status: 503 })));
  const res = await api.sync();
  expect(res.status).toBe(502);
  const [run] = (await api.runs()).body.runs;
  expect(run).toMatchObject({
    trigger: 'manual',
    status: 'failed',
    error: expect.stringMatching(/Could not read Jira/),
  });
});

it('keeps the history for the configured number of days', async () => {
  await storeToken();
  await s.post('/Users', entraUser('ann'));
  await settle();
  await s.app.db.sequelize.query("UPDATE sync_runs SET started_at = now() - interval '91 days'");
  expect(await s.app.runs.purgeHistory(90)).toBe(1);
  expect((await api.runs()).body.runs).toHaveLength(0);
});

it('names users and groups in every operation of a run and of a dry run (email, group name), not IdP ids', async () => {
  await storeToken();
  await api.putRules({ groups: { onTheFly: { enabled: true, pattern: '^AAD-(.*)$', replacement: '$1' } } });
  const ann = (await s.post('/Users', entraUser('ann'))).body.id;
  const sales = (await s.post('/Groups', { displayName: 'AAD-Sales' })).body.id;
  await s.patch(`/Groups/${sales}`, patchBody({ op: 'Add', path: 'members', value: [{ value: ann }] }));
  const dry = (await api.sync({ dryRun: true })).body.operations;
  expect(dry).toContainEqual(
    expect.objectContaining({
      kind: 'addMember',
      group: 'Sales',
      user: expect.objectContaining({ id: ann, email: 'ann@contoso.com' }),
    }),
  );
  await settle();
  const [run] = (await api.runs()).body.runs;
  const ops = (await api.run(run.id)).body.operations as Array<{
    kind: string;
    user: { email: string | null } | null;
    group: string | null;
  }>;
  expect(ops.map((o) => [o.kind, o.user?.email ?? null, o.group])).toEqual(
    expect.arrayContaining([
      ['createGroup', null, 'Sales'],
      ['ensureUser', 'ann@contoso.com', null],
      ['addMember', 'ann@contoso.com', 'Sales'],
    ]),
  );
  for (const o of ops) expect(o.user?.email ?? o.group).toBeTruthy();
});

it('plans a connection once at a time: a trigger that comes meanwhile is told the run the first one started', async () => {
  await storeToken();
  await s.post('/Users', entraUser('ann'));
  const c = (await s.app.connections.get(s.jira.clientKey, s.connectionId))!;
  const results = await Promise.all([s.app.engine.run(c, 'manual'), s.app.engine.run(c, 'scim')]);
  const started = results.find((r) => r.kind === 'started');
  const busy = results.find((r) => r.kind === 'busy');
  expect(started && busy).toBeTruthy();
  expect(busy).toEqual({ kind: 'busy', runId: started!.kind === 'started' ? started!.run.id : undefined });
  expect(s.jira.callsTo('GET', '/rest/api/3/group/bulk')).toHaveLength(1); // Jira was read once
  await s.app.engine.drain();
});
