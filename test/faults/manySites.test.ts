import crypto from 'node:crypto';
import { AppProcess, installSite, type ProcessSite } from '../support/appProcess';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { FakeJira } from '../support/fakeJira';
import { KeyServer } from '../support/keyServer';
import { sample } from '../support/prometheus';
import { freePort } from '../support/net';
import { scimCall, ScimLoad } from '../support/scimLoad';

/**
 * One deployment for many sites, through real processes: three instances on one Postgres, 50
 * sites (each its own fake Jira), SCIM writes from every site at once, spread over the instances
 * as a load balancer would, and one instance killed (SIGKILL) in the middle. Every acknowledged
 * user reaches its own site's Jira exactly once (and no other site's), every run ends, and each
 * survivor's /metrics accounts for its work exactly: the Jira calls its instance id made (the
 * fakes record the User-Agent), and the SCIM writes it acknowledged.
 */
jest.setTimeout(600_000);

const SITES = 50;
const secretKey = crypto.randomBytes(32).toString('hex');
let keys: KeyServer;
let db: TestDatabase;
const jiras: FakeJira[] = [];
const processes: AppProcess[] = [];

beforeAll(async () => {
  keys = await new KeyServer().start();
  db = await createTestDatabase();
  for (let i = 0; i < SITES; i++) jiras.push(await new FakeJira().start());
});
afterAll(async () => {
  await Promise.all(ScimLoad.running.map((l) => l.stop()));
  await Promise.all(processes.splice(0).map((p) => p.stop('SIGKILL')));
  await db.drop();
  await Promise.all(jiras.map((j) => j.stop()));
  await keys.stop();
});

async function instance(): Promise<{ app: AppProcess; metricsUrl: string }> {
  const port = await freePort();
  const app = await AppProcess.create({
    databaseUrl: db.url,
    jira: jiras[0],
    keys,
    secretKey, // one key for all instances, as a deployment has
    env: {
      METRICS_PORT: String(port),
      SYNC_LEASE_MS: '2000',
      SYNC_WORKER_CONCURRENCY: '4',
      DATABASE_POOL_MAX: '4',
      LOG_LEVEL: 'warn',
    },
  });
  processes.push(app);
  await app.start();
  return { app, metricsUrl: `http://127.0.0.1:${port}/metrics` };
}

const via = (site: ProcessSite, from: AppProcess, to: AppProcess): ProcessSite => ({
  ...site,
  scimBase: site.scimBase.replace(from.url, to.url),
});

it('three instances, 50 sites, SCIM from all at once, one instance killed: every write reaches its own Jira once, and /metrics of the survivors accounts for their work', async () => {
  const nodes = [await instance(), await instance(), await instance()];
  const [a, , c] = nodes;
  const sites: ProcessSite[] = [];
  for (const j of jiras) sites.push(await installSite(a.app, j, keys));
  // Site i's IdP pushes to instance i % 3 (as behind a load balancer that keeps a client on one instance).
  const target = (i: number) => nodes[i % 3];
  const loads = sites.map((s, i) => new ScimLoad(via(s, a.app, target(i).app), `s${i}`, 1));
  loads.forEach((l) => l.start());
  const acked = () => loads.reduce((n, l) => n + l.acknowledged().length, 0);
  for (const deadline = Date.now() + 120_000; acked() < 10 * SITES; await new Promise((r) => setTimeout(r, 100)))
    if (Date.now() > deadline) throw new Error(`only ${acked()} writes acknowledged`);
  await c.app.stop('SIGKILL');
  await Promise.all(loads.map((l) => l.stop()));

  // Writes the killed instance never answered are sent again to a survivor, as an IdP retries.
  let retriedToA = 0;
  for (const [i, l] of loads.entries()) {
    const unanswered = l.answers.filter((x) => x.status !== 201);
    for (const x of unanswered) expect([x.name, x.status]).toEqual([x.name, 0]);
    for (const x of unanswered) {
      const retry = await scimCall(via(sites[i], a.app, a.app), 'POST', '/Users', ScimLoad.user(x.name));
      expect([x.name, [201, 409].includes(retry.status)]).toEqual([x.name, true]);
      if (retry.status === 201) retriedToA += 1;
    }
    l.acknowledge(unanswered.map((x) => x.name));
  }

  // Every acknowledged user is in its own site's Jira once, and in no other.
  const deadline = Date.now() + 240_000;
  const missing = () => loads.flatMap((l, i) => l.acknowledged().filter((n) => !jiras[i].state.userByEmail(n)));
  while (missing().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
  if (missing().length > 0) {
    const q = (sql: string) => db.sequelize.query(sql, { type: 'SELECT' });
    console.log(
      JSON.stringify({
        runs: await q('SELECT status, stage, trigger, count(*)::int AS n FROM sync_runs GROUP BY 1, 2, 3'),
        operations: await q('SELECT status, kind, count(*)::int AS n FROM sync_operations GROUP BY 1, 2'),
        requests: await q('SELECT processed_at IS NULL AS pending, count(*)::int AS n FROM sync_requests GROUP BY 1'),
        failed: await q("SELECT error FROM sync_runs WHERE status = 'failed' LIMIT 3"),
        parked: await q("SELECT error FROM sync_operations WHERE status = 'parked' LIMIT 3"),
        logs: processes.map((p) =>
          p.output
            .split('\n')
            .filter((l) => /"level":(40|50|60)/.test(l))
            .slice(0, 5),
        ),
      }),
    );
  }
  expect(missing()).toEqual([]);
  for (const [i, j] of jiras.entries()) {
    const emails = [...j.state.users.values()].map((u) => u.emailAddress).filter((e) => e.endsWith('@load.example'));
    expect(emails.filter((e) => !e.startsWith(`u-s${i}-`))).toEqual([]);
    expect(emails.length).toBe(new Set(emails).size);
    expect(new Set(emails)).toEqual(new Set(loads[i].acknowledged()));
  }
  for (;;) {
    const [row] = (await db.sequelize.query(
      "SELECT count(*) FILTER (WHERE status IN ('running', 'pending'))::int AS going, count(*) FILTER (WHERE status = 'failed')::int AS failed FROM sync_runs",
      { type: 'SELECT' },
    )) as Array<{ going: number; failed: number }>;
    if (row.going === 0 || Date.now() > deadline) {
      expect(row).toEqual({ going: 0, failed: 0 });
      break;
    }
    await new Promise((r) => setTimeout(r, 500));
  }

  // Each survivor's /metrics: exactly the Jira calls made under its instance id, the writes it acknowledged, an empty queue.
  const allCalls = jiras.flatMap((j) => j.calls);
  for (const [n, node] of nodes.entries()) {
    if (node === c) continue;
    const text = await (await fetch(node.metricsUrl)).text();
    const id = /idp_instance_info\{instance="([^"]+)"/.exec(text)![1];
    const made = allCalls.filter((x) => x.userAgent?.endsWith(`(instance ${id})`)).length;
    expect([n, sample(text, 'idp_jira_calls_total')]).toEqual([n, made]);
    const served =
      loads.filter((_, i) => i % 3 === n).reduce((k, l) => k + l.answers.filter((x) => x.status === 201).length, 0) +
      (n === 0 ? retriedToA : 0);
    expect([n, sample(text, 'idp_scim_requests_total', { method: 'POST', resource: 'Users', status: '201' })]).toEqual([
      n,
      served,
    ]);
    expect(sample(text, 'idp_executor_queue_depth')).toBe(0);
  }
  expect(allCalls.filter((x) => !x.userAgent?.startsWith('idp-user-group-sync/'))).toEqual([]);
});
