import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'ldapts';
import { PROJECT_ROOT } from '../../src/config';

/** The shared tool that installs, provisions and starts a Samba AD domain controller (one per machine: fixed ports). */
const SCRIPT = path.join(PROJECT_ROOT, '../shared/tools/start-samba-ad.sh');
/** Where the DC lives: one folder per machine, provisioned once, reused by every test file and run. */
export const AD_DIR = '/tmp/idp-sync-samba-ad';

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
  execFileSync('flock', [`${AD_DIR}.lock`, 'bash', SCRIPT, 'start', AD_DIR], {
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
