import request from 'supertest';
import { jwtHeader, startTestApp, type TestApp } from '../support/app';
import { startScim, type ScimHarness } from '../support/scim';

/** Failure, crash and concurrency: the end state is exact, and no effect happens twice. */
jest.setTimeout(120_000);

let s: ScimHarness;
const USERS = 12;

async function populate(h: ScimHarness): Promise<void> {
  await h.app.credentials.save(h.jira.clientKey, {
    email: h.jira.admin.emailAddress,
    apiToken: h.jira.adminToken,
    tokenAccountId: h.jira.admin.accountId,
    orgId: null,
    orgApiKey: null,
    updatedBy: 'test',
  });
  await request(h.app.url)
    .put(`/api/v1/connections/${h.connectionId}/rules`)
    .set(jwtHeader(h.jira.contextJwt(h.jira.admin.accountId)))
    .send({ groups: { onTheFly: { enabled: true }, defaultForAllUsers: ['staff'] } })
    .expect(200);
  const ids: string[] = [];
  for (let i = 0; i < USERS; i++)
    ids.push(
      (
        await h.post('/Users', {
          userName: `u${i}@corp.example`,
          emails: [{ value: `u${i}@corp.example`, primary: true }],
        })
      ).body.id,
    );
  for (const [g, members] of [
    ['even', ids.filter((_, i) => i % 2 === 0)],
    ['odd', ids.filter((_, i) => i % 2 === 1)],
    ['all-idp', ids],
  ] as const) {
    expect((await h.post('/Groups', { displayName: g, members: members.map((value) => ({ value })) })).status).toBe(
      201,
    );
  }
}

/**
 * The exact Jira state the rules call for, and no duplicate effects. With faults that strike after
 * a write took effect, some memberships land on a call that answered 503 (its retry then hears
 * "already a member"), so only without faults does every membership have exactly one 201.
 */
function expectExactState(h: ScimHarness, faultsAfterEffect = false): void {
  for (let i = 0; i < USERS; i++) {
    const matches = [...h.jira.state.users.values()].filter((u) => u.emailAddress === `u${i}@corp.example`);
    expect(matches).toHaveLength(1);
    expect(h.jira.state.groupsOf(matches[0].accountId)).toEqual(['all-idp', i % 2 === 0 ? 'even' : 'odd', 'staff']);
  }
  const names = [...h.jira.state.groups.values()].map((g) => g.name.toLowerCase());
  expect(new Set(names).size).toBe(names.length);
  // Each membership was added by exactly one successful call.
  const added = h.jira.calls.filter(
    (c) => c.method === 'POST' && c.path === '/rest/api/3/group/user' && c.status === 201,
  );
  const keys = added.map(
    (c) => `${new URLSearchParams(c.query).get('groupId')}|${(c.body as { accountId: string }).accountId}`,
  );
  expect(new Set(keys).size).toBe(keys.length);
  if (faultsAfterEffect) expect(keys.length).toBeLessThanOrEqual(USERS * 3);
  else expect(keys).toHaveLength(USERS * 3);
}

afterEach(() => s.close());

it('ends in the exact state when a third of Jira calls fail with 429 or 5xx (some after taking effect)', async () => {
  s = await startScim('generic', { JIRA_MAX_ATTEMPTS: '8', SYNC_MAX_ATTEMPTS: '20' });
  await populate(s);
  s.jira.setFaults({
    rateLimitShare: 0.15,
    retryAfterSeconds: 0,
    serverErrorShare: 0.18,
    serverErrorAfterEffectShare: 0.5,
    seed: 7,
  });
  for (let round = 0; round < 10; round++) {
    await s.app.outbox.drain();
    await s.app.engine.drain(60_000);
    const runs = await s.app.runs.runs(s.connectionId);
    if (runs.some((r) => r.status === 'succeeded')) break;
  }
  s.jira.setFaults({});
  const failures = s.jira.calls.filter((c) => c.status === 429 || c.status === 503).length;
  expect(failures).toBeGreaterThan(20);
  expectExactState(s, true);
  const [run] = await s.app.runs.runs(s.connectionId);
  expect(run).toMatchObject({ status: 'succeeded', counts: { failed: 0 } });
});

it('resumes after a worker dies mid-run: nothing lost, nothing doubled', async () => {
  s = await startScim('generic', { SYNC_LEASE_MS: '300' });
  await populate(s);
  // Plan and persist the run, then let a "worker" claim operations and die before finishing them.
  const conn = (await s.app.connections.get(s.jira.clientKey, s.connectionId))!;
  s.app.engine.kick = () => undefined; // this instance must not start working on its own
  const started = await s.app.engine.run(conn, 'manual');
  expect(started.kind).toBe('started');
  const orphaned = await s.app.queue.claim(4);
  expect(orphaned.length).toBe(4);
  expect(orphaned.every((o) => o.status === 'running')).toBe(true);
  await new Promise((r) => setTimeout(r, 400)); // the lease runs out
  expect(await s.app.engine.drain(60_000)).toBe(true);
  expectExactState(s);
  const ops = await s.app.runs.operations((started as { run: { id: string } }).run.id);
  expect(ops.every((o) => o.status === 'done')).toBe(true);
  expect(ops.filter((o) => orphaned.some((x) => x.id === o.id)).every((o) => o.attempts === 2)).toBe(true);
});

it('two engine instances on one database apply each operation once', async () => {
  s = await startScim('generic', { SYNC_WORKER_CONCURRENCY: '2' });
  const other: TestApp = await startTestApp({
    keys: s.keys,
    db: s.app.db,
    secretKey: s.app.secretKey,
    env: { ATLASSIAN_API_URL: s.jira.url, SYNC_WORKER_CONCURRENCY: '2' },
  });
  try {
    await populate(s);
    s.jira.setLatency(15);
    const conn = (await s.app.connections.get(s.jira.clientKey, s.connectionId))!;
    s.app.engine.kick = () => undefined;
    expect((await s.app.engine.run(conn, 'manual')).kind).toBe('started');
    await Promise.all([s.app.engine.drain(60_000), other.engine.drain(60_000)]);
    expectExactState(s);
    const creates = s.jira.calls.filter((c) => c.method === 'POST' && c.path === '/rest/api/3/user');
    expect(creates).toHaveLength(USERS);
  } finally {
    await other.close();
  }
});
