/**
 * A throwaway Active Directory domain controller (Samba 4, Debian's packages) on 127.0.0.1, for the
 * LDAP source's tests against a real AD. Root only (it installs packages); one per machine, since
 * Samba's LDAP ports (389, 636, 3268, 3269) cannot be moved.
 *
 *   tsx scripts/sambaAd.ts start DIR [SEED.ldif]   install what is missing, provision a domain into
 *                                                  DIR (once; SEED loaded offline then), start it and
 *                                                  wait for LDAP; writes DIR/ad.json and prints it
 *   tsx scripts/sambaAd.ts stop DIR                stop the DC started from DIR
 *
 * Everything the DC writes (databases, logs, sockets, its PID) stays inside DIR. Simple binds are
 * allowed only over LDAPS or StartTLS, as on a real AD ("strong auth"), unless AD_STRONG_AUTH=no.
 * The DC stops by itself after AD_MAX_RUNTIME seconds (2 hours), so a forgotten one does not linger.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/** What a started DC is: where to reach it and as whom. */
export interface AdInfo {
  pid: number;
  ldapUrl: string;
  ldapsUrl: string;
  caFile: string;
  tlsServerName: string;
  baseDn: string;
  adminUpn: string;
  adminDn: string;
  adminPassword: string;
}

const REALM = 'CORP.EXAMPLE.TEST';
const DOMAIN = 'CORP';
const HOST = 'dc1';
const IP = '127.0.0.1';
const ADMIN_PASSWORD = 'Passw0rd!Probe';
const BASE_DN = REALM.toLowerCase()
  .split('.')
  .map((p) => `DC=${p}`)
  .join(',');
const PACKAGES = ['samba-ad-dc', 'samba-ad-provision', 'ldb-tools'];

function log(line: string): void {
  process.stderr.write(`# ${line}\n`);
}

