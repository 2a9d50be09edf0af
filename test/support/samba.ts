import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Client } from 'ldapts';
import { PROJECT_ROOT } from '../../src/config';
import type { AdInfo } from '../../scripts/sambaAd';

/** The project's tool that installs, provisions and starts a Samba AD domain controller (one per machine: fixed ports). */
const SCRIPT = path.join(PROJECT_ROOT, 'scripts/sambaAd.ts');
/** Runs the tool (through tsx) with these arguments. */
const tool = (...args: string[]) => [
  process.execPath,
  '--import',
  pathToFileURL(require.resolve('tsx')).href,
  SCRIPT,
  ...args,
];
/** The domain the tool provisions (CORP.EXAMPLE.TEST). */
const BASE_DN = 'DC=corp,DC=example,DC=test';

/**
 * What the domain is provisioned with, loaded offline by the script (seconds, where adding the same
 * over LDAP one entry at a time takes minutes on a slow machine): `OU=Ranged` holds 1,600 users and
 * a group `Everyone` of all of them, more than AD's 1,500 values per range. Tests only read it.
 */
export const RANGED = { ou: `OU=Ranged,${BASE_DN}`, members: 1600 };
const SEED = [
  ...[RANGED.ou, `OU=People,${RANGED.ou}`, `OU=Groups,${RANGED.ou}`].map(
    (dn) => `dn: ${dn}\nchangetype: add\nobjectClass: organizationalUnit\nou: ${/^OU=([^,]+)/.exec(dn)![1]}\n`,
  ),
  ...Array.from(
    { length: RANGED.members },
    (_, i) =>
      `dn: CN=m${i},OU=People,${RANGED.ou}\nchangetype: add\nobjectClass: user\nsAMAccountName: ranged-m${i}\nmail: ranged-m${i}@corp.example.test\n`,
  ),
  `dn: CN=Everyone,OU=Groups,${RANGED.ou}\nchangetype: add\nobjectClass: group\nsAMAccountName: ranged-everyone\n` +
    Array.from({ length: RANGED.members }, (_, i) => `member: CN=m${i},OU=People,${RANGED.ou}\n`).join(''),
].join('\n');

/**
 * Where the DC lives: one folder per machine, provisioned once, reused by every test file and run.
 * Its name carries the seed's hash, so a changed seed provisions a domain of its own.
 */
export const AD_DIR = `/tmp/idp-sync-samba-ad-${crypto.createHash('sha256').update(SEED).digest('hex').slice(0, 8)}`;

/** Whether a real AD can be had here: as root on Linux (the tool installs Debian's packages). */
export const canRunAd = process.platform === 'linux' && process.getuid?.() === 0 && fs.existsSync('/usr/bin/apt-get');

/** Tests that need the AD DC: skipped with a loud notice on a laptop that cannot run it, a failure in CI. */
export function describeWithAd(name: string, fn: () => void): void {
  if (!canRunAd && process.env.CI === 'true')
    throw new Error('A Samba AD DC is required in CI (scripts/sambaAd.ts, as root)');
  if (!canRunAd)
    console.warn(`\n*** SKIPPING "${name}": no Samba AD DC here (scripts/sambaAd.ts needs root on Debian) ***\n`);
  (canRunAd ? describe : describe.skip)(name, fn);
}

/** The running DC, as the tool describes it. */
export interface Ad {
  ldapUrl: string;
  ldapsUrl: string;
  caPem: string;
  tlsServerName: string;
  baseDn: string;
  adminUpn: string;
  adminDn: string;
  adminPassword: string;
  /** A client bound as the domain's Administrator over LDAPS. */
  withAdmin<T>(fn: (c: Client) => Promise<T>): Promise<T>;
}

/**
 * Starts (or finds running) the machine's Samba AD DC, strong auth required as on a real AD
 * (simple binds only over LDAPS or StartTLS). `flock` keeps two test workers from provisioning at
 * once; a DC already running is reused. The global teardown stops it.
 */
export function startAd(): Ad {
  stopStale();
  const seed = `${AD_DIR}.seed.ldif`;
  fs.writeFileSync(seed, SEED);
  const [node, ...args] = tool('start', AD_DIR, seed);
  try {
    execFileSync('flock', [`${AD_DIR}.lock`, node, ...args], {
      env: { ...process.env, AD_STRONG_AUTH: 'yes' },
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 300_000,
    });
  } catch (err) {
    throw new Error(`the Samba AD DC did not start: ${String((err as { stderr?: Buffer }).stderr ?? err)}`, {
      cause: err,
    });
  }
  const info = JSON.parse(fs.readFileSync(path.join(AD_DIR, 'ad.json'), 'utf8')) as AdInfo;
  if (info.baseDn !== BASE_DN) throw new Error(`the DC's domain is ${info.baseDn}, the seed's ${BASE_DN}`);
  const ad: Ad = {
    ldapUrl: info.ldapUrl,
    ldapsUrl: info.ldapsUrl,
    caPem: fs.readFileSync(info.caFile, 'utf8'),
    tlsServerName: info.tlsServerName,
    baseDn: info.baseDn,
    adminUpn: info.adminUpn,
    adminDn: info.adminDn,
    adminPassword: info.adminPassword,
    async withAdmin(fn) {
      const c = new Client({
        url: ad.ldapsUrl,
        timeout: 20_000,
        tlsOptions: { ca: [ad.caPem], servername: ad.tlsServerName },
      });
      try {
        await c.bind(ad.adminUpn, ad.adminPassword);
        return await fn(c);
      } finally {
        await c.unbind().catch(() => undefined);
      }
    },
  };
  return ad;
}

/** Stops the DC if this machine runs one (the global teardown). */
export function stopAd(): void {
  if (fs.existsSync(path.join(AD_DIR, 'samba.pid'))) stop(AD_DIR);
}

/**
 * Stops and removes DCs provisioned from another seed (an older checkout's): the ports are fixed,
 * so only one can run.
 */
function stopStale(): void {
  for (const name of fs.readdirSync('/tmp')) {
    const dir = path.join('/tmp', name);
    if (!/^idp-sync-samba-ad(-[0-9a-f]{8})?$/.test(name) || dir === AD_DIR) continue;
    if (fs.existsSync(path.join(dir, 'samba.pid'))) stop(dir);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(`${dir}.lock`, { force: true });
  }
}

function stop(dir: string): void {
  const [node, ...args] = tool('stop', dir);
  execFileSync(node, args, { stdio: 'ignore' });
}
