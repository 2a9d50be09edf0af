/**
 * Sync benchmark: USERS users and GROUPS groups (each user in up to 3 groups) pushed into the directory,
 * synchronized into an empty fake Jira that allows RATE requests/s per endpoint and method (Jira's burst
 * limits; 429 + Retry-After beyond), by
 * the compiled server in its own process. Then a second run with no IdP change, then two SCIM
 * changes (a membership added; a user attribute nothing maps) and the Jira calls each run made.
 * Prints each endpoint's accepted rate while it had work.
 * Usage: npm run bench:sync [-- --users 10000 --groups 500 --rate 100]
 */
import { Client } from 'pg';
import request from 'supertest';
import { jwtHeader } from '../../test/support/app';
import type { CallRecord } from '../../test/support/fakeJira';
import {
  installWithSiteToken,
  machine,
  numberArg,
  procStatusKb,
  runBenchmark,
  scimConnection,
  seedDirectory,
  startBenchWorld,
} from '../support';

const USERS = numberArg('users', 10_000);
const GROUPS = numberArg('groups', 500);
const RATE = numberArg('rate', 100);

async function seed(url: string, connectionId: string): Promise<number> {
  const c = new Client({ connectionString: url });
  await c.connect();
  await seedDirectory((text, params) => c.query(text, params), connectionId, USERS, GROUPS);
  const { rows } = await c.query('SELECT count(*)::int AS n FROM directory_memberships WHERE connection_id = $1', [
    connectionId,
  ]);
  console.log(`seeded ${USERS} users, ${GROUPS} groups, ${rows[0].n} memberships`);
  await c.end();
  return rows[0].n as number;
}

const isWrite = (c: CallRecord) =>
  c.method !== 'GET' && c.path !== '/rest/api/3/permissions/check' && c.path !== '/installed';
const ok = (c: CallRecord) => typeof c.status === 'number' && c.status >= 200 && c.status < 300;

/**
 * SCIM `GET /Users?count=1` one after another, from now until stop(): how long each took (what an
 * IdP's call waits while the server works, its event loop included).
 */
function scimProbe(base: string, scim: { baseUrl: string; token: string }) {
  const latencies: number[] = [];
  let going = true;
  const loop = (async () => {
    while (going) {
      const t = performance.now();
      await request(base)
        .get(`${new URL(scim.baseUrl).pathname}/Users?count=1`)
        .set('Authorization', `Bearer ${scim.token}`)
        .expect(200);
      latencies.push(performance.now() - t);
    }
  })();
  return {
    async stop() {
      going = false;
      await loop;
      const sorted = [...latencies].sort((a, b) => a - b);
      const at = (p: number) =>
        Math.round(sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0);
      return { calls: sorted.length, p50Ms: at(50), p99Ms: at(99), maxMs: Math.round(sorted[sorted.length - 1] ?? 0) };
    },
  };
}

