import { Client } from 'pg';
import { AppProcess, installSite, OwnPostgres, type ProcessSite } from '../support/appProcess';
import { FakeJira } from '../support/fakeJira';
import { KeyServer } from '../support/keyServer';
import { scimCall, ScimLoad } from '../support/scimLoad';

/**
 * The database goes away under SCIM load, through the real process: Postgres stopped and started
 * again, then every connection killed with pg_terminate_backend. What was answered 2xx is stored
 * and reaches Jira; what was answered 503 (with Retry-After, in SCIM's format) left nothing; no
 * answer is a 500 or takes longer than the bounded wait; the process reconnects and the runs that
 * were applying finish.
 */
jest.setTimeout(240_000);

let keys: KeyServer;
let jira: FakeJira;
let pg: OwnPostgres;
let app: AppProcess;
let site: ProcessSite;

beforeAll(async () => {
  keys = await new KeyServer().start();
  jira = await new FakeJira().start();
  jira.setLatency(15); // runs are applying when the database goes
  pg = await OwnPostgres.start();
  app = await AppProcess.create({
    databaseUrl: pg.url,
    jira,
    keys,
    env: { SYNC_LEASE_MS: '3000', DATABASE_POOL_MAX: '6', SCIM_REQUEST_TIMEOUT_MS: '3000' },
  });
  await app.start();
  site = await installSite(app, jira, keys);
});

afterEach(() => Promise.all(ScimLoad.running.map((l) => l.stop())));

afterAll(async () => {
  await app?.stop();
  await pg?.remove();
  await jira?.stop();
  await keys?.stop();
});

