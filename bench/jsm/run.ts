/**
 * JSM Customer Sync benchmark: CUSTOMERS IdP users (each in up to three of three groups) in a
 * customers connection, synchronized from empty into the fake Jira's service desks by the compiled
 * server: portal access to desk 1 for everyone, desk 2 for team-0, desk 3 for team-1. Counts every
 * Jira call the run makes against the floor: customers created + the batch calls needed (one per
 * desk per 50 accounts), and checks that every desk ends with exactly the right customers.
 * Usage: npm run bench:jsm [-- --customers 1000 --rate 100]
 */
import { Client } from 'pg';
import request from 'supertest';
import { jwtHeader } from '../../test/support/app';
import { installWithSiteToken, machine, numberArg, runBenchmark, seedDirectory, startBenchWorld } from '../support';

const CUSTOMERS = numberArg('customers', 1_000);
const RATE = numberArg('rate', 100);
const BATCH = 50;

async function main(): Promise<void> {
  const world = await startBenchWorld({ SYNC_POLL_MS: '200', SCHEDULER_ENABLED: 'false' });
  const { base, jira } = world;
  const admin = () => jwtHeader(jira.contextJwt(jira.admin.accountId));
  const db = new Client({ connectionString: world.dbUrl });
  await db.connect();
  try {
    await installWithSiteToken(world);
    for (const [id, key] of [
      ['1', 'HELP'],
      ['2', 'IT'],
      ['3', 'HR'],
    ])
      jira.state.addServiceDesk(id, key, key);
    const conn = (
      await request(base)
        .post('/api/v1/connections')
        .set(admin())
        .send({ name: 'Bench customers', kind: 'scim', provider: 'generic', target: 'customers' })
        .expect(201)
    ).body;
    await request(base)
      .put(`/api/v1/connections/${conn.id}/rules`)
      .set(admin())
      .send({
        customers: {
          serviceDesksForAll: ['1'],
          groups: [
            { idpGroup: 'team-0', serviceDesks: ['2'] },
            { idpGroup: 'team-1', serviceDesks: ['3'] },
          ],
        },
      })
      .expect(200);
    await seedDirectory((text, params) => db.query(text, params), conn.id, CUSTOMERS, 3);
    const inGroup = async (name: string) =>
      (
        await db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM directory_memberships m JOIN directory_groups g ON g.connection_id = m.connection_id AND g.id = m.group_id
           WHERE m.connection_id = $1 AND g.display_name = $2`,
          [conn.id, name],
        )
      ).rows[0].n;
    const want = { '1': CUSTOMERS, '2': await inGroup('team-0'), '3': await inGroup('team-1') };
    console.log(`seeded ${CUSTOMERS} users; desk 1: all, desk 2: ${want['2']} (team-0), desk 3: ${want['3']} (team-1)`);
    jira.setRateLimit(RATE);

    const from = jira.calls.length;
    const t0 = Date.now();
    const started = await request(base).post(`/api/v1/connections/${conn.id}/sync`).set(admin()).send({});
    if (started.status !== 202)
      throw new Error(`sync did not start: ${started.status} ${JSON.stringify(started.body)}`);
    let run = started.body;
    for (;;) {
      await new Promise((r) => setTimeout(r, 500));
      run = (await request(base).get(`/api/v1/runs/${run.id}?limit=0`).set(admin())).body;
      if (run.status !== 'running') break;
      process.stdout.write(`\r${run.progress.done}/${run.progress.total} operations   `);
    }
    console.log('');
    const seconds = (Date.now() - t0) / 1000;
    // The run's calls (the admin page's own permission checks are not the sync's).
    const calls = jira.calls.slice(from).filter((c) => c.path !== '/rest/api/3/permissions/check');
    const accepted = calls.filter((c) => c.status !== 429);
    const count = (method: string, re: RegExp) => accepted.filter((c) => c.method === method && re.test(c.path)).length;
    const created = count('POST', /^\/rest\/servicedeskapi\/customer$/);
    const grants = count('POST', /^\/rest\/servicedeskapi\/servicedesk\/\d+\/customer$/);
    const batchesNeeded = Object.values(want).reduce((n, k) => n + Math.ceil(k / BATCH), 0);
    const floor = CUSTOMERS + batchesNeeded;
    const onDesk = Object.fromEntries(
      Object.keys(want).map((id) => [id, jira.state.serviceDesks.get(id)!.customers.size]),
    );
    const exact = Object.entries(want).every(([id, n]) => onDesk[id] === n);
    const result = {
      machine: machine(),
      customers: CUSTOMERS,
      rate: RATE,
      status: run.status,
      seconds: Math.round(seconds * 10) / 10,
      counts: run.counts,
      calls: {
        total: accepted.length,
        customersCreated: created,
        grantCalls: grants,
        other: accepted.length - created - grants,
        rejected429: calls.length - accepted.length,
      },
      floor: { customersCreated: CUSTOMERS, batchCallsNeeded: batchesNeeded, total: floor },
      callsPerCustomer: Math.round((accepted.length / CUSTOMERS) * 1000) / 1000,
      ratioToFloor: Math.round((accepted.length / floor) * 1000) / 1000,
      onDesk,
      expected: want,
    };
    console.log(JSON.stringify(result, null, 2));
    const ok = run.status === 'succeeded' && exact && created === CUSTOMERS && accepted.length <= floor;
    console.log(`floor (calls ≤ customers created + batch calls needed, every desk exact): ${ok ? 'MET' : 'NOT MET'}`);
    process.exitCode = ok ? 0 : 1;
  } finally {
    await db.end();
    await world.stop();
  }
}

runBenchmark(main);
