import { loadConfig } from './config';
import { resolveKeyRing } from './crypto/key';
import type { KeyRing } from './crypto/secrets';
import { openDatabase } from './db/open';
import { keysInUse, missingKeys, rekey, type RekeyReport } from './db/sealed';
import { Sql } from './db/sql';
import { createLogger } from './logger';
import { kindOf } from './sources/registry';

/** Passes over the stored secrets before giving up on values the running app keeps rewriting. */
const MAX_PASSES = 5;

/** What `npm run rekey` prints and whether it finished. */
export interface RekeyOutcome {
  ok: boolean;
  lines: string[];
  passes: RekeyReport[];
}

/**
 * Re-seals every stored secret with the newest key of `APP_SECRET_KEYS` while the app runs, then
 * says which keys no secret needs any more (those may be dropped). Passes again while the app
 * rewrote values under an older key meanwhile (an instance not yet restarted with the new ring).
 */
export async function rekeyAll(sql: Sql, ring: KeyRing, log: (line: string) => void = () => undefined) {
  const lines: string[] = [];
  const say = (line: string) => {
    lines.push(line);
    log(line);
  };
  const missing = await missingKeys(sql, ring);
  if (missing) {
    say(missing);
    return { ok: false, lines, passes: [] } satisfies RekeyOutcome;
  }
  const passes: RekeyReport[] = [];
  for (let pass = 1; pass <= MAX_PASSES; pass++) {
    const r = await rekey(sql, ring, (kind) => kindOf(kind)?.secretField);
    passes.push(r);
    const where = Object.entries(r.places)
      .filter(([, t]) => t.rekeyed > 0)
      .map(([name, t]) => `${name} ${t.rekeyed}`)
      .join(', ');
    say(
      `pass ${pass}: ${r.rekeyed} re-sealed with key "${ring.newest}"${where ? ` (${where})` : ''}, ${r.current} already under it, ${r.raced} changed meanwhile, ${r.failed} failed`,
    );
    for (const p of r.problems) say(`  ${p}`);
    if (r.failed > 0) break;
    if (r.raced === 0) break;
  }
  const inUse = await keysInUse(sql);
  const others = [...inUse].filter(([id]) => id !== ring.newest);
  const total = [...inUse.values()].reduce((a, b) => a + b, 0);
  if (others.length === 0) {
    say(
      `All ${total} stored secrets are under key "${ring.newest}": every other key can be dropped from APP_SECRET_KEYS once every instance runs with this ring.`,
    );
    return { ok: true, lines, passes } satisfies RekeyOutcome;
  }
  say(
    `Still under older keys: ${others.map(([id, n]) => `"${id}" ${n}`).join(', ')} — restart every instance with "${ring.newest}" first in APP_SECRET_KEYS, then run npm run rekey again.`,
  );
  return { ok: false, lines, passes } satisfies RekeyOutcome;
}

async function main(): Promise<void> {
  const config = loadConfig();
  const db = await openDatabase(config, createLogger(config.logLevel === 'silent' ? 'silent' : 'warn'));
  try {
    const outcome = await rekeyAll(new Sql(db.sequelize), resolveKeyRing(config), (line) =>
      process.stdout.write(`${line}\n`),
    );
    process.exitCode = outcome.ok ? 0 : 1;
  } finally {
    await db.close();
  }
}

if (require.main === module)
  main().catch((err: Error) => {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  });
