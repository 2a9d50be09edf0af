import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'ldapts';
import { PROJECT_ROOT } from '../../src/config';

/** The shared tool that installs, provisions and starts a Samba AD domain controller (one per machine: fixed ports). */
const SCRIPT = path.join(PROJECT_ROOT, '../shared/tools/start-samba-ad.sh');
/** The domain the script provisions (its default realm, CORP.EXAMPLE.TEST). */
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

/** Whether a real AD can be had here: the script is there and we are root (it installs Debian packages). */
export const canRunAd = fs.existsSync(SCRIPT) && process.getuid?.() === 0;

/** Tests that need the AD DC: skipped with a loud notice on a laptop that cannot run it, a failure in CI. */
export function describeWithAd(name: string, fn: () => void): void {
  if (!canRunAd && process.env.CI === 'true') throw new Error(`A Samba AD DC is required in CI (${SCRIPT}, as root)`);
  if (!canRunAd) console.warn(`\n*** SKIPPING "${name}": no Samba AD DC here (needs ${SCRIPT} and root) ***\n`);
  (canRunAd ? describe : describe.skip)(name, fn);
}

/** What the script prints of the running DC. */
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
  execFileSync('flock', [`${AD_DIR}.lock`, 'bash', SCRIPT, 'start', AD_DIR, seed], {
    env: { ...process.env, AD_STRONG_AUTH: 'yes' },
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 180_000,
  });
  const env = Object.fromEntries(
    fs
      .readFileSync(path.join(AD_DIR, 'ad.env'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => {
        const i = l.indexOf('=');
        return [
          l.slice(0, i),
          l
            .slice(i + 1)
            .replace(/^'(.*)'$/, '$1')
            .replace(/^"(.*)"$/, '$1'),
        ];
      }),
  );
  if (env.AD_BASE_DN !== BASE_DN) throw new Error(`the DC's domain is ${env.AD_BASE_DN}, the seed's ${BASE_DN}`);
  const ad: Ad = {
    ldapUrl: env.AD_LDAP_URL,
    ldapsUrl: env.AD_LDAPS_URL,
    caPem: fs.readFileSync(env.AD_CA_FILE, 'utf8'),
    tlsServerName: env.AD_TLS_SERVERNAME,
    baseDn: env.AD_BASE_DN,
    adminUpn: env.AD_ADMIN_UPN,
    adminDn: env.AD_ADMIN_DN,
    adminPassword: env.AD_ADMIN_PW,
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
  if (fs.existsSync(path.join(AD_DIR, 'samba.pid')) && fs.existsSync(SCRIPT))
    execFileSync('bash', [SCRIPT, 'stop', AD_DIR], { stdio: 'ignore' });
}

/**
 * Stops and removes DCs provisioned from another seed (an older checkout's): the ports are fixed,
 * so only one can run.
 */
function stopStale(): void {
  for (const name of fs.readdirSync('/tmp')) {
    const dir = path.join('/tmp', name);
    if (!/^idp-sync-samba-ad(-[0-9a-f]{8})?$/.test(name) || dir === AD_DIR) continue;
    if (fs.existsSync(path.join(dir, 'samba.pid'))) execFileSync('bash', [SCRIPT, 'stop', dir], { stdio: 'ignore' });
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(`${dir}.lock`, { force: true });
  }
}
