/**
 * Soak: MINUTES of mixed SCIM traffic at a steady RATE requests/s — user creations, user PATCHes,
 * group membership changes and reads — against the compiled server in its own process, with the
 * runs they start applying against a fake Jira held to Jira's burst limits (JIRA_RATE calls/s per
 * endpoint and method). Every 10 s it samples the server's RSS and open file descriptors and keeps
 * each SCIM answer's latency; at the end it waits for Jira to match the IdP and checks it exactly.
 *
 * Floors (exit 1 when broken), after WARMUP minutes: RSS and open descriptors flat (the last
 * quarter's mean within 15% + 16 MB and 16 descriptors of the first quarter's), p99 latency stable
 * (the last quarter's within 2× + 20 ms of the first's), no 5xx, and every change in Jira.
 * Usage: npm run bench:soak [-- --minutes 20 --rate 20 --jira-rate 100 --warmup 3]
 */
import fs from 'node:fs';
import request from 'supertest';
import { jwtHeader } from '../../test/support/app';
import {
  installWithSiteToken,
  machine,
  numberArg,
  procStatusKb,
  runBenchmark,
  scimConnection,
  startBenchWorld,
} from '../support';

const MINUTES = numberArg('minutes', 20);
const RATE = numberArg('rate', 20);
const JIRA_RATE = numberArg('jira-rate', 100);
const WARMUP = numberArg('warmup', 3);
const GROUPS = 20;
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

type Kind = 'create' | 'patchUser' | 'member' | 'read';
interface Sample {
  atS: number;
  rssMb: number;
  fds: number;
}

