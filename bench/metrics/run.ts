/**
 * What /metrics costs SCIM, measured on two servers side by side — the same build, the same
 * database and connection, one with METRICS=off and one with METRICS=on — loaded **at the same
 * time**, so whatever else the machine does falls on both alike:
 * - CPU per request: each server process's CPU time (utime + stime from /proc) over a segment at a
 *   fixed rate (each server its own `--rate`, well below saturation), divided by the requests it
 *   answered: the cost itself, without the load generator's competition deciding the figure;
 * - throughput at saturation: both driven as hard as they go at once, sharing the cores: the one
 *   that spends more per request answers fewer.
 * Each figure is the mean of the rounds with a 95 % interval of the paired difference; the exit
 * code says whether the CPU per request costs under 3 % at 95 % (issue 30's target).
 * Usage: npm run bench:metrics [-- --users 20000 --rounds 20 --duration 8 --rate 600 --connections 10 --warmup 90]
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import type autocannon from 'autocannon';
import type { Response } from 'express';
import { countAnswer, httpMetrics } from '../../src/http/metrics';
import { Client } from 'pg';
import {
  installWithSiteToken,
  loadTest,
  machine,
  numberArg,
  runBenchmark,
  scimConnection,
  seedDirectory,
  startBenchWorld,
  startServer,
} from '../support';

const USERS = numberArg('users', 20_000);
const ROUNDS = numberArg('rounds', 20);
const DURATION = numberArg('duration', 8);
const RATE = numberArg('rate', 600);
const CONNECTIONS = numberArg('connections', 10);
const WARMUP = numberArg('warmup', 90);
const TARGET = 3; // % of SCIM throughput (issue 30)

/** CPU seconds the process has used (user + system), from /proc/<pid>/stat. */
function cpuSeconds(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime: clock ticks (USER_HZ = 100)
}

interface Sample {
  cpuUsPerRequest: number;
  saturatedRps: number;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** The mean and a 95 % interval (Student's t) of a list. */
function interval(xs: number[]): { mean: number; half: number } {
  const m = mean(xs);
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, xs.length - 1));
  const t = [12.71, 4.3, 3.18, 2.78, 2.57, 2.45, 2.36, 2.31, 2.26, 2.23][Math.min(9, xs.length - 2)] ?? 2;
  return { mean: m, half: (t * sd) / Math.sqrt(xs.length) };
}

