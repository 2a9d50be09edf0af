import crypto from 'node:crypto';
import { AppProcess, installSite, type ProcessSite } from '../support/appProcess';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { FakeJira } from '../support/fakeJira';
import { KeyServer } from '../support/keyServer';
import { scimCall, ScimLoad } from '../support/scimLoad';

/**
 * kill -9 under load, through the real process: every SCIM write that got a 2xx is stored and
 * reaches Jira exactly once after a restart, and the runs resume; with two instances on one
 * database, the survivor finishes the operations the killed one held (their lease runs out).
 */
jest.setTimeout(240_000);

let keys: KeyServer;
let jira: FakeJira;
let db: TestDatabase;
const secretKey = crypto.randomBytes(32).toString('hex');
const processes: AppProcess[] = [];

beforeEach(async () => {
  keys = await new KeyServer().start();
  jira = await new FakeJira().start();
  jira.setLatency(60); // runs are applying when the process dies
  db = await createTestDatabase();
});

afterEach(async () => {
  await Promise.all(ScimLoad.running.map((l) => l.stop()));
  await Promise.all(processes.splice(0).map((p) => p.stop('SIGKILL')));
  await db.drop();
  await jira.stop();
  await keys.stop();
});

async function instance(env: Record<string, string> = {}): Promise<AppProcess> {
  const p = await AppProcess.create({
    databaseUrl: db.url,
    jira,
    keys,
    secretKey,
    env: { SYNC_LEASE_MS: '2000', SYNC_WORKER_CONCURRENCY: '4', ...env },
  });
  processes.push(p);
  await p.start();
  return p;
}

/** Operations claimed (before `before`) and not finished: those a killed process held. */
async function orphaned(before = new Date()): Promise<number> {
  const [rows] = await db.sequelize.query(
    "SELECT count(*)::int AS n FROM sync_operations WHERE status = 'running' AND claimed_at < :before",
    { replacements: { before } },
  );
  return (rows as Array<{ n: number }>)[0].n;
}

/** Waits until a run is applying: at least `min` operations claimed. */
async function runningOperations(min = 1): Promise<void> {
  const deadline = Date.now() + 30_000;
  while ((await orphaned()) < min) {
    if (Date.now() > deadline) throw new Error('no run started applying');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Requests that got no answer (the process died under them) are sent again, as an IdP does. */
async function retryUnanswered(site: ProcessSite, load: ScimLoad): Promise<void> {
  const unanswered = load.answers.filter((a) => a.status !== 201);
  for (const a of unanswered) expect([a.name, a.status]).toEqual([a.name, 0]);
  for (const a of unanswered) {
    const retry = await scimCall(site, 'POST', '/Users', ScimLoad.user(a.name));
    expect([a.name, [201, 409].includes(retry.status)]).toEqual([a.name, true]);
  }
  load.acknowledge(unanswered.map((a) => a.name));
}

/**
 * Every acknowledged user is stored, has exactly one Jira account, and every run ended. An
 * operation the dead process held may have reached Jira before it died: applied again, it finds
 * its effect there (Jira answers a create for an existing account with that account), so at most
 * `held` calls are repeated and no effect is doubled.
 */
async function expectExactlyOnceInJira(site: ProcessSite, load: ScimLoad, held: number): Promise<void> {
  const acknowledged = load.acknowledged();
  const list = await scimCall(site, 'GET', '/Users?count=1000');
  const stored = new Set((list.body.Resources as Array<{ userName: string }>).map((u) => u.userName));
  expect(acknowledged.filter((n) => !stored.has(n))).toEqual([]);
  const deadline = Date.now() + 120_000;
  const accounts = (email: string) => [...jira.state.users.values()].filter((u) => u.emailAddress === email).length;
  while (acknowledged.some((n) => accounts(n) === 0) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 250));
  expect(acknowledged.filter((n) => accounts(n) !== 1)).toEqual([]);
  const created = jira
    .callsTo('POST', '/rest/api/3/user')
    .filter((c) => c.status === 201)
    .map((c) => (c.body as { emailAddress: string }).emailAddress);
  expect(created.length - new Set(created).size).toBeLessThanOrEqual(held);
  for (;;) {
    const runs = (await site.admin('GET', `/connections/${site.connectionId}/runs`)).body.runs as Array<{
      status: string;
    }>;
    if (!runs.some((r) => r.status === 'running' || r.status === 'pending') || Date.now() > deadline) {
      expect(runs.filter((r) => r.status === 'running' || r.status === 'pending')).toEqual([]);
      expect(runs.filter((r) => r.status === 'failed')).toEqual([]);
      break;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

it('kill -9 during a burst of SCIM writes from several clients: after a restart every 2xx is in Jira, once', async () => {
  const app = await instance();
  const site = await installSite(app, jira, keys);
  const load = new ScimLoad(site, 'crash', 4);
  // A burst, a pause in which its run starts applying, and a second burst during which the process dies.
  load.start();
  await load.until((l) => l.acknowledged().length >= 40);
  await load.pause();
  await runningOperations(3);
  load.start();
  await new Promise((r) => setTimeout(r, 100));
  // Runs come every debounce (50 ms) and can be a few operations each: one seen applying a moment
  // ago may be done. Kill right after seeing operations in hand (each holds a 60 ms Jira call).
  await runningOperations(3);
  await app.stop('SIGKILL');
  const held = await orphaned();
  expect(held).toBeGreaterThan(0);
  await load.stop();
  await app.start();
  await retryUnanswered(site, load);
  await expectExactlyOnceInJira(site, load, held);
  expect(app.alive).toBe(true);
});

it('two instances, one killed mid-run: the other finishes its operations when their lease runs out', async () => {
  const a = await instance();
  const site = await installSite(a, jira, keys);
  // b takes one operation at a time: with three or more claimed, the one killed (a) holds some.
  const b = await instance({ SYNC_WORKER_CONCURRENCY: '1' });
  // Writes go to both instances, as behind a load balancer.
  const viaA = new ScimLoad(site, 'a', 2);
  const viaB = new ScimLoad({ ...site, scimBase: site.scimBase.replace(a.url, b.url) }, 'b', 2);
  viaA.start();
  viaB.start();
  await viaA.until((l) => l.acknowledged().length >= 25);
  await viaB.until((l) => l.acknowledged().length >= 25);
  await Promise.all([viaA.pause(), viaB.pause()]);
  await runningOperations(3);
  await a.stop('SIGKILL');
  const killedAt = new Date();
  // b's own operation in hand ends within a call; what is still claimed from before the kill was a's.
  await new Promise((r) => setTimeout(r, 500));
  const held = await orphaned(killedAt);
  expect(held).toBeGreaterThan(0);
  const survivor = { ...site, scimBase: site.scimBase.replace(a.url, b.url) };
  const all = new ScimLoad(survivor, 'unused', 0);
  all.acknowledge([...viaA.acknowledged(), ...viaB.acknowledged()]);
  for (const x of viaA.answers.filter((y) => y.status !== 201)) all.answers.push(x);
  await retryUnanswered(survivor, all);
  await expectExactlyOnceInJira({ ...survivor, admin: siteAdminVia(b) }, all, held);
  expect(a.alive).toBe(false);
  expect(b.alive).toBe(true);
});

/** The admin API of the site through another instance. */
function siteAdminVia(p: AppProcess): ProcessSite['admin'] {
  return async (method, path, body) => {
    const res = await fetch(`${p.url}/api/v1${path}`, {
      method,
      headers: { Authorization: `JWT ${jira.contextJwt(jira.admin.accountId)}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  };
}
