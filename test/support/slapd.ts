import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Attribute, Change, Client } from 'ldapts';
import { selfSignedCert } from './fakeEntra/cert';
import { freePort } from './net';

const SLAPD = '/usr/sbin/slapd';
const SLAPADD = '/usr/sbin/slapadd';

/** Whether OpenLDAP's server is on this machine (Debian's slapd; `.ci/run` installs it). */
export const haveSlapd = fs.existsSync(SLAPD) && fs.existsSync(SLAPADD);

/** Tests that need slapd: skipped with a loud notice on a laptop without it, a failure in CI. */
export function describeWithSlapd(name: string, fn: () => void): void {
  if (!haveSlapd && process.env.CI === 'true')
    throw new Error(`slapd is required in CI (${SLAPD}); .ci/run installs it`);
  if (!haveSlapd)
    console.warn(`\n*** SKIPPING "${name}": no OpenLDAP server at ${SLAPD} (apt-get install slapd ldap-utils) ***\n`);
  (haveSlapd ? describe : describe.skip)(name, fn);
}

/** One test that needs slapd (inside a describe that does not): the same rule as `describeWithSlapd`. */
export function itWithSlapd(name: string, fn: () => Promise<void>, timeout?: number): void {
  if (!haveSlapd && process.env.CI === 'true')
    throw new Error(`slapd is required in CI (${SLAPD}); .ci/run installs it`);
  (haveSlapd ? it : it.skip)(name, fn, timeout);
}

/**
 * A real OpenLDAP server (Debian's slapd) for one test file, on loopback ports of its own: an mdb
 * database under `dc=example,dc=test`, the `memberof`, `refint` and `accesslog` overlays (the log
 * under `cn=accesslog`, readable by any bound user), TLS with the test CA on
 * both StartTLS (`url`) and LDAPS (`ldapsUrl`), anonymous reads refused, a size limit of 500 per
 * search (paging needed above it, as on real servers). Started from a config folder in a temp dir
 * in under a second; `stop()` removes it.
 */
export class Slapd {
  readonly baseDn = 'dc=example,dc=test';
  readonly adminDn = 'cn=admin,dc=example,dc=test';
  readonly adminPassword = 'admin-secret';
  url = '';
  ldapsUrl = '';
  readonly caPem: string;
  private proc?: ChildProcess;
  private dir = '';

  constructor() {
    this.caPem = selfSignedCert().cert;
  }

