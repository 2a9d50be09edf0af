import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../src/config';
import { FakeJira } from './support/fakeJira';
import { KeyServer } from './support/keyServer';
import { freePort } from './support/net';

/**
 * The real process, as `npm start` runs it: compiled server, no DATABASE_URL, embedded Postgres
 * initialised in an empty data folder, and restarts (clean and after kill -9) that keep the data.
 */
jest.setTimeout(180_000);

let keys: KeyServer;
let jira: FakeJira;
let dataDir: string;
let port: number;
let pgPort: number;
let child: ChildProcess | undefined;
let output = '';

const base = () => `http://127.0.0.1:${port}`;


async function startServer(): Promise<void> {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'development', PORT: String(port), AC_LOCAL_BASE_URL: base(), DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(pgPort), CONNECT_KEYS_CDN_URL: keys.url, LOG_LEVEL: 'info', ATLASSIAN_API_URL: jira.url };
  delete env.DATABASE_URL;
  delete env.APP_SECRET_KEY;
  child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist/src/server.js')], { env, cwd: os.tmpdir(), stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`server exited (${child.exitCode}):\n${output}`);
    const ok = await fetch(`${base()}/healthz`).then((r) => r.ok, () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server did not become healthy:\n${output}`);
}

async function stopServer(signal: NodeJS.Signals): Promise<void> {
  const c = child!;
  const exited = new Promise((r) => c.once('exit', r));
  c.kill(signal);
  await exited;
}

beforeAll(async () => {
  execFileSync(process.execPath, [path.join(PROJECT_ROOT, 'node_modules/typescript/bin/tsc'), '-p', path.join(PROJECT_ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
  keys = await new KeyServer().start();
  jira = await new FakeJira().start();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'idp-sync-server-'));
  fs.chmodSync(dataDir, 0o755);
  [port, pgPort] = [await freePort(), await freePort()];
});

afterAll(async () => {
  if (child && child.exitCode === null) await stopServer('SIGTERM');
  // A server killed with -9 leaves its Postgres running; stop it.
  const pidFile = path.join(dataDir, 'pg', 'postmaster.pid');
  if (fs.existsSync(pidFile)) {
    try {
      process.kill(Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]), 'SIGINT');
    } catch { /* already gone */ }
  }
  await jira.stop();
  await keys.stop();
});

const credentials = () => fetch(`${base()}/api/v1/site-credentials`, { headers: { Authorization: `JWT ${jira.contextJwt(jira.admin.accountId)}` } }).then((r) => r.json());

it('starts on an empty machine, serves the descriptor, and keeps its data across restarts', async () => {
  await startServer();
  expect(fs.existsSync(path.join(dataDir, 'pg', 'PG_VERSION'))).toBe(true);
  expect(fs.statSync(path.join(dataDir, 'app-secret.key')).mode & 0o777).toBe(0o600);
  const descriptor = await (await fetch(`${base()}/atlassian-connect.json`)).json();
  expect(descriptor).toMatchObject({ key: 'idp-user-group-sync', baseUrl: base() });

  expect((await jira.install(base(), keys)).status).toBe(204);
  const put = await fetch(`${base()}/api/v1/site-credentials`, {
    method: 'PUT',
    headers: { Authorization: `JWT ${jira.contextJwt(jira.admin.accountId)}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: jira.admin.emailAddress, apiToken: jira.adminToken }),
  });
  expect(put.status).toBe(200);

  await stopServer('SIGTERM');
  await startServer();
  expect(await credentials()).toMatchObject({ email: jira.admin.emailAddress, apiTokenSet: true });

  await stopServer('SIGKILL'); // its Postgres survives the crash; the next start must cope
  await startServer();
  expect(await credentials()).toMatchObject({ apiTokenSet: true });
  expect(output).not.toContain(jira.adminToken);
  expect(output).not.toContain(jira.sharedSecret);
});
