import crypto from 'node:crypto';
import request from 'supertest';
import { Sql } from '../../src/db/sql';
import { Replan } from '../../src/provisioning/stores/runs';
import { jwtHeader } from '../support/app';
import { entraUser, patchBody, startScim, type ScimHarness } from '../support/scim';

/**
 * A run does not hold the next one hostage: a connection's change made while its big onboarding
 * applies is planned at once and starts beside it; it takes over the onboarding's pending operations
 * for the users it planned again (the later plan is the whole of what they need), and is planned
 * again when one of those operations was in Jira's hands meanwhile.
 */
let s: ScimHarness;
const ids: Record<string, string> = {};
let team0 = '';

beforeAll(async () => {
  // One Jira call at a time, each 100 ms: the onboarding below takes seconds to apply.
  s = await startScim('entra', { JIRA_CONCURRENCY_PER_TENANT: '1' });
  await s.storeSiteToken();
  await s.saveRules({ groups: { onTheFly: { enabled: true } } });
  for (let i = 0; i < 4; i++) ids[`u${i}`] = (await s.post('/Users', entraUser(`u${i}`))).body.id;
  team0 = (await s.post('/Groups', { displayName: 'team0', members: Object.values(ids).map((value) => ({ value })) }))
    .body.id;
  await s.settle();
});
afterAll(() => s.close());

function admin() {
  return jwtHeader(s.jira.contextJwt(s.jira.admin.accountId));
}
const runs = async () =>
  (await request(s.app.url).get(`/api/v1/connections/${s.connectionId}/runs`).set(admin())).body.runs as Array<{
    id: string;
    status: string;
    counts: Record<string, number>;
  }>;
const groupsOf = (name: string) => s.jira.state.groupsOf(s.jira.state.userByEmail(`${name}@contoso.com`)!.accountId);
const until = async (what: () => boolean, ms = 20_000) => {
  for (const end = Date.now() + ms; !what(); await new Promise((r) => setTimeout(r, 20)))
    if (Date.now() > end) throw new Error('timed out');
};

it("a change made while the connection's onboarding applies lands before that run ends, and takes over its operations for the same user", async () => {
  const before = s.jira.callsTo('POST', '/rest/api/3/user').length;
  const onboarding: string[] = [];
  for (let i = 0; i < 30; i++) onboarding.push((await s.post('/Users', entraUser(`n${i}`))).body.id);
  const big = (await s.post('/Groups', { displayName: 'big', members: onboarding.map((value) => ({ value })) })).body
    .id;
  s.jira.setLatency(100);
  await s.app.outbox.drain(); // the onboarding's run: ~60 operations, one call at a time
  const [first] = await runs();
  expect(first.status).toBe('running');

  // Meanwhile: u1 leaves team0, and n29 (whose operations the onboarding has not reached) leaves "big".
  await s.patch(`/Groups/${team0}`, patchBody({ op: 'remove', path: `members[value eq "${ids.u1}"]` })).expect(204);
  await s.patch(`/Groups/${big}`, patchBody({ op: 'remove', path: `members[value eq "${onboarding[29]}"]` }));
  await s.app.outbox.drain();
  const [second, again] = await runs();
  expect(again.id).toBe(first.id);
  expect(second.status).toBe('running'); // started beside the onboarding, not after it

  await until(() => !groupsOf('u1').includes('team0'));
  const created = s.jira.callsTo('POST', '/rest/api/3/user').length - before;
  expect(created).toBeLessThan(10); // u1's change reached Jira while the onboarding was still creating users
  expect((await runs()).find((r) => r.id === first.id)?.status).toBe('running');

  await s.settle();
  expect(groupsOf('n29')).not.toContain('big'); // the later plan won: n29 is created, but not added to "big"
  expect(groupsOf('n28')).toContain('big');
  const done = await runs();
  expect(done.find((r) => r.id === first.id)).toMatchObject({
    status: 'succeeded',
    counts: expect.objectContaining({ superseded: 2 }), // n29's creation and membership, taken over
  });
  expect(done.find((r) => r.id === second.id)).toMatchObject({
    status: 'succeeded',
    counts: expect.objectContaining({ usersCreated: 1, membershipsRemoved: 1 }),
  });
  // One account each: nobody was created twice.
  const emails = [...s.jira.state.users.values()].map((u) => u.emailAddress);
  expect(emails.length).toBe(new Set(emails).size);
  s.jira.setLatency(0);
});

