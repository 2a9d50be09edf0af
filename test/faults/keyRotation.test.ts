import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../../src/config';
import { keysInUse } from '../../src/db/sealed';
import { Sql } from '../../src/db/sql';
import { AppProcess, installSite, type ProcessSite } from '../support/appProcess';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { FakeJira } from '../support/fakeJira';
import { KeyServer } from '../support/keyServer';
import { ScimLoad } from '../support/scimLoad';

/**
 * Rotating the secrets key (docs/operations.md): the app runs with a key ring (APP_SECRET_KEYS,
 * newest first), instances are restarted one by one with a new key first, `npm run rekey` re-seals
 * every stored secret while SCIM writes go on, and the old key is dropped — twice. Every
 * acknowledged write reaches Jira, and a start with a key the stored secrets need missing is refused
 * in one sentence.
 */
jest.setTimeout(300_000);

const run = promisify(execFile);
let keys: KeyServer;
let jira: FakeJira;
let db: TestDatabase;
const processes: AppProcess[] = [];

beforeAll(async () => {
  keys = await new KeyServer().start();
  jira = await new FakeJira().start();
  db = await createTestDatabase();
});

afterAll(async () => {
  await Promise.all(ScimLoad.running.map((l) => l.stop()));
  await Promise.all(processes.splice(0).map((p) => p.stop('SIGKILL')));
  await db.drop();
  await jira.stop();
  await keys.stop();
});

const newKey = (id: string) => ({ id, hex: crypto.randomBytes(32).toString('hex') });
const ring = (...ks: Array<{ id: string; hex: string }>) => ks.map((k) => `${k.id}:${k.hex}`).join(',');

async function instance(keyRing: string, start = true): Promise<AppProcess> {
  const p = await AppProcess.create({
    databaseUrl: db.url,
    jira,
    keys,
    env: { APP_SECRET_KEY: undefined, APP_SECRET_KEYS: keyRing, SYNC_WORKER_CONCURRENCY: '4' },
  });
  processes.push(p);
  if (start) await p.start();
  return p;
}

/** `npm run rekey` (src/rekey.ts, through tsx as the tests run the server) with that ring. */
async function rekeyCli(keyRing: string) {
  const tsx = pathToFileURL(require.resolve('tsx')).href;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'development',
    DATABASE_URL: db.url,
    APP_SECRET_KEYS: keyRing,
  };
  delete env.APP_SECRET_KEY;
  try {
    const { stdout } = await run(process.execPath, ['--import', tsx, path.join(PROJECT_ROOT, 'src/rekey.ts')], { env });
    return { code: 0, out: stdout };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

const inUse = async () => Object.fromEntries(await keysInUse(new Sql(db.sequelize)));
const via = (site: ProcessSite, p: AppProcess, from: AppProcess): ProcessSite => ({
  ...site,
  scimBase: site.scimBase.replace(from.url, p.url),
});

it('rotates the key twice under SCIM load, instance by instance; a start without a needed key is refused in one sentence', async () => {
  const [k1, k2, k3] = [newKey('2026-10'), newKey('2026-11'), newKey('2026-12')];
  const a = await instance(ring(k1));
  const site = await installSite(a, jira, keys);
  // The Connect shared secret and the site's API token.
  expect(await inUse()).toEqual({ '2026-10': 2 });
  const loads: ScimLoad[] = [];
  const load = async (p: AppProcess, tag: string) => {
    const l = new ScimLoad(via(site, p, a), tag, 2);
    loads.push(l);
    l.start();
    await l.until((x) => x.acknowledged().length >= 10);
    return l;
  };
  let current = { process: a, load: await load(a, 'k1') };
  for (const [tag, next, previous] of [
    ['k2', k2, k1],
    ['k3', k3, k2],
  ] as const) {
    // A rolling restart: the new instance holds the new key first and the old one after it.
    const p = await instance(ring(next, previous));
    const l = await load(p, tag);
    await current.load.stop();
    await current.process.stop();
    current = { process: p, load: l };
    const rekeyed = await rekeyCli(ring(next, previous)); // while `l` writes
    expect(rekeyed.out).toContain(`pass 1: 2 re-sealed with key "${next.id}"`);
    expect(rekeyed.out).toContain(`All 2 stored secrets are under key "${next.id}"`);
    expect(rekeyed.code).toBe(0);
    expect(await inUse()).toEqual({ [next.id]: 2 });
    const before = l.acknowledged().length;
    await l.until((x) => x.acknowledged().length >= before + 10);
  }
  // The old key dropped: the ring is k3 alone.
  const last = await instance(ring(k3));
  await load(last, 'k3-only');
  await current.load.stop();
  await current.process.stop();
  await Promise.all(loads.map((l) => l.stop()));

  // A start with the ring before the last rotation: refused at start, in one sentence naming the key.
  const stale = await instance(ring(k2), false);
  const refused = await stale.startAndExit();
  expect(refused.code).toBe(1);
  expect(refused.stderr.trim().split('\n')).toEqual([
    'Stored secrets were sealed with key "2026-12" (2 secrets) that APP_SECRET_KEYS does not hold: list it again (run `npm run rekey` before dropping a key).',
  ]);

  // Every acknowledged write reached Jira, once.
  const acknowledged = loads.flatMap((l) => l.acknowledged());
  expect(loads.flatMap((l) => l.answers).filter((x) => x.status !== 201)).toEqual([]);
  const deadline = Date.now() + 60_000;
  const accounts = (email: string) => [...jira.state.users.values()].filter((u) => u.emailAddress === email).length;
  while (acknowledged.some((n) => accounts(n) === 0) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 250));
  expect(acknowledged.filter((n) => accounts(n) !== 1)).toEqual([]);
  expect(last.alive).toBe(true);
});

it('rekey without the key some secrets need says so and changes nothing', async () => {
  const out = await rekeyCli(ring(newKey('other')));
  expect(out.code).toBe(1);
  expect(out.out).toContain(
    'Stored secrets were sealed with key "2026-12" (2 secrets) that APP_SECRET_KEYS does not hold',
  );
  expect(await inUse()).toEqual({ '2026-12': 2 });
});
