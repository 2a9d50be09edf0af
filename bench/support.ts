import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { FakeJira } from '../test/support/fakeJira';
import { KeyServer } from '../test/support/keyServer';
import { freePort } from '../test/support/net';
import { adminQuery, buildTemplate, startTestPostgres, TEMPLATE_DB, withDatabase } from '../test/support/postgres';

const ROOT = path.join(__dirname, '..');

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
 * `BENCH_PROFILE=<dir>` adds --cpu-prof), and waits for /healthz.
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
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
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