it("is planned again when one of the other run's operations for its users (but a creation) was in Jira's hands meanwhile", async () => {
  const user = (await s.post('/Users', entraUser('late'))).body.id;
  await s.settle();
  const sql = new Sql(s.app.db.sequelize);
  const going = crypto.randomUUID();
  await sql.query(
    "INSERT INTO sync_runs (id, connection_id, client_key, trigger, status, stage, total) VALUES ($1, $2, $3, 'scim', 'running', 'applying', 1)",
    [going, s.connectionId, s.clientKey],
  );
  const op = async (status: string, finishedAt: string | null, kind = 'addMember') => {
    await sql.query('DELETE FROM sync_operations WHERE run_id = $1', [going]);
    await sql.query(
      `INSERT INTO sync_operations (run_id, client_key, phase, kind, subject, payload, reason, status, finished_at)
       VALUES ($1, $2, 4, $6, $3, '{}'::jsonb, 'test', $4, $5::timestamptz)`,
      [going, s.clientKey, `user:${user}`, status, finishedAt, kind],
    );
  };
  const since = await s.app.runs.now();
  const start = () =>
    s.app.runs.createRun(
      { id: crypto.randomUUID(), connectionId: s.connectionId, clientKey: s.clientKey, trigger: 'scim' },
      [],
      undefined,
      undefined,
      { userIds: [user], since },
    );
  await op('running', null); // in Jira's hands now
  await expect(start()).rejects.toBeInstanceOf(Replan);
  await op('done', new Date().toISOString()); // finished after the planning began
  await expect(start()).rejects.toBeInstanceOf(Replan);
  await op('done', new Date(since.getTime() - 60_000).toISOString()); // finished before: the plan saw it
  const [row] = await sql.query<{ status: string }>('SELECT status FROM sync_operations WHERE run_id = $1', [going]);
  expect(row.status).toBe('done');
  await op('running', null, 'ensureUser'); // a creation in Jira's hands: the plan (the user as new) holds whatever it does
  const beside = await start();
  expect(beside?.status).toBe('running');
  await sql.query("UPDATE sync_runs SET status = 'succeeded' WHERE id = $1", [beside!.id]);
  await op('pending', null); // waiting: taken over
  const started = await start();
  expect(started?.status).toBe('running');
  const [taken] = await sql.query<{ status: string; outcome: string }>(
    'SELECT status, outcome FROM sync_operations WHERE run_id = $1',
    [going],
  );
  expect(taken).toEqual({ status: 'done', outcome: 'superseded' });
  await sql.query("UPDATE sync_runs SET status = 'succeeded' WHERE id = ANY($1::uuid[])", [[going, started!.id]]);
});

/**
 * An applying run of the connection that keeps going (its one operation waits an hour, or is in
 * Jira's hands: claimed, and not done), and how to end it.
 */
async function runGoingOn(
  sql: Sql,
  op: { subject: string; status: 'pending' | 'running' } = { subject: 'user:nobody', status: 'pending' },
): Promise<() => Promise<void>> {
  const id = crypto.randomUUID();
  await sql.query(
    "INSERT INTO sync_runs (id, connection_id, client_key, trigger, status, stage, total) VALUES ($1, $2, $3, 'scim', 'running', 'applying', 1)",
    [id, s.connectionId, s.clientKey],
  );
  await sql.query(
    `INSERT INTO sync_operations (run_id, client_key, phase, kind, subject, payload, reason, not_before, status, claimed_at)
     VALUES ($1, $2, 4, 'addMember', $3, '{}'::jsonb, 'test', now() + interval '1 hour', $4, now())`,
    [id, s.clientKey, op.subject, op.status],
  );
  return async () => {
    await sql.query("UPDATE sync_operations SET status = 'done' WHERE run_id = $1", [id]);
    await sql.query("UPDATE sync_runs SET status = 'succeeded' WHERE id = $1", [id]);
  };
}