async function main(): Promise<void> {
  const world = await startBenchWorld({ SYNC_POLL_MS: '200' });
  const { base, jira, server } = world;
  const admin = () => jwtHeader(jira.contextJwt(jira.admin.accountId));
  try {
    await installWithSiteToken(world);
    const conn = await scimConnection(world, 'Bench');
    const memberships = await seed(world.dbUrl, conn.id);
    jira.setRateLimit(RATE);

    // One SCIM call first: the first of a process looks the token up and prepares its statements,
    // which is not what an IdP waits while a plan runs (it has called before).
    await request(base)
      .get(`${new URL(conn.scim.baseUrl).pathname}/Users?count=1`)
      .set('Authorization', `Bearer ${conn.scim.token}`)
      .expect(200);

    const runOnce = async (label: string) => {
      const from = jira.calls.length;
      const t0 = Date.now();
      // SCIM calls answered while the server plans (a manual run is planned before its 202).
      const probe = scimProbe(base, conn.scim);
      const started = await request(base).post(`/api/v1/connections/${conn.id}/sync`).set(admin()).send({});
      const scimWhilePlanning = await probe.stop();
      if (started.status !== 202)
        throw new Error(`sync did not start: ${started.status} ${JSON.stringify(started.body)}`);
      let run = started.body;
      let peak = 0;
      for (;;) {
        await new Promise((r) => setTimeout(r, 2000));
        peak = Math.max(peak, procStatusKb(server.pid!, 'VmRSS'));
        const res = await request(base).get(`/api/v1/runs/${run.id}?limit=0`).set(admin());
        run = res.body;
        if (run.status !== 'running') break;
        process.stdout.write(
          `\r${label}: ${run.progress.done}/${run.progress.total} operations, ${((Date.now() - t0) / 1000).toFixed(0)} s   `,
        );
      }
      const seconds = (Date.now() - t0) / 1000;
      const calls = jira.calls.slice(from);
      const accepted = calls.filter((c) => c.status !== 429);
      const span = calls.length ? (calls[calls.length - 1].at - calls[0].at) / 1000 : 0;
      // The middle 80% of the run: the pace once start-up (the first 429's pause) and the tail are past.
      const t0c = calls[0]?.at ?? 0;
      const inMiddle = accepted.filter((c) => c.at >= t0c + span * 100 && c.at <= t0c + span * 900);
      const steady = span ? Math.round((inMiddle.length / (span * 0.8)) * 10) / 10 : 0;
      console.log('');
      if (process.argv.includes('--timeline')) {
        // Per second: calls Jira accepted, 429s, and calls in the users / membership phases.
        const secs = new Map<number, { ok: number; r429: number }>();
        for (const c of calls) {
          const s = Math.floor((c.at - t0c) / 1000);
          const e = secs.get(s) ?? { ok: 0, r429: 0 };
          if (c.status === 429) e.r429++;
          else e.ok++;
          secs.set(s, e);
        }
        console.log([...secs.entries()].map(([s, e]) => `${s}:${e.ok}/${e.r429}`).join(' '));
      }
      // Per endpoint and method (Jira's burst limits are per endpoint): the rate Jira accepted while it had work.
      const endpoints: Record<
        string,
        { calls: number; rejected429: number; acceptedPerSecond: number; share: number }
      > = {};
      const byEndpoint = new Map<string, CallRecord[]>();
      for (const c of calls) {
        const k = `${c.method} ${c.path.replace(/\/properties\/[^/]+$/, '/properties/{key}')}`;
        byEndpoint.set(k, [...(byEndpoint.get(k) ?? []), c]);
      }
      for (const [k, list] of byEndpoint) {
        const ok = list.filter((c) => c.status !== 429);
        const spanS = (list[list.length - 1].at - list[0].at) / 1000;
        const perSecond = spanS > 0 ? Math.round((ok.length / spanS) * 10) / 10 : 0;
        endpoints[k] = {
          calls: list.length,
          rejected429: list.length - ok.length,
          acceptedPerSecond: perSecond,
          share: Math.round((perSecond / RATE) * 1000) / 10,
        };
      }
      return {
        status: run.status,
        seconds: Math.round(seconds),
        planSeconds: Math.round((run.plan?.planMs ?? 0) / 10) / 100,
        // The server's event-loop delay while it planned (the run's plan.eventLoop), and SCIM meanwhile.
        planEventLoopMs: { p99: run.plan?.eventLoop?.p99Ms, max: run.plan?.eventLoop?.maxMs },
        scimWhilePlanning,
        endpoints,
        operations: run.progress.total,
        counts: run.counts,
        calls: calls.length,
        rejected429: calls.length - accepted.length,
        reads: calls.filter((c) => !isWrite(c)).length,
        writesTakingEffect: calls.filter((c) => isWrite(c) && ok(c)).length,
        acceptedPerSecond: span ? Math.round((accepted.length / span) * 10) / 10 : 0,
        steadyAcceptedPerSecond: steady,
        peakRssMb: Math.round(Math.max(peak, procStatusKb(server.pid!, 'VmHWM')) / 1024),
      };
    };

    const first = await runOnce('first run');
    const second = await runOnce('second run (no IdP change)');

    // SCIM changes after that: runs planned from the changes and the Jira state the app knows.
    const scimPatch = (path: string, body: object) =>
      request(base)
        .patch(`${new URL(conn.scim.baseUrl).pathname}${path}`)
        .set('Authorization', `Bearer ${conn.scim.token}`)
        .set('Content-Type', 'application/scim+json')
        .send(JSON.stringify(body));
    const db = new Client({ connectionString: world.dbUrl });
    await db.connect();
    const { rows: pick } = await db.query(
      `SELECT g.id AS group_id, u.id AS user_id FROM directory_groups g, directory_users u
       WHERE g.connection_id = $1 AND u.connection_id = $1 AND g.display_name = 'team-0'
         AND NOT EXISTS (SELECT 1 FROM directory_memberships m WHERE m.group_id = g.id AND m.user_id = u.id)
       LIMIT 1`,
      [conn.id],
    );
    await db.end();
    const scimRun = async (label: string, change: () => Promise<unknown>) => {
      const before = (await request(base).get(`/api/v1/connections/${conn.id}/runs`).set(admin())).body.runs[0]?.id;
      const from = jira.calls.length;
      const t0 = Date.now();
      await change();
      for (;;) {
        await new Promise((r) => setTimeout(r, 100));
        const [run] = (await request(base).get(`/api/v1/connections/${conn.id}/runs`).set(admin())).body.runs;
        if (run && run.id !== before && run.status !== 'running') {
          const calls = jira.calls.slice(from).filter((c) => c.path !== '/rest/api/3/permissions/check');
          console.log(`${label}: ${calls.length} Jira call(s) ${calls.map((c) => `${c.method} ${c.path}`).join(', ')}`);
          return {
            status: run.status,
            operations: run.progress.total,
            jiraCalls: calls.length,
            // from the SCIM call to the run's end: the debounce (SYNC_DEBOUNCE_MS), planning and applying
            secondsToApplied: Math.round((Date.parse(run.finishedAt) - t0) / 100) / 10,
            runMs: Date.parse(run.finishedAt) - Date.parse(run.startedAt),
          };
        }
      }
    };
    const oneMembership = await scimRun('one SCIM membership change', () =>
      scimPatch(`/Groups/${pick[0].group_id}`, {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
        Operations: [{ op: 'add', path: 'members', value: [{ value: pick[0].user_id }] }],
      }).expect(204),
    );
    const nothing = await scimRun('a SCIM change that changes nothing in Jira', () =>
      scimPatch(`/Users/${pick[0].user_id}`, {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
        Operations: [{ op: 'replace', path: 'nickName', value: 'Bench nickname' }],
      }).expect((r) => {
        if (r.status !== 200 && r.status !== 204) throw new Error(`PATCH /Users answered ${r.status}`);
      }),
    );
    const needed = USERS + GROUPS + memberships;
    const result = {
      machine: machine(),
      users: USERS,
      groups: GROUPS,
      memberships,
      rateLimit: RATE,
      neededChanges: needed,
      first: {
        ...first,
        callsPerChange: Math.round((first.calls / needed) * 100) / 100,
        rateShare: Math.round((first.acceptedPerSecond / RATE) * 1000) / 10,
      },
      second,
      oneMembershipChange: oneMembership,
      changeThatChangesNothing: nothing,
    };
    console.log(JSON.stringify(result, null, 2));
    // Endpoints with work enough to meet their limit (a few hundred calls at least) run at ≥ 90% of it.
    const busy = Object.entries(first.endpoints).filter(([, e]) => e.calls >= 5 * RATE);
    const endpointsOk = busy.length > 0 && busy.every(([, e]) => e.share >= 90);
    const okAll =
      first.status === 'succeeded' &&
      first.writesTakingEffect === needed &&
      first.counts.failed === 0 &&
      endpointsOk &&
      result.first.callsPerChange <= 1.05 &&
      second.writesTakingEffect === 0 &&
      oneMembership.status === 'succeeded' &&
      oneMembership.jiraCalls <= 2 &&
      nothing.jiraCalls === 0;
    console.log(
      `floors (writes = changes, each busy endpoint ≥ 90% of its limit, ≤ 1.05 calls per change, no failed operations, second run writes nothing, one membership change ≤ 2 Jira calls, a change that changes nothing 0): ${okAll ? 'MET' : 'NOT MET'}`,
    );
    process.exitCode = okAll ? 0 : 1;
  } finally {
    await world.stop();
  }
}

runBenchmark(main);