const percentile = (xs: number[], p: number) => {
  if (!xs.length) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

async function main(): Promise<void> {
  const world = await startBenchWorld({ SYNC_POLL_MS: '200', SYNC_DEBOUNCE_MS: '1000' });
  const { base, jira, server } = world;
  const admin = () => jwtHeader(jira.contextJwt(jira.admin.accountId));
  try {
    await installWithSiteToken(world);
    jira.setRateLimit(JIRA_RATE);
    const conn = await scimConnection(world, 'Soak');
    const scimBase: string = conn.scim.baseUrl;
    const auth = { Authorization: `Bearer ${conn.scim.token}`, 'Content-Type': 'application/scim+json' };
    const call = async (method: string, path: string, body?: unknown) => {
      const t0 = performance.now();
      const res = await fetch(scimBase + path, {
        method,
        headers: auth,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const json = res.status === 204 ? undefined : await res.json();
      return { status: res.status, body: json, ms: performance.now() - t0 };
    };

    // The IdP's state, as the soak changes it: users by id (email), group members by group id.
    const users: Array<{ id: string; email: string }> = [];
    const groups: Array<{ id: string; name: string; members: Set<string> }> = [];
    for (let g = 0; g < GROUPS; g++) {
      const name = `soak-team-${g}`;
      const res = await call('POST', '/Groups', { displayName: name });
      if (res.status !== 201) throw new Error(`group ${name}: ${res.status}`);
      groups.push({ id: res.body.id, name, members: new Set() });
    }

    const latencies: Array<{ atS: number; kind: Kind; ms: number }> = [];
    const statuses: Record<string, number> = {};
    const samples: Sample[] = [];
    const started = performance.now();
    const elapsedS = () => (performance.now() - started) / 1000;
    const sampler = setInterval(() => {
      samples.push({
        atS: round(elapsedS(), 0),
        rssMb: round(procStatusKb(server.pid!, 'VmRSS') / 1024),
        fds: fs.readdirSync(`/proc/${server.pid}/fd`).length,
      });
    }, 10_000);
    let seq = 0;
    let random = 42;
    const next = () => (random = (random * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;

    const one = async (): Promise<void> => {
      const r = next();
      let kind: Kind;
      let res: { status: number; ms: number; body?: { id?: string } };
      if (r < 0.25 || users.length < 5) {
        kind = 'create';
        const email = `soak-${seq++}@soak.example`;
        res = await call('POST', '/Users', { userName: email, emails: [{ value: email, primary: true }] });
        if (res.status === 201) users.push({ id: res.body!.id!, email });
      } else if (r < 0.45) {
        kind = 'patchUser';
        const u = users[Math.floor(next() * users.length)];
        res = await call('PATCH', `/Users/${u.id}`, {
          schemas: [PATCH_OP],
          Operations: [{ op: 'replace', path: 'displayName', value: `Soak ${seq++}` }],
        });
      } else if (r < 0.75) {
        kind = 'member';
        const g = groups[Math.floor(next() * groups.length)];
        const u = users[Math.floor(next() * users.length)];
        const remove = g.members.has(u.id);
        res = await call('PATCH', `/Groups/${g.id}`, {
          schemas: [PATCH_OP],
          Operations: [
            remove
              ? { op: 'remove', path: `members[value eq "${u.id}"]` }
              : { op: 'add', path: 'members', value: [{ value: u.id }] },
          ],
        });
        if (res.status < 300) {
          if (remove) g.members.delete(u.id);
          else g.members.add(u.id);
        }
      } else {
        kind = 'read';
        res =
          next() < 0.5
            ? await call('GET', `/Users/${users[Math.floor(next() * users.length)].id}`)
            : await call('GET', `/Users?filter=${encodeURIComponent('userName sw "soak-1"')}&count=50`);
      }
      latencies.push({ atS: elapsedS(), kind, ms: res.ms });
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
    };

    // Steady rate: one request every 1/RATE s (a request that is slow does not hold the next back).
    const inFlight = new Set<Promise<void>>();
    const end = MINUTES * 60;
    for (let i = 0; elapsedS() < end; i++) {
      const p: Promise<void> = one().finally(() => inFlight.delete(p));
      inFlight.add(p);
      const due = (i + 1) / RATE;
      const wait = due - elapsedS();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait * 1000));
      if (i % (RATE * 60) === 0 && i > 0) console.log(`minute ${Math.round(elapsedS() / 60)}: ${users.length} users`);
    }
    await Promise.all(inFlight);
    clearInterval(sampler);
    const loadS = elapsedS();

    // Every change reaches Jira: each user one account, each group exactly its IdP members.
    const settleStart = performance.now();
    const mismatches = () => {
      const out: string[] = [];
      const accountOf = new Map<string, string>();
      for (const u of jira.state.users.values()) accountOf.set(u.emailAddress, u.accountId);
      for (const u of users) {
        const n = [...jira.state.users.values()].filter((x) => x.emailAddress === u.email).length;
        if (n !== 1) out.push(`${u.email}: ${n} accounts`);
      }
      const emailOf = new Map(users.map((u) => [u.id, u.email]));
      for (const g of groups) {
        const want = [...g.members].map((id) => accountOf.get(emailOf.get(id)!)).sort();
        const have = jira.state
          .groupMembers(g.name)
          .map((m) => m.accountId)
          .sort();
        if (JSON.stringify(want) !== JSON.stringify(have))
          out.push(`${g.name}: ${have.length} members, want ${want.length}`);
      }
      return out;
    };
    let left = mismatches();
    while (left.length && performance.now() - settleStart < 600_000) {
      await new Promise((r) => setTimeout(r, 2000));
      left = mismatches();
    }
    const settleS = (performance.now() - settleStart) / 1000;

    // Per minute: requests, p50/p99, RSS and descriptors.
    const perMinute = Array.from({ length: Math.floor(loadS / 60) }, (_, m) => {
      const l = latencies.filter((x) => x.atS >= m * 60 && x.atS < (m + 1) * 60).map((x) => x.ms);
      const s = samples.filter((x) => x.atS >= m * 60 && x.atS < (m + 1) * 60);
      return {
        minute: m + 1,
        requests: l.length,
        p50Ms: round(percentile(l, 50)),
        p99Ms: round(percentile(l, 99)),
        rssMb: round(mean(s.map((x) => x.rssMb))),
        fds: Math.round(mean(s.map((x) => x.fds))),
      };
    });
    const steady = perMinute.filter((m) => m.minute > WARMUP);
    const quarter = Math.max(1, Math.floor(steady.length / 4));
    const first = steady.slice(0, quarter);
    const last = steady.slice(-quarter);
    const p99Of = (ms: typeof steady) =>
      percentile(
        latencies.filter((x) => ms.some((m) => x.atS >= (m.minute - 1) * 60 && x.atS < m.minute * 60)).map((x) => x.ms),
        99,
      );
    const figures = {
      rssMb: { first: round(mean(first.map((m) => m.rssMb))), last: round(mean(last.map((m) => m.rssMb))) },
      fds: { first: Math.round(mean(first.map((m) => m.fds))), last: Math.round(mean(last.map((m) => m.fds))) },
      p99Ms: { first: round(p99Of(first)), last: round(p99Of(last)) },
    };
    const floors = {
      rssFlat: figures.rssMb.last <= figures.rssMb.first * 1.15 + 16,
      fdsFlat: figures.fds.last <= figures.fds.first + 16,
      p99Stable: figures.p99Ms.last <= figures.p99Ms.first * 2 + 20,
      no5xx: !Object.keys(statuses).some((s) => Number(s) >= 500),
      everyChangeInJira: left.length === 0,
    };
    const jiraCalls = jira.calls.length;
    const callsByEndpoint: Record<string, number> = {};
    for (const c of jira.calls)
      callsByEndpoint[`${c.method} ${c.path}`] = (callsByEndpoint[`${c.method} ${c.path}`] ?? 0) + 1;
    const throttled = jira.calls.filter((c) => c.status === 429).length;
    const [lastRun] = (await request(base).get(`/api/v1/connections/${conn.id}/runs`).set(admin())).body.runs;
    console.log(
      JSON.stringify(
        {
          machine: machine(),
          minutes: MINUTES,
          rate: RATE,
          jiraRatePerEndpoint: JIRA_RATE,
          requests: latencies.length,
          statuses,
          byKind: Object.fromEntries(
            (['create', 'patchUser', 'member', 'read'] as Kind[]).map((k) => {
              const l = latencies.filter((x) => x.kind === k).map((x) => x.ms);
              return [k, { n: l.length, p50Ms: round(percentile(l, 50)), p99Ms: round(percentile(l, 99)) }];
            }),
          ),
          users: users.length,
          memberships: groups.reduce((n, g) => n + g.members.size, 0),
          jiraCalls,
          jiraThrottled429: throttled,
          jiraCallsByEndpoint: Object.fromEntries(Object.entries(callsByEndpoint).sort((a, b) => b[1] - a[1])),
          runs: (await request(base).get(`/api/v1/connections/${conn.id}/runs`).set(admin())).body.runs.length,
          lastRunStatus: lastRun?.status,
          settleSeconds: round(settleS),
          mismatches: left.slice(0, 10),
          figures,
          floors,
          perMinute,
        },
        null,
        2,
      ),
    );
    if (!Object.values(floors).every(Boolean)) process.exitCode = 1;
  } finally {
    await world.stop();
  }
}

runBenchmark(main);