/** Debian's packages for a DC, installed without starting their services (they would listen everywhere). */
function install(dir: string): void {
  const have = (cmd: string) => {
    try {
      execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  if (have('samba') && have('ldbmodify') && fs.existsSync('/usr/share/samba/setup/ad-schema')) return;
  const policy = '/usr/sbin/policy-rc.d';
  const ownPolicy = !fs.existsSync(policy);
  if (ownPolicy) fs.writeFileSync(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  const aptLog = path.join(dir, 'apt.log');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const apt = (args: string[]) =>
    execFileSync('apt-get', args, { env, stdio: ['ignore', fs.openSync(aptLog, 'a'), fs.openSync(aptLog, 'a')] });
  try {
    try {
      apt(['install', '-y', '-q', '--no-install-recommends', ...PACKAGES]);
    } catch {
      apt(['update', '-q']);
      apt(['install', '-y', '-q', '--no-install-recommends', ...PACKAGES]);
    }
  } catch {
    throw new Error(`installing ${PACKAGES.join(' ')} failed:\n${tail(aptLog)}`);
  } finally {
    if (ownPolicy) fs.rmSync(policy, { force: true });
  }
  log(`installed ${PACKAGES.join(' ')}`);
}

/** A new domain in DIR (only when DIR has none), with the seed loaded straight into its database. */
function provision(dir: string, seed: string | undefined, strongAuth: boolean): void {
  const conf = path.join(dir, 'etc', 'smb.conf');
  if (fs.existsSync(conf)) return;
  for (const sub of ['etc', 'private', 'state', 'cache', 'bind-dns'])
    fs.rmSync(path.join(dir, sub), { recursive: true, force: true });
  const run = path.join(dir, 'run');
  const options = {
    interfaces: IP,
    'bind interfaces only': 'yes',
    'server services': 'ldap', // LDAP only: no SMB, DNS, Kerberos KDC listeners
    'pid directory': run,
    'ncalrpc dir': path.join(run, 'ncalrpc'),
    'winbindd socket directory': path.join(run, 'winbindd'),
    'ntp signd socket directory': path.join(run, 'ntp_signd'),
    'log file': path.join(dir, 'log', 'log.%m'),
  };
  const provisionLog = path.join(dir, 'provision.log');
  try {
    execFileSync(
      'samba-tool',
      [
        'domain',
        'provision',
        `--realm=${REALM}`,
        `--domain=${DOMAIN}`,
        '--server-role=dc',
        '--dns-backend=NONE',
        '--use-rfc2307',
        `--host-name=${HOST}`,
        `--adminpass=${ADMIN_PASSWORD}`,
        `--targetdir=${dir}`,
        ...Object.entries(options).map(([k, v]) => `--option=${k}=${v}`),
      ],
      { stdio: ['ignore', fs.openSync(provisionLog, 'w'), fs.openSync(provisionLog, 'a')] },
    );
  } catch {
    throw new Error(`provisioning the domain failed:\n${tail(provisionLog)}`);
  }
  // samba-tool does not write this one: AD's own default is "yes".
  const text = fs.readFileSync(conf, 'utf8');
  fs.writeFileSync(
    conf,
    text.replace(/^\[global\]$/m, `[global]\n\tldap server require strong auth = ${strongAuth ? 'yes' : 'no'}`),
  );
  log('provisioned');
  if (seed) {
    // Offline, into sam.ldb: no LDAP round trips and no password policy, seconds for thousands of entries.
    try {
      execFileSync('ldbmodify', ['-H', path.join(dir, 'private', 'sam.ldb'), seed], { stdio: 'pipe' });
    } catch (err) {
      throw new Error(`loading ${seed} failed: ${String((err as { stderr?: Buffer }).stderr ?? err)}`, { cause: err });
    }
    log(`seeded from ${seed}`);
  }
}

function running(dir: string): number | undefined {
  const file = path.join(dir, 'samba.pid');
  if (!fs.existsSync(file)) return undefined;
  const pid = Number(fs.readFileSync(file, 'utf8'));
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: IP, port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

/** Whether the DC's LDAP answers with its naming context (anonymous RootDSE read, as any client's first look). */
function ldapReady(): boolean {
  try {
    const out = execFileSync(
      'ldapsearch',
      ['-x', '-H', `ldap://${IP}`, '-s', 'base', '-b', '', 'defaultNamingContext'],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
        timeout: 5000,
      },
    );
    return out.includes(`defaultNamingContext: ${BASE_DN}`);
  } catch {
    return false;
  }
}

/** Installs, provisions (once) and starts the DC in DIR, or finds it running; resolves once LDAP answers. */
export async function startAd(dirArg: string, seed?: string): Promise<AdInfo> {
  fs.mkdirSync(dirArg, { recursive: true });
  const dir = fs.realpathSync(dirArg);
  const strongAuth = process.env.AD_STRONG_AUTH !== 'no';
  install(dir);
  provision(dir, seed, strongAuth);
  fs.mkdirSync(path.join(dir, 'run'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'log'), { recursive: true });
  let pid = running(dir);
  if (!pid) {
    if (await portOpen(389)) throw new Error(`${IP}:389 is in use: another directory server runs on this machine`);
    const out = fs.openSync(path.join(dir, 'samba.out'), 'w');
    const child = spawn(
      'samba',
      [
        '-i',
        '-M',
        'single',
        '-s',
        path.join(dir, 'etc', 'smb.conf'),
        `--maximum-runtime=${process.env.AD_MAX_RUNTIME ?? 7200}`,
        '--debug-stdout',
        '-d1',
      ],
      { detached: true, stdio: ['ignore', out, out] },
    );
    child.unref();
    pid = child.pid!;
    fs.writeFileSync(path.join(dir, 'samba.pid'), String(pid));
  }
  const deadline = Date.now() + Number(process.env.AD_WAIT ?? 90) * 1000;
  while (!ldapReady()) {
    if (!running(dir)) throw new Error(`samba exited:\n${tail(path.join(dir, 'samba.out'))}`);
    if (Date.now() > deadline) throw new Error(`LDAP did not answer in time:\n${tail(path.join(dir, 'samba.out'))}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const info: AdInfo = {
    pid,
    ldapUrl: `ldap://${IP}:389`,
    ldapsUrl: `ldaps://${IP}:636`,
    caFile: path.join(dir, 'private', 'tls', 'ca.pem'),
    tlsServerName: `${HOST}.${REALM.toLowerCase()}`,
    baseDn: BASE_DN,
    adminUpn: `Administrator@${REALM}`,
    adminDn: `CN=Administrator,CN=Users,${BASE_DN}`,
    adminPassword: ADMIN_PASSWORD,
  };
  fs.writeFileSync(path.join(dir, 'ad.json'), JSON.stringify(info, null, 2));
  return info;
}

/** Stops the DC started from DIR (SIGTERM, then SIGKILL after 10 s). */
export async function stopAd(dir: string): Promise<void> {
  const pid = running(dir);
  if (pid) {
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 100 && running(dir); i++) await new Promise((r) => setTimeout(r, 100));
    if (running(dir)) process.kill(pid, 'SIGKILL');
  }
  fs.rmSync(path.join(dir, 'samba.pid'), { force: true });
}

function tail(file: string, lines = 20): string {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n') : '';
}

if (require.main === module) {
  const [cmd, dir, seed] = process.argv.slice(2);
  const usage = 'usage: tsx scripts/sambaAd.ts start DIR [SEED.ldif] | stop DIR';
  const work =
    cmd === 'start' && dir
      ? startAd(dir, seed).then((info) => console.log(JSON.stringify(info, null, 2)))
      : cmd === 'stop' && dir
        ? stopAd(dir)
        : Promise.reject(new Error(usage));
  work.catch((err: Error) => {
    console.error(err.message);
    process.exit(1);
  });
}
