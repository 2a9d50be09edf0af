import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { QueryTypes } from 'sequelize';
import YAML from 'yaml';
import { PROJECT_ROOT, SETTING_NAMES } from '../src/config';
import { AppProcess } from './support/appProcess';
import { createTestDatabase, type TestDatabase } from './support/db';
import { FakeForge } from './support/fakeForge';
import { FakeJira } from './support/fakeJira';
import { KeyServer } from './support/keyServer';
import { copyProject } from './support/projectCopy';

/**
 * A production deployment that Forge can reach. No Docker engine runs on these machines, so the test
 * does what the image does with what compose hands it: the Dockerfile's ENV, then docker-compose.yml's
 * app environment (its ${…} filled in as compose fills them), and the server the image's CMD runs —
 * from a copy of the project, so that no manifest.yml of this checkout lends it an app id.
 */
jest.setTimeout(120_000);

let keys: KeyServer;
let jira: FakeJira;
let forge: FakeForge;
let db: TestDatabase;
let root: string;
let app: AppProcess | undefined;

beforeAll(async () => {
  keys = await new KeyServer().start();
  jira = await new FakeJira().start();
  forge = await new FakeForge().start();
  db = await createTestDatabase();
  root = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'idp-sync-deploy-')), 'app');
  copyProject(root);
});
afterEach(async () => {
  await app?.stop();
  app = undefined;
});
afterAll(async () => {
  await db.drop();
  await forge.stop();
  await jira.stop();
  await keys.stop();
  fs.rmSync(path.dirname(root), { recursive: true, force: true });
});

const read = (file: string) => fs.readFileSync(path.join(PROJECT_ROOT, file), 'utf8');

/** The Dockerfile's final stage: its ENV pairs, HEALTHCHECK and CMD. */
function dockerfile(): { env: Record<string, string>; healthcheck: string[]; cmd: string[] } {
  const lines = read('Dockerfile').split('\n');
  const last = lines
    .map((l, i) => (l.startsWith('FROM ') ? i : -1))
    .filter((i) => i >= 0)
    .at(-1)!;
  const stage = lines.slice(last);
  const env: Record<string, string> = {};
  for (const line of stage.filter((l) => l.startsWith('ENV ')))
    for (const [, k, v] of line.slice(4).matchAll(/([A-Z_]+)=("[^"]*"|\S*)/g)) env[k] = v.replace(/^"|"$/g, '');
  const json = (prefix: RegExp) => JSON.parse(stage.find((l) => prefix.test(l))!.replace(prefix, '')) as string[];
  return { env, healthcheck: json(/^HEALTHCHECK .*?CMD /), cmd: json(/^CMD /) };
}

/** docker-compose.yml's app environment, with ${VAR}, ${VAR:-default} and ${VAR:?error} filled in from `vars`. */
function composeEnv(vars: Record<string, string | undefined>): Record<string, string> {
  const compose = YAML.parse(read('docker-compose.yml')) as {
    services: { app: { environment: Record<string, string> } };
  };
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(compose.services.app.environment))
    out[k] = String(v).replace(/\$\{([A-Z_]+)(?::([-?])([^}]*))?\}/g, (_m, name: string, op?: string, arg?: string) => {
      const value = vars[name];
      if (value) return value;
      if (op === '?') throw new Error(`compose would refuse to start: ${arg}`);
      return op === '-' ? (arg ?? '') : '';
    });
  return out;
}

/** The environment the image runs with under compose, pointed at this test's database and fakes. */
function productionEnv(vars: Record<string, string | undefined>): Record<string, string | undefined> {
  return {
    ...dockerfile().env,
    ...composeEnv({ APP_SECRET_KEY: crypto.randomBytes(32).toString('hex'), ...vars }),
    DATABASE_URL: db.url, // compose's names its own Postgres service
    FORGE_JWKS_URL: forge.jwksUrl, // the fake Forge's keys instead of Atlassian's
    LOG_FORMAT: undefined,
    LOG_LEVEL: 'info',
  };
}

/** The server as the image runs it under compose (on a port of the test's own, at its own address). */
function server(vars: Record<string, string | undefined>): Promise<AppProcess> {
  const {
    PORT: _port,
    AC_LOCAL_BASE_URL: _url,
    ...env
  } = productionEnv({
    AC_LOCAL_BASE_URL: 'https://sync.example.com',
    ...vars,
  });
  return AppProcess.create({ databaseUrl: db.url, jira, keys, root, env });
}

it('without a Forge app id, production stops at start with one sentence that says what to set', async () => {
  app = await server({ FORGE_APP_ID: undefined });
  const { code, stderr } = await app.startAndExit();
  expect(code).toBe(1);
  expect(stderr.trim().split('\n')).toEqual([
    'FORGE_APP_ID is required in production, since new sites install only through Forge: set it to the id `forge register` printed (ari:cloud:ecosystem::app/<uuid>), or set CONNECT_ONLY=true if this server serves only sites still on the Connect version.',
  ]);
});

it('told it serves only Connect sites, it starts without one', async () => {
  app = await server({ FORGE_APP_ID: undefined, CONNECT_ONLY: 'true' });
  await app.start();
  expect((await fetch(`${app.url}/forge/lifecycle/installed`, { method: 'POST' })).status).toBe(404);
});