it('a change that plans every user (a group renamed) waits for the run going on; one of a few users does not', async () => {
  const sql = new Sql(s.app.db.sequelize);
  const end = await runGoingOn(sql);
  const count = async () => (await runs()).length;
  const before = await count();
  await s.patch(`/Groups/${team0}`, patchBody({ op: 'replace', path: 'displayName', value: 'team0-renamed' }));
  await s.app.outbox.drain();
  expect(await count()).toBe(before); // waits: nothing started beside
  await s.patch(`/Users/${ids.u2}`, patchBody({ op: 'replace', path: 'displayName', value: 'U two' }));
  await s.app.outbox.drain();
  expect(await count()).toBe(before); // still one batch with the rename: it waits as a whole
  await end();
  await s.settle();
  expect(await count()).toBe(before + 1); // the run going on ended: the changes' run follows
});

it('a creation taken over from an earlier run costs no call when that run already linked the user', async () => {
  const sql = new Sql(s.app.db.sequelize);
  const id = (await s.post('/Users', entraUser('linked-once'))).body.id;
  await s.settle();
  const calls = s.jira.calls.length;
  const runId = crypto.randomUUID();
  await sql.query(
    "INSERT INTO sync_runs (id, connection_id, client_key, trigger, status, stage, total) VALUES ($1, $2, $3, 'scim', 'running', 'applying', 1)",
    [runId, s.connectionId, s.clientKey],
  );
  await sql.query(
    `INSERT INTO sync_operations (run_id, client_key, phase, kind, subject, payload, reason)
     VALUES ($1, $2, 2, 'ensureUser', $3, $4::jsonb, 'test')`,
    [
      runId,
      s.clientKey,
      `user:${id}`,
      JSON.stringify({
        kind: 'ensureUser',
        userId: id,
        email: 'linked-once@contoso.com',
        displayName: null,
        products: ['jira-software'],
        create: true,
      }),
    ],
  );
  expect(await s.app.engine.drain(10_000)).toBe(true);
  const [op] = await sql.query<{ status: string; outcome: string }>(
    'SELECT status, outcome FROM sync_operations WHERE run_id = $1',
    [runId],
  );
  expect(op).toEqual({ status: 'done', outcome: 'linked' });
  expect(s.jira.calls.slice(calls).filter((c) => c.path.startsWith('/rest/api/3/user'))).toEqual([]);
});

it("a change whose user has an operation in Jira's hands is planned again five times, then waits for the run going on", async () => {
  const sql = new Sql(s.app.db.sequelize);
  const end = await runGoingOn(sql, { subject: `user:${ids.u3}`, status: 'running' });
  const before = (await runs()).length;
  const createRun = jest.spyOn(s.app.runs, 'createRun');
  try {
    await s.patch(`/Users/${ids.u3}`, patchBody({ op: 'replace', path: 'displayName', value: 'U three' }));
    await s.app.outbox.drain();
    expect(createRun.mock.calls.filter((call) => call[4] !== undefined)).toHaveLength(5); // five plans beside it
    expect((await runs()).length).toBe(before); // then the change waits
  } finally {
    createRun.mockRestore();
  }
  await end();
  await s.settle();
  expect((await runs()).length).toBe(before + 1); // the run going on ended: the change's run follows
});

it('while the rules mirror groups, a change that links a new user waits for the run going on', async () => {
  await s.saveRules({ groups: { onTheFly: { enabled: true }, keepExisting: false } });
  await s.settle();
  const sql = new Sql(s.app.db.sequelize);
  const end = await runGoingOn(sql);
  const before = (await runs()).length;
  await s.post('/Users', entraUser('mirrored'));
  await s.app.outbox.drain();
  expect((await runs()).length).toBe(before); // the sweep of unlinked accounts could meet the other run's: it waits
  await end();
  await s.settle();
  expect((await runs()).length).toBe(before + 1);
  expect(s.jira.state.userByEmail('mirrored@contoso.com')).toBeDefined();
  await s.saveRules({ groups: { onTheFly: { enabled: true } } });
  await s.settle();
});