  /** Starts the server; `seedLdif` (entries under the base, the base included) is loaded offline first with slapadd. */
  async start(opts: { seedLdif?: string } = {}): Promise<this> {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'idp-sync-slapd-'));
    const tls = selfSignedCert();
    const keyFile = path.join(this.dir, 'key.pem');
    fs.writeFileSync(keyFile, tls.key, { mode: 0o600 });
    fs.mkdirSync(path.join(this.dir, 'slapd.d'));
    fs.mkdirSync(path.join(this.dir, 'data'));
    fs.mkdirSync(path.join(this.dir, 'accesslog'));
    fs.writeFileSync(path.join(this.dir, 'config.ldif'), this.config(tls.certFile, keyFile));
    execFileSync(SLAPADD, ['-n0', '-F', path.join(this.dir, 'slapd.d'), '-l', path.join(this.dir, 'config.ldif')], {
      stdio: 'pipe',
    });
    if (opts.seedLdif)
      execFileSync(SLAPADD, ['-b', this.baseDn, '-q', '-F', path.join(this.dir, 'slapd.d'), '-l', opts.seedLdif], {
        stdio: 'pipe',
      });
    const [port, sslPort] = [await freePort(), await freePort()];
    this.url = `ldap://127.0.0.1:${port}`;
    this.ldapsUrl = `ldaps://127.0.0.1:${sslPort}`;
    this.proc = spawn(
      SLAPD,
      ['-d', '0', '-F', path.join(this.dir, 'slapd.d'), '-h', `${this.url}/ ${this.ldapsUrl}/`],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    this.proc.stderr!.on('data', (d) => (stderr += String(d)));
    for (let i = 0; ; i++) {
      if (this.proc.exitCode !== null) throw new Error(`slapd exited (${this.proc.exitCode}): ${stderr}`);
      try {
        await this.withAdmin(async () => undefined);
        break;
      } catch (err) {
        if (i > 100) throw new Error(`slapd did not answer: ${stderr}`, { cause: err });
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    if (!opts.seedLdif)
      await this.withAdmin(async (c) => {
        await c.add(this.baseDn, { objectClass: ['dcObject', 'organization'], dc: 'example', o: 'Example' });
      });
    return this;
  }

  async stop(): Promise<void> {
    if (this.proc && this.proc.exitCode === null) {
      this.proc.kill('SIGTERM');
      await new Promise((r) => this.proc!.once('exit', r));
    }
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** Runs `fn` with a client bound as the directory's admin (over plain LDAP on loopback). */
  async withAdmin<T>(fn: (c: Client) => Promise<T>): Promise<T> {
    const c = new Client({ url: this.url, timeout: 5000, connectTimeout: 2000 });
    try {
      await c.bind(this.adminDn, this.adminPassword);
      return await fn(c);
    } finally {
      await c.unbind().catch(() => undefined);
    }
  }

  /** Adds an organizational unit under the base (each test isolates itself in one). */
  async ou(name: string): Promise<string> {
    const dn = `ou=${name},${this.baseDn}`;
    await this.withAdmin((c) => c.add(dn, { objectClass: 'organizationalUnit', ou: name }));
    return dn;
  }

  /** Adds an organizational unit under another entry. */
  async ou2(parent: string, name: string): Promise<string> {
    const dn = `ou=${name},${parent}`;
    await this.withAdmin((c) => c.add(dn, { objectClass: 'organizationalUnit', ou: name }));
    return dn;
  }

  /** Adds an inetOrgPerson (uid, mail, cn, a password) under `parent`; returns its DN. */
  async addUser(
    parent: string,
    uid: string,
    attrs: { mail?: string; cn?: string; password?: string; extra?: Record<string, string | string[]> } = {},
  ): Promise<string> {
    const dn = `uid=${uid},${parent}`;
    await this.withAdmin((c) =>
      c.add(dn, {
        objectClass: ['inetOrgPerson'],
        uid,
        cn: attrs.cn ?? uid,
        sn: attrs.cn ?? uid,
        ...(attrs.mail ? { mail: attrs.mail } : {}),
        ...(attrs.password ? { userPassword: attrs.password } : {}),
        ...(attrs.extra ?? {}),
      }),
    );
    return dn;
  }

  /** Adds a groupOfNames with these member DNs (groupOfNames needs one: an empty group names itself). */
  async addGroup(parent: string, cn: string, members: string[]): Promise<string> {
    const dn = `cn=${cn},${parent}`;
    await this.withAdmin((c) =>
      c.add(dn, { objectClass: 'groupOfNames', cn, member: members.length ? members : [dn] }),
    );
    return dn;
  }

  async modify(dn: string, op: 'add' | 'delete' | 'replace', type: string, values: string[]): Promise<void> {
    await this.withAdmin((c) =>
      c.modify(dn, new Change({ operation: op, modification: new Attribute({ type, values }) })),
    );
  }

  async del(dn: string): Promise<void> {
    await this.withAdmin((c) => c.del(dn));
  }

  async rename(dn: string, newDn: string): Promise<void> {
    await this.withAdmin((c) => c.modifyDN(dn, newDn));
  }

  private config(certFile: string, keyFile: string): string {
    const d = this.dir;
    return `dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: ${d}/slapd.pid
olcTLSCACertificateFile: ${certFile}
olcTLSCertificateFile: ${certFile}
olcTLSCertificateKeyFile: ${keyFile}
olcSizeLimit: 500

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb
olcModuleLoad: memberof
olcModuleLoad: refint
olcModuleLoad: accesslog

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif
include: file:///etc/ldap/schema/cosine.ldif
include: file:///etc/ldap/schema/nis.ldif
include: file:///etc/ldap/schema/inetorgperson.ldif

dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend
olcSizeLimit: 500

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by * none

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcDbDirectory: ${d}/accesslog
olcSuffix: cn=accesslog
olcRootDN: ${this.adminDn}
olcDbMaxSize: 268435456
olcDbIndex: objectClass,reqStart,reqResult eq
olcAccess: {0}to * by users read by * none

dn: olcDatabase={2}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {2}mdb
olcDbDirectory: ${d}/data
olcSuffix: ${this.baseDn}
olcRootDN: ${this.adminDn}
olcRootPW: ${this.adminPassword}
olcDbMaxSize: 1073741824
olcDbIndex: objectClass eq
olcDbIndex: entryUUID eq
olcDbIndex: uid,mail eq
olcDbIndex: modifyTimestamp eq
olcAccess: {0}to attrs=userPassword by anonymous auth by * none
olcAccess: {1}to * by users read by * none
olcSizeLimit: 500

dn: olcOverlay={0}memberof,olcDatabase={2}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcMemberOf
olcOverlay: {0}memberof
olcMemberOfRefInt: TRUE

dn: olcOverlay={1}refint,olcDatabase={2}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcRefintConfig
olcOverlay: {1}refint
olcRefintAttribute: memberof member

dn: olcOverlay={2}accesslog,olcDatabase={2}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcAccessLogConfig
olcOverlay: {2}accesslog
olcAccessLogDB: cn=accesslog
olcAccessLogOps: writes
olcAccessLogSuccess: TRUE
olcAccessLogPurge: 07+00:00 01+00:00
`;
  }
}