const health = async () => {
  const res = await fetch(`${app.url}/healthz`, { signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

/** Every name answered 201 is in the store and reaches Jira exactly once; the process never fell over. */
async function expectAllAcknowledgedInJira(load: ScimLoad): Promise<void> {
  const acknowledged = load.acknowledged();
  for (const name of acknowledged) {
    const found = await scimCall(site, 'GET', `/Users?filter=${encodeURIComponent(`userName eq "${name}"`)}`);
    expect([name, found.body.totalResults]).toEqual([name, 1]);
  }
  const deadline = Date.now() + 90_000;
  const inJira = () =>
    new Set([...jira.state.users.values()].map((u) => u.emailAddress).filter((e) => acknowledged.includes(e)));
  while (inJira().size < acknowledged.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
  expect(inJira().size).toBe(acknowledged.length);
  for (const email of acknowledged)
    expect([...jira.state.users.values()].filter((u) => u.emailAddress === email)).toHaveLength(1);
  expect(app.alive).toBe(true);
}

/**
 * The IdP sends each request answered 503 again. A request cut while Postgres committed it (the
 * commit done, its answer lost with the connection) is the only kind that may already be stored,
 * then whole: at most one per client per cut. Its retry hears 409 uniqueness, as for any user the
 * IdP created before; every other retry creates the user (201).
 */
async function expectRetriesWhole(load: ScimLoad, failed: Array<{ name: string }>, maxInDoubt: number) {
  const inDoubt: string[] = [];
  for (const a of failed) {
    const retry = await scimCall(site, 'POST', '/Users', ScimLoad.user(a.name));
    expect([a.name, [201, 409].includes(retry.status)]).toEqual([a.name, true]);
    if (retry.status === 409) {
      inDoubt.push(a.name);
      const found = await scimCall(site, 'GET', `/Users?filter=${encodeURIComponent(`userName eq "${a.name}"`)}`);
      expect(found.body.Resources[0]).toMatchObject({ userName: a.name, emails: [{ value: a.name }] });
    }
  }
  expect(inDoubt.length).toBeLessThanOrEqual(maxInDoubt);
  // An outage is a warning per job, not a stream of errors with stacks.
  expect(app.logLines().filter((l) => Number(l.level) >= 50)).toEqual([]);
  load.acknowledge(failed.map((a) => a.name));
}

it('Postgres stopped and started under SCIM load: 503 with Retry-After meanwhile, nothing acknowledged lost', async () => {
  const load = new ScimLoad(site, 'stop', 4);
  load.start();
  await load.until((l) => l.acknowledged().length >= 20);
  await pg.down();
  await load.until((l) => l.answers.filter((a) => a.status === 503).length >= 8);
  const down = await health();
  expect(down).toMatchObject({ status: 503, body: { database: 'down' } });
  // The admin API says the same, in its own format.
  const runs = await site.admin('GET', `/connections/${site.connectionId}/runs`);
  expect(runs).toMatchObject({ status: 503, body: { error: 'database_unavailable' } });
  // It does not claim that nothing was stored: a commit whose answer was lost is in doubt.
  expect(runs.body.message).toMatch(
    /may have been if the connection broke as it committed\. Sending the request again is safe\./,
  );
  await pg.up();
  const before = load.acknowledged().length;
  await load.until((l) => l.acknowledged().length >= before + 20, 60_000);
  await load.stop();

  const outage = load.answers.filter((a) => a.status !== 201);
  expect(outage.length).toBeGreaterThan(0);
  for (const a of outage) {
    expect([a.name, a.status]).toEqual([a.name, 503]);
    expect(a.retryAfter).toMatch(/^\d+$/);
    expect(a.body).toMatchObject({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
      status: '503',
      detail: expect.stringMatching(/database/i),
    });
  }
  expect(Math.max(...load.answers.map((a) => a.ms))).toBeLessThan(15_000);
  expect(await health()).toMatchObject({ status: 200, body: { database: 'up' } });

  await expectRetriesWhole(load, outage, 4);
  await expectAllAcknowledgedInJira(load);
});

it('every connection killed (pg_terminate_backend) while runs apply: the process reconnects and the runs finish', async () => {
  const load = new ScimLoad(site, 'kill', 3);
  load.start();
  await load.until((l) => l.acknowledged().length >= 15);
  const admin = new Client({ connectionString: pg.url });
  await admin.connect();
  try {
    for (let i = 0; i < 3; i++) {
      const killed = await admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
      );
      expect(killed.rowCount).toBeGreaterThan(0);
      await new Promise((r) => setTimeout(r, 300));
    }
  } finally {
    await admin.end();
  }
  const before = load.acknowledged().length;
  await load.until((l) => l.acknowledged().length >= before + 15, 60_000);
  await load.stop();
  const failed = load.answers.filter((x) => x.status !== 201);
  for (const a of failed) expect([a.name, a.status]).toEqual([a.name, 503]);
  await expectRetriesWhole(load, failed, 3 * 3);
  await expectAllAcknowledgedInJira(load);
  // The runs finish: an operation whose record the kill cut off goes back to the queue after its
  // lease (SYNC_LEASE_MS, 3 s here) and is applied again, so the last run may end a few seconds
  // after the last user reached Jira.
  const going = async () =>
    ((await site.admin('GET', `/connections/${site.connectionId}/runs`)).body.runs as Array<{ status: string }>).filter(
      (r) => r.status === 'running' || r.status === 'pending',
    );
  for (const deadline = Date.now() + 30_000; (await going()).length > 0 && Date.now() < deadline;)
    await new Promise((r) => setTimeout(r, 250));
  expect(await going()).toEqual([]);
});

it('Postgres frozen (a partition: connections open, nothing answers): SCIM answers 503 within its deadline, then recovers', async () => {
  const load = new ScimLoad(site, 'freeze', 3);
  load.start();
  await load.until((l) => l.acknowledged().length >= 10);
  pg.signalAll('SIGSTOP');
  try {
    await load.until((l) => l.answers.filter((a) => a.status === 503).length >= 6, 30_000);
  } finally {
    pg.signalAll('SIGCONT');
  }
  const before = load.acknowledged().length;
  await load.until((l) => l.acknowledged().length >= before + 10, 60_000);
  await load.stop();
  const failed = load.answers.filter((x) => x.status !== 201);
  for (const a of failed) expect([a.name, a.status]).toEqual([a.name, 503]);
  // The deadline (3 s here) bounds every answer; a new connection gives up after 5 s, a pooled one's wait after 10 s.
  expect(Math.max(...load.answers.map((a) => a.ms))).toBeLessThan(12_000);
  await expectRetriesWhole(load, failed, 3 * 2);
  await expectAllAcknowledgedInJira(load);
});