async function main(): Promise<void> {
  const secret = crypto.randomBytes(32).toString('hex');
  const world = await startBenchWorld({ METRICS: 'off', APP_SECRET_KEY: secret, SCHEDULER_ENABLED: 'false' });
  let on: { base: string; server: ChildProcess } | undefined;
  let off: typeof on;
  try {
    await installWithSiteToken(world);
    const conn = await scimConnection(world, 'Bench');
    const client = new Client({ connectionString: world.dbUrl });
    await client.connect();
    await seedDirectory((t, p) => client.query(t, p), conn.id, USERS, 50);
    await client.query('VACUUM ANALYZE'); // hint bits and the visibility map set now, not during the first rounds
    await client.end();
    // Both measured servers start alike, after the set-up (the world's own server did the install).
    const start = (metrics: 'on' | 'off') =>
      startServer(world.dbUrl, world.keys, world.jira, {
        METRICS: metrics,
        METRICS_TOKEN: crypto.randomBytes(16).toString('hex'),
        APP_SECRET_KEY: secret,
        SCHEDULER_ENABLED: 'false',
      });
    off = await start('off');
    on = await start('on');
    const servers = { off, on };
    const scimPath = new URL(conn.scim.baseUrl).pathname;
    const headers = { Authorization: `Bearer ${conn.scim.token}`, 'Content-Type': 'application/scim+json' };
    const paths = Array.from(
      { length: 10_000 },
      () =>
        `${scimPath}/Users?filter=${encodeURIComponent(`userName eq "user${Math.floor(Math.random() * USERS)}@bench.example"`)}`,
    );
    let k = 0;
    const requests: autocannon.Request[] = [
      { method: 'GET', setupRequest: (req: autocannon.Request) => ({ ...req, path: paths[k++ % paths.length] }) },
    ];
    // Both servers take the same load at the same time, so whatever else the machine does (Postgres,
    // the load generator, the other server) falls on both alike.
    const both = async (
      opts: Partial<autocannon.Options>,
    ): Promise<Record<'off' | 'on', { cpu: number; r: autocannon.Result }>> => {
      const order = ['off', 'on'] as const;
      const before = Object.fromEntries(order.map((w) => [w, cpuSeconds(servers[w].server.pid!)]));
      const results = await Promise.all(
        order.map((w) =>
          loadTest({ url: servers[w].base, connections: CONNECTIONS, duration: DURATION, headers, requests, ...opts }),
        ),
      );
      const out = {} as Record<'off' | 'on', { cpu: number; r: autocannon.Result }>;
      order.forEach((w, i) => {
        const r = results[i];
        if (r.non2xx || r.errors) throw new Error(`${w}: ${r.non2xx} non-2xx, ${r.errors} errors`);
        out[w] = { cpu: cpuSeconds(servers[w].server.pid!) - before[w], r };
      });
      return out;
    };
    // Warm both (JIT, each pooled connection's prepared statements, Postgres' caches): the first
    // minute of load runs slower and unevenly on both.
    await both({ duration: WARMUP });
    const samples: Record<'off' | 'on', Sample[]> = { off: [], on: [] };
    for (let r = 0; r < ROUNDS; r++) {
      const paced = await both({ overallRate: RATE });
      const saturated = await both({});
      for (const w of ['off', 'on'] as const)
        samples[w].push({
          cpuUsPerRequest: (paced[w].cpu * 1e6) / paced[w].r['2xx'],
          saturatedRps: saturated[w].r.requests.average,
        });
      const [off, onS] = [samples.off[r], samples.on[r]];
      console.log(
        `round ${r + 1}: CPU/request off ${off.cpuUsPerRequest.toFixed(0)} µs, on ${onS.cpuUsPerRequest.toFixed(0)} µs; saturated (both at once) off ${off.saturatedRps.toFixed(0)}, on ${onS.saturatedRps.toFixed(0)} req/s`,
      );
    }
    // The per-answer work itself, timed alone: stamping the start and counting the answer into its
    // route's series (what METRICS=on adds to a request), against the CPU a SCIM GET takes.
    const perAnswerNs = timePerAnswer();
    const cpuDiff = interval(
      samples.on.map(
        (s, i) => (100 * (s.cpuUsPerRequest - samples.off[i].cpuUsPerRequest)) / samples.off[i].cpuUsPerRequest,
      ),
    );
    const rpsDiff = interval(
      samples.on.map((s, i) => (100 * (samples.off[i].saturatedRps - s.saturatedRps)) / samples.off[i].saturatedRps),
    );
    const result = {
      machine: machine(),
      users: USERS,
      rounds: ROUNDS,
      rate: RATE,
      cpuUsPerRequest: {
        off: Math.round(mean(samples.off.map((s) => s.cpuUsPerRequest))),
        on: Math.round(mean(samples.on.map((s) => s.cpuUsPerRequest))),
      },
      cpuCostPercent: `${cpuDiff.mean.toFixed(1)} ± ${cpuDiff.half.toFixed(1)}`,
      saturatedRps: {
        off: Math.round(mean(samples.off.map((s) => s.saturatedRps))),
        on: Math.round(mean(samples.on.map((s) => s.saturatedRps))),
      },
      throughputCostPercent: `${rpsDiff.mean.toFixed(1)} ± ${rpsDiff.half.toFixed(1)}`,
      perAnswerNs: Math.round(perAnswerNs),
      perAnswerShareOfGetPercent: (
        (100 * perAnswerNs) /
        1000 /
        mean(samples.off.map((s) => s.cpuUsPerRequest))
      ).toFixed(2),
    };
    console.log(JSON.stringify(result, null, 2));
    // The verdict is on CPU per request: where the server is CPU-bound (SCIM at saturation is) it is
    // what throughput costs, and it is measured to ±2 % here, where throughput with both saturated
    // on two cores shared with the load generator moves ±5 % round to round.
    const worst = cpuDiff.mean + cpuDiff.half;
    console.log(
      `CPU per request ${cpuDiff.mean.toFixed(1)} % (at most ${worst.toFixed(1)} % at 95 %)` +
        (worst < TARGET ? `: under the ${TARGET} % target` : `: NOT shown under ${TARGET} %`) +
        `; throughput with both saturated ${rpsDiff.mean.toFixed(1)} ± ${rpsDiff.half.toFixed(1)} %`,
    );
    process.exitCode = worst < TARGET ? 0 : 1;
  } finally {
    on?.server.kill('SIGTERM');
    off?.server.kill('SIGTERM');
    await world.stop();
  }
}

/** Nanoseconds of METRICS=on's work per answer: the start stamped, the answer counted (route, status, SCIM provider). */
function timePerAnswer(): number {
  const route = { path: '/Users' };
  const req = { method: 'GET', route, originalUrl: '/scim/v2/0b4c8e61-3a57-4b8e-9a0e-3b1f5a0d2c11/Users?filter=x' };
  const res = { req, statusCode: 200, locals: { connection: { provider: 'entra' } } } as unknown as Response;
  const middleware = httpMetrics();
  const next = () => undefined;
  const round = (n: number) => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      middleware(req as never, res, next);
      countAnswer(res, performance.now());
    }
    return Number(process.hrtime.bigint() - t0) / n;
  };
  round(200_000); // warm
  const runs = [round(1_000_000), round(1_000_000), round(1_000_000)];
  return runs.sort((a, b) => a - b)[1];
}

runBenchmark(main);