it("with the documented variables it accepts Forge's calls, and the image's health check passes", async () => {
  app = await server({ FORGE_APP_ID: forge.appId });
  await app.start();
  expect(app.logLines().find((l) => l.msg === 'Forge app id')).toMatchObject({ forgeAppId: forge.appId });
  const inst = await forge.install(jira, app.url);
  expect(inst.calls.map((c) => c.status)).toEqual([204]);
  const sites = await db.sequelize.query('SELECT client_key, base_url FROM tenants', { type: QueryTypes.SELECT });
  expect(sites).toEqual([{ client_key: inst.ari, base_url: jira.url }]);

  // The HEALTHCHECK runs the compiled src/healthcheck.ts; here its source, with the container's environment.
  const { healthcheck, cmd } = dockerfile();
  expect(healthcheck).toEqual(['node', 'dist/src/healthcheck.js']);
  expect(cmd).toEqual(['node', 'dist/src/server.js']);
  const check = () => {
    try {
      execFileSync(
        process.execPath,
        ['--import', pathToFileURL(require.resolve('tsx')).href, path.join(root, 'src/healthcheck.ts')],
        { env: app!.environment, stdio: 'ignore' },
      );
      return 0;
    } catch (err) {
      return (err as { status: number }).status;
    }
  };
  expect(check()).toBe(0);
  await app.stop();
  expect(check()).toBe(1);
});

it('docker-compose.yml and .env.example name only settings the server reads, and .env.example every one compose needs', () => {
  const known = new Set([...SETTING_NAMES]);
  const compose = read('docker-compose.yml');
  const composeVars = [...compose.matchAll(/\$\{([A-Z_]+)/g)].map((m) => m[1]);
  const example = read('.env.example');
  const exampleVars = [...example.matchAll(/^#?\s*([A-Z_]+)=/gm)].map((m) => m[1]);
  for (const v of [...composeVars, ...exampleVars]) expect([v, known.has(v)]).toEqual([v, true]);
  for (const v of composeVars) expect(exampleVars).toContain(v);
  expect(composeVars).toEqual(
    expect.arrayContaining(['AC_LOCAL_BASE_URL', 'APP_SECRET_KEY', 'FORGE_APP_ID', 'CONNECT_ONLY']),
  );
  expect(Object.keys(dockerfile().env)).toEqual(expect.arrayContaining(['NODE_ENV', 'FORGE_APP_ID', 'CONNECT_ONLY']));
  // .env never enters the image (it holds the secrets key).
  expect(read('.dockerignore').split('\n')).toContain('.env');
});

describe('a server that explains itself', () => {
  it('a port in use stops the start with one sentence naming the port and what to change', async () => {
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, '0.0.0.0', resolve));
    const port = (busy.address() as net.AddressInfo).port;
    try {
      app = await AppProcess.create({ databaseUrl: db.url, jira, keys, root, env: { PORT: String(port) } });
      const { code, stderr } = await app.startAndExit();
      expect(code).toBe(1);
      expect(stderr.trim().split('\n')).toEqual([
        `Port ${port} is already in use (another server, or this one started twice): stop it, or set PORT to a free port (PORT=${port + 1} npm start).`,
      ]);
    } finally {
      busy.close();
    }
  });
});

it("npm start's build step builds nothing when no source changed since the last build", () => {
  // In the copy, with a dist/ of its own (the copy's is linked to this checkout's, which other tests build).
  fs.rmSync(path.join(root, 'dist'), { recursive: true, force: true });
  const build = () =>
    execFileSync(process.execPath, ['--import', pathToFileURL(require.resolve('tsx')).href, 'scripts/build.ts'], {
      cwd: root,
      encoding: 'utf8',
    });
  expect(build()).not.toContain('nothing to build');
  expect(fs.existsSync(path.join(root, 'dist/src/server.js'))).toBe(true);
  expect(build()).toContain('dist/ is current: nothing to build.');
  fs.utimesSync(path.join(root, 'src/text.ts'), new Date(), new Date()); // a source changed: built again
  expect(build()).not.toContain('nothing to build');
  const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
  expect(pkg.scripts.prestart).toBe('tsx scripts/build.ts');
});

it('npm run dev runs the sources and restarts the server when one changes', async () => {
  const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
  expect(pkg.scripts.dev).toBe('tsx watch --clear-screen=false src/server.ts');
  const probe = await AppProcess.create({ databaseUrl: db.url, jira, keys, root, env: {} });
  const env = { ...probe.environment, NODE_ENV: 'development', LOG_FORMAT: 'json' };
  const dev = spawn(process.execPath, [require.resolve('tsx/cli'), 'watch', '--clear-screen=false', 'src/server.ts'], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  dev.stdout.on('data', (d) => (out += d));
  dev.stderr.on('data', (d) => (out += d));
  const listening = () => out.split('\n').filter((l) => l.includes('"msg":"listening"')).length;
  const until = async (check: () => boolean) => {
    for (const deadline = Date.now() + 60_000; !check(); await new Promise((r) => setTimeout(r, 100)))
      if (Date.now() > deadline) throw new Error(`timed out:\n${out}`);
  };
  try {
    await until(() => listening() === 1);
    // tsx learns which files to watch as the server loads them: a change made the very moment it
    // says "listening" can come before the watch on that file (seen once on Node 22 under CI's load).
    // The change is made again every 10 s until the server restarts.
    let touched = 0;
    await until(() => {
      if (Date.now() - touched > 10_000) {
        fs.utimesSync(path.join(root, 'src/text.ts'), new Date(), new Date());
        touched = Date.now();
      }
      return listening() >= 2;
    });
    expect((await fetch(`${probe.url}/healthz`)).status).toBe(200);
  } finally {
    dev.kill('SIGTERM');
    await new Promise((r) => dev.once('exit', r));
  }
});
