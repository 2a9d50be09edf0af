import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PROJECT_ROOT } from '../../src/config';
import type { FakeJira } from './fakeJira';
import type { KeyServer } from './keyServer';
import { freePort } from './net';

/** Node's flags to run TypeScript through tsx, from any working folder. */
const TSX = ['--import', pathToFileURL(require.resolve('tsx')).href];

/**
 * The add-on as a real process (`src/server.ts` through tsx: what `npm start` runs, without the
 * build), for faults no in-process test can make: kill -9, a database that goes away under it.
 */
export class AppProcess {
  child?: ChildProcess;
  output = '';

  private constructor(
    readonly port: number,
    private readonly env: NodeJS.ProcessEnv,
    /** The project the process runs from (a copy of it, for a test that must not see files of this checkout). */
    private readonly root = PROJECT_ROOT,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  static async create(opts: {
    databaseUrl: string;
    jira: FakeJira;
    keys: KeyServer;
    secretKey?: string;
    env?: Record<string, string | undefined>;
    root?: string;
  }): Promise<AppProcess> {
    const port = await freePort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      NODE_ENV: 'development',
      PORT: String(port),
      AC_LOCAL_BASE_URL: `http://127.0.0.1:${port}`,
      DATABASE_URL: opts.databaseUrl,
      APP_SECRET_KEY: opts.secretKey ?? crypto.randomBytes(32).toString('hex'),
      CONNECT_KEYS_CDN_URL: opts.keys.url,
      ATLASSIAN_API_URL: opts.jira.url,
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
      JIRA_BACKOFF_BASE_MS: '10',
      JIRA_BACKOFF_MAX_MS: '50',
      SYNC_DEBOUNCE_MS: '50',
      SYNC_POLL_MS: '200',
      ...opts.env,
    };
    delete env.TEST_PG_ADMIN_URL;
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
    return new AppProcess(port, env, opts.root);
  }

  /** Starts the process and waits until /healthz answers 200. */
  async start(): Promise<void> {
    const child = this.spawn();
    for (let i = 0; i < 600; i++) {
      if (child.exitCode !== null) throw new Error(`server exited (${child.exitCode}):\n${this.output}`);
      const ok = await fetch(`${this.url}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`server did not become healthy:\n${this.output}`);
  }

  /** Starts the process and waits for it to exit by itself (a start that must fail): its exit code and output. */
  async startAndExit(timeoutMs = 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const child = this.spawn();
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    clearTimeout(timer);
    return { code, stdout, stderr };
  }

  /** The environment the process runs with (tests run helpers, e.g. the health check, with the same). */
  get environment(): NodeJS.ProcessEnv {
    return { ...this.env };
  }

  private spawn(): ChildProcess {
    const child = spawn(process.execPath, [...TSX, path.join(this.root, 'src/server.ts')], {
      env: this.env,
      cwd: os.tmpdir(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    child.stdout.on('data', (d) => (this.output += d));
    child.stderr.on('data', (d) => (this.output += d));
    return child;
  }

  /** Stops (SIGTERM: gracefully) or kills (SIGKILL) the process and waits for it to be gone. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill(signal);
    await exited;
  }

  /** True while the process runs (it did not crash). */
  get alive(): boolean {
    return Boolean(this.child && this.child.exitCode === null && this.child.signalCode === null);
  }

  /** The JSON log lines the process wrote. */
  logLines(): Array<Record<string, unknown>> {
    return this.output
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}

/** A Postgres of the test's own, which it may stop and start again (the shared one must stay up). */
export class OwnPostgres {
  private server?: ChildProcess;
  url = '';

  private constructor(
    private readonly dataDir: string,
    readonly port: number,
  ) {}

  static async start(): Promise<OwnPostgres> {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'idp-sync-fault-pg-'));
    fs.chmodSync(dataDir, 0o755);
    const pg = new OwnPostgres(dataDir, await freePort());
    await pg.up();
    return pg;
  }

  /** Starts the server (again) on the same data and port. */
  async up(): Promise<void> {
    const child = spawn(
      process.execPath,
      [...TSX, path.join(__dirname, 'postgresProcess.ts'), this.dataDir, String(this.port)],
      { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stderr.on('data', (d) => (out += d));
    this.url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d) => {
        out += d;
        const line = out.split('\n').find((l) => l.startsWith('{"url"'));
        if (line) resolve((JSON.parse(line) as { url: string }).url);
      });
      child.once('exit', (code) => reject(new Error(`Postgres did not start (${code}): ${out}`)));
    });
    this.server = child;
  }

  /** Stops the server (a fast shutdown: open sessions are ended). */
  async down(): Promise<void> {
    const c = this.server;
    this.server = undefined;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    await exited;
  }

  /**
   * Freezes (SIGSTOP) or thaws (SIGCONT) the server and every process of it — what a network
   * partition looks like to the app: connections stay open and nothing answers.
   */
  signalAll(signal: 'SIGSTOP' | 'SIGCONT'): void {
    const pidFile = fs.realpathSync(path.join(this.dataDir, 'pg', 'postmaster.pid'));
    const postmaster = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
    const children = execFileSync('pgrep', ['-P', String(postmaster)], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map(Number);
    for (const pid of [postmaster, ...children]) process.kill(pid, signal);
  }

  async remove(): Promise<void> {
    await this.down();
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** A site with the add-on installed in an AppProcess, its site credentials saved and one SCIM connection. */
export interface ProcessSite {
  connectionId: string;
  /** The SCIM base URL, e.g. http://127.0.0.1:1234/scim/v2/<id>. */
  scimBase: string;
  token: string;
  admin(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export async function installSite(app: AppProcess, jira: FakeJira, keys: KeyServer): Promise<ProcessSite> {
  const installed = await jira.install(app.url, keys);
  if (installed.status !== 204) throw new Error(`install answered ${installed.status}`);
  const admin: ProcessSite['admin'] = async (method, p, body) => {
    const res = await fetch(`${app.url}/api/v1${p}`, {
      method,
      headers: { Authorization: `JWT ${jira.contextJwt(jira.admin.accountId)}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : {} };
  };
  const creds = await admin('PUT', '/site-credentials', { email: jira.admin.emailAddress, apiToken: jira.adminToken });
  if (creds.status !== 200) throw new Error(`site credentials: ${creds.status} ${JSON.stringify(creds.body)}`);
  const created = await admin('POST', '/connections', {
    name: 'Fault IdP',
    kind: 'scim',
    provider: 'generic',
    importUsers: true,
    importGroups: true,
  });
  if (created.status !== 201) throw new Error(`connection: ${created.status} ${JSON.stringify(created.body)}`);
  return {
    connectionId: created.body.id,
    scimBase: created.body.scim.baseUrl,
    token: created.body.scim.token,
    admin,
  };
}
