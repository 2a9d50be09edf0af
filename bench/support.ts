import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import request from 'supertest';
import { jwtHeader } from '../test/support/app';
import { FakeJira } from '../test/support/fakeJira';
import { KeyServer } from '../test/support/keyServer';
import { freePort } from '../test/support/net';
import { adminQuery, buildTemplate, startTestPostgres, TEMPLATE_DB, withDatabase } from '../test/support/postgres';

const ROOT = path.join(__dirname, '..');

/**
 * `node dist/src/server.js` in production mode against the database and fakes (`env` over the
 * defaults), waited for until /healthz answers. Built beforehand (startBenchWorld builds).
 */
export async function startServer(
  dbUrl: string,
  keys: KeyServer,
  jira: FakeJira,
  env: Record<string, string> = {},
): Promise<{ base: string; server: ChildProcess }> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const profile = [
    ...(process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : []),
    ...(process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
  ];
  const server = spawn(process.execPath, [...profile, path.join(ROOT, 'dist/src/server.js')], {
    env: {
      ...process.env,
      NODE_ENV: 'production',
      PORT: String(port),
      AC_LOCAL_BASE_URL: base,
      DATABASE_URL: dbUrl,
      APP_SECRET_KEY: crypto.randomBytes(32).toString('hex'),
      CONNECT_KEYS_CDN_URL: keys.url,
      AC_HOST_WHITELIST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      ATLASSIAN_API_URL: jira.url,
      OUTBOUND_ALLOW: '127.0.0.0/8,::1/128', // the fake Entra ID and OpenLDAP listen on loopback
      CONNECT_ONLY: 'true', // sites install through Connect here; a bench that needs Forge passes FORGE_APP_ID
      ...env,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  for (
    let i = 0;
    !(await fetch(`${base}/healthz`).then(
      (r) => r.ok,
      () => false,
    ));
    i++
  ) {
    if (i > 200 || server.exitCode !== null) throw new Error('the server did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  return { base, server };
}

/** A benchmark's world: Postgres with a migrated database, the fake Jira and key server, and the compiled server in its own process. */
export interface BenchWorld {
  base: string;
  dbUrl: string;
  jira: FakeJira;
  keys: KeyServer;
  server: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Builds the app, starts Postgres, the fakes and `node dist/src/server.js` (production mode,
 * `BENCH_PROFILE=<dir>` adds --cpu-prof, `BENCH_NODE_ARGS` more of node's options, such as
 * --trace-gc), and waits for /healthz.
 */
export async function startBenchWorld(env: Record<string, string> = {}): Promise<BenchWorld> {
  execFileSync(
    process.execPath,
    [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.build.json')],
    { stdio: 'inherit' },
  );
  const pg = await startTestPostgres();
  await buildTemplate(pg.adminUrl);
  await adminQuery(pg.adminUrl, `CREATE DATABASE bench TEMPLATE ${TEMPLATE_DB}`);
  const dbUrl = withDatabase(pg.adminUrl, 'bench');
  const keys = await new KeyServer().start();
  const jira = await new FakeJira().start();
  const { base, server } = await startServer(dbUrl, keys, jira, env);
  return {
    base,
    dbUrl,
    jira,
    keys,
    server,
    async stop() {
      server.kill('SIGTERM');
      await new Promise((r) => server.once('exit', r));
      await jira.stop();
      await keys.stop();
      await pg.stop();
    },
  };
}

/** A numeric command-line option (`--name 123`), or its default. */
export function numberArg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}

/** A kB figure of a process from /proc/<pid>/status (VmRSS now, VmHWM its peak); 0 once it is gone. */
export function procStatusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Runs a benchmark's main: its exit code says whether the floors were met; a crash is exit 2. */
export function runBenchmark(main: () => Promise<void>): void {
  main().catch((err: Error) => {
    console.error(err.stack ?? err.message);
    process.exit(2);
  });
}

/**
 * Writes a benchmark directory straight into Postgres: `users` users (`user<i>@bench.example`) and
 * `groups` groups (`team-<g>`), user i in groups i, i*7+3 and i*13+5 (mod groups). `query` is any
 * client's (pg's Client, the app's Sql).
 */
export async function seedDirectory(
  query: (text: string, params: unknown[]) => Promise<unknown>,
  connectionId: string,
  users: number,
  groups: number,
): Promise<void> {
  await query(
    `INSERT INTO directory_users (connection_id, id, user_name, email, display_name, active, resource)
    SELECT $1::uuid, gen_random_uuid(), 'user' || i || '@bench.example', 'user' || i || '@bench.example', 'User ' || i, true,
      jsonb_build_object('userName', 'user' || i || '@bench.example', 'displayName', 'User ' || i,
        'emails', jsonb_build_array(jsonb_build_object('value', 'user' || i || '@bench.example', 'primary', true)))
    FROM generate_series(0, $2::int - 1) i`,
    [connectionId, users],
  );
  await query(
    `INSERT INTO directory_groups (connection_id, id, display_name, resource)
    SELECT $1::uuid, gen_random_uuid(), 'team-' || g, jsonb_build_object('displayName', 'team-' || g) FROM generate_series(0, $2::int - 1) g`,
    [connectionId, groups],
  );
  const n = `split_part(split_part(u.user_name, '@', 1), 'user', 2)::int`;
  await query(
    `INSERT INTO directory_memberships (connection_id, group_id, user_id)
    SELECT DISTINCT $1::uuid, g.id, u.id FROM directory_users u
    CROSS JOIN LATERAL (VALUES (0), (1), (2)) k(n)
    JOIN directory_groups g ON g.connection_id = u.connection_id
      AND g.display_name = 'team-' || (CASE k.n WHEN 0 THEN ${n} WHEN 1 THEN ${n} * 7 + 3 ELSE ${n} * 13 + 5 END) % $2::int
    WHERE u.connection_id = $1::uuid`,
    [connectionId, groups],
  );
}

/** Installs the app on the world's fake Jira (or another site's) and stores the site admin's API token through the admin API. */
export async function installWithSiteToken(world: BenchWorld, jira = world.jira): Promise<void> {
  const { base, keys } = world;
  if ((await jira.install(base, keys)).status !== 204) throw new Error('install failed');
  await request(base)
    .put('/api/v1/site-credentials')
    .set(jwtHeader(jira.contextJwt(jira.admin.accountId)))
    .send({ email: jira.admin.emailAddress, apiToken: jira.adminToken })
    .expect(200);
}

/** Creates a SCIM connection (generic provider) with groups created on the fly; its JSON (id, scim.baseUrl, scim.token). */
export async function scimConnection(
  world: BenchWorld,
  name: string,
  jira = world.jira,
): Promise<{ id: string; scim: { baseUrl: string; token: string } }> {
  const admin = jwtHeader(jira.contextJwt(jira.admin.accountId));
  const conn = (
    await request(world.base)
      .post('/api/v1/connections')
      .set(admin)
      .send({ name, kind: 'scim', provider: 'generic' })
      .expect(201)
  ).body;
  await request(world.base)
    .put(`/api/v1/connections/${conn.id}/rules`)
    .set(admin)
    .send({ groups: { onTheFly: { enabled: true } } })
    .expect(200);
  return conn;
}

/** Runs autocannon and resolves with its result. */
export function loadTest(opts: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) =>
    autocannon(opts, (err, result) =>
      err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(result),
    ),
  );
}

/** What a benchmark reports of an autocannon run. */
export const summarizeLoad = (r: autocannon.Result) => ({
  requestsPerSecond: Math.round(r.requests.average),
  latencyMs: { p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, max: r.latency.max },
  total: r.requests.total,
  non2xx: r.non2xx,
  errors: r.errors,
  timeouts: r.timeouts,
});

/** What a pull read through the server reports (its run's progress) and its peak RSS. */
export interface PullReadFigures {
  mode: string;
  note?: string;
  readSeconds: number;
  planSeconds: number;
  untilPlannedSeconds: number;
  usersSeen: number;
  groupsSeen: number;
  membershipsSeen: number;
  removed: number;
  /** Rows of the directory store the read inserted, updated or deleted, as the run reports them. */
  rowsWritten: number;
  usersPerSecond: number;
  plannedOperations: number;
  phasesStartedAtMs: Record<string, number>;
  /** The server's event-loop delay (ms) while it read, and while it planned, as the run reports them. */
  eventLoopMs: { read: { p99: number; max: number }; plan: { p99: number; max: number } };
  /** The server's RSS sampled every 100 ms while it read. */
  readPeakRssMb: number;
  /** The server's high-water mark over this run (read and plan), VmHWM reset when it began. */
  peakRssMb: number;
}

/**
 * Starts a sync of a pull connection through the admin API and samples the server's RSS until the
 * read is over (the run's stage leaves `reading`); then sets the plan's Jira work aside in the
 * database (marked done: `bench/sync` measures that part) and reports the read from the run.
 */
export async function pullRead(
  world: BenchWorld,
  db: { query: (text: string, params: unknown[]) => Promise<unknown> },
  connectionId: string,
  mode: 'full' | 'incremental',
  label: string,
): Promise<PullReadFigures> {
  const { base, jira, server } = world;
  const admin = jwtHeader(jira.contextJwt(jira.admin.accountId));
  fs.writeFileSync(`/proc/${server.pid}/clear_refs`, '5'); // VmHWM from now on
  const started = Date.now();
  const res = await request(base).post(`/api/v1/connections/${connectionId}/sync`).set(admin).send({ mode });
  if (res.status !== 202) throw new Error(`sync did not start: ${res.status} ${JSON.stringify(res.body)}`);
  let run = res.body;
  let peak = 0;
  const phases: Array<[string, number]> = [];
  for (;;) {
    peak = Math.max(peak, procStatusKb(server.pid!, 'VmRSS'));
    run = (await request(base).get(`/api/v1/runs/${run.id}?limit=0`).set(admin)).body;
    const phase = run.progress.read?.phase;
    if (phase && phases[phases.length - 1]?.[0] !== phase) phases.push([phase, Date.now() - started]);
    if (run.stage !== 'reading' || run.status !== 'running') break;
    process.stdout.write(
      `\r${label}: ${run.progress.read?.phase ?? '…'} — ${run.progress.read?.usersSeen ?? 0} users, ${run.progress.read?.pages ?? 0} pages   `,
    );
    await new Promise((r) => setTimeout(r, 100));
  }
  console.log('');
  if (run.status === 'failed') throw new Error(`the read failed: ${run.error}`);
  const wall = Date.now() - started;
  await db.query(
    "UPDATE sync_operations SET status = 'done', outcome = 'set-aside-by-bench', finished_at = now() WHERE run_id = $1 AND status = 'pending'",
    [run.id],
  );
  for (let i = 0; i < 600; i++) {
    run = (await request(base).get(`/api/v1/runs/${run.id}?limit=0`).set(admin)).body;
    if (run.status !== 'running') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const read = run.progress.read ?? {};
  return {
    mode: read.mode,
    ...(read.note ? { note: read.note } : {}),
    readSeconds: Math.round(read.readMs / 10) / 100,
    planSeconds: Math.round(read.planMs / 10) / 100,
    untilPlannedSeconds: Math.round(wall / 10) / 100,
    usersSeen: read.usersSeen,
    groupsSeen: read.groupsSeen,
    membershipsSeen: read.membershipsSeen,
    removed: read.removed,
    rowsWritten: read.rowsWritten,
    usersPerSecond: read.readMs ? Math.round(read.usersSeen / (read.readMs / 1000)) : 0,
    plannedOperations: run.progress.total,
    eventLoopMs: {
      read: { p99: read.eventLoop?.p99Ms, max: read.eventLoop?.maxMs },
      plan: { p99: run.plan?.eventLoop?.p99Ms, max: run.plan?.eventLoop?.maxMs },
    },
    phasesStartedAtMs: Object.fromEntries(phases),
    readPeakRssMb: Math.round(peak / 1024),
    peakRssMb: Math.round(Math.max(peak, procStatusKb(server.pid!, 'VmHWM')) / 1024),
  };
}

type Queryable = {
  query: (text: string, params: unknown[]) => Promise<{ rows: Array<Record<string, unknown>> }>;
};

/**
 * A read, and the rows of the connection's directory store (users, groups, memberships) it wrote,
 * counted by the database itself rather than by the app: rows whose xmin (the transaction that
 * last inserted or updated them) is newer than a transaction id taken before it (32 bits, as xmin
 * holds it; no wraparound in a benchmark's database).
 */
export async function countingRowsWritten<T>(
  db: Queryable,
  connectionId: string,
  read: () => Promise<T>,
): Promise<T & { rowsWrittenByXmin: number }> {
  const before = await db.query('SELECT (txid_current() % 4294967296)::text AS x', []);
  const since = String(BigInt(before.rows[0].x as string) + 1n);
  const figures = await read();
  const { rows } = await db.query(
    `SELECT (SELECT count(*) FROM directory_users WHERE connection_id = $1 AND xmin::text::bigint >= $2::bigint)
          + (SELECT count(*) FROM directory_groups WHERE connection_id = $1 AND xmin::text::bigint >= $2::bigint)
          + (SELECT count(*) FROM directory_memberships WHERE connection_id = $1 AND xmin::text::bigint >= $2::bigint) AS n`,
    [connectionId, since],
  );
  return { ...figures, rowsWrittenByXmin: Number(rows[0].n) };
}

/** The machine a benchmark ran on, as every report starts. */
export const machine = () => ({ cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version });

/** What a connection's directory store holds: users, groups, memberships. */
export async function storedCounts(
  db: Queryable,
  connectionId: string,
): Promise<{ users: number; groups: number; memberships: number }> {
  const { rows } = await db.query(
    'SELECT (SELECT count(*) FROM directory_users WHERE connection_id = $1)::int AS users, (SELECT count(*) FROM directory_groups WHERE connection_id = $1)::int AS groups, (SELECT count(*) FROM directory_memberships WHERE connection_id = $1)::int AS memberships',
    [connectionId],
  );
  return rows[0] as { users: number; groups: number; memberships: number };
}

type Counts = { users: number; groups: number; memberships: number };
type Read = { usersPerSecond: number; readSeconds: number; peakRssMb: number };

/**
 * The pull benchmarks' floors (Google Workspace, Okta, Keycloak): everything stored, a full read at
 * ≥ 5,000 users/s, the same read of an unchanged directory writing no row, the incremental read in
 * under a second leaving the store as expected (`afterWanted`: the counts that must match), peak
 * RSS < 400 MB. Says whether they are met, and sets the exit code.
 */
export function sayPullFloors(f: {
  stored: Counts;
  wanted: Counts;
  full: Read;
  unchanged: Read & { rowsWrittenByXmin: number };
  incremental: Read;
  after: Counts;
  afterWanted: Partial<Counts>;
}): void {
  const same = (got: Counts, want: Partial<Counts>) =>
    (Object.keys(want) as Array<keyof Counts>).every((k) => got[k] === want[k]);
  const ok =
    same(f.stored, f.wanted) &&
    f.full.usersPerSecond >= 5000 &&
    f.unchanged.rowsWrittenByXmin === 0 &&
    same(f.after, f.afterWanted) &&
    f.incremental.readSeconds < 1 &&
    Math.max(f.full.peakRssMb, f.unchanged.peakRssMb, f.incremental.peakRssMb) < 400;
  console.log(
    `floors (everything stored, full read ≥ 5,000 users/s, unchanged full read writes no row, incremental read < 1 s and as expected (${Object.keys(f.afterWanted).join(', ')}), peak RSS < 400 MB): ${ok ? 'MET' : 'NOT MET'}`,
  );
  process.exitCode = ok ? 0 : 1;
}
