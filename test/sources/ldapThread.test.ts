import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NoSuchObjectError } from 'ldapts';
import { openSession, readerThread } from '../../src/sources/ldap/client';
import { explainLdapError } from '../../src/sources/ldap/errors';
import { ldapSettingsSchema } from '../../src/sources/ldap/settings';
import { partOf } from '../../src/sources/ldap/wire';
import { PullFailed } from '../../src/sources/source';
import { describeWithSlapd, Slapd } from '../support/slapd';

/**
 * The LDAP client runs on a thread of its own (src/sources/ldap/client.ts, worker.ts): pages arrive
 * whole although they cross in parts, binary values arrive as Buffers, errors keep their class,
 * and a thread that stops fails what was in flight in one sentence and is started again.
 */
const USERS = 1200;
const GROUPS = 30;
let slapd: Slapd;

function seed(): string {
  const base = 'dc=example,dc=test';
  const lines = [`dn: ${base}`, 'objectClass: dcObject', 'objectClass: organization', 'dc: example', 'o: Example', ''];
  lines.push(`dn: ou=people,${base}`, 'objectClass: organizationalUnit', 'ou: people', '');
  lines.push(`dn: ou=groups,${base}`, 'objectClass: organizationalUnit', 'ou: groups', '');
  const dns: string[] = [];
  for (let i = 0; i < USERS; i++) {
    const dn = `uid=user${i},ou=people,${base}`;
    dns.push(dn);
    lines.push(`dn: ${dn}`, 'objectClass: inetOrgPerson', `uid: user${i}`, `cn: User ${i}`, `sn: ${i}`);
    lines.push(`mail: user${i}@example.test`, '');
  }
  for (let g = 0; g < GROUPS; g++)
    lines.push(
      `dn: cn=group${g},ou=groups,${base}`,
      'objectClass: groupOfNames',
      `cn: group${g}`,
      ...dns.map((d) => `member: ${d}`),
      '',
    );
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ldap-thread-')), 'seed.ldif');
  fs.writeFileSync(file, lines.join('\n'));
  return file;
}

describe('LDAP entries in parts (wire)', () => {
  const entry = (n: number) => ({ dn: `cn=g${n}`, member: Array.from({ length: n }, (_, i) => `uid=u${i}`) });

  it('a part holds at most the budget of values, at least one entry, and the parts make the page again', () => {
    const page = [entry(10), entry(50), entry(5), entry(200), entry(1), entry(1)];
    const parts = [];
    for (let at = 0; at < page.length;) {
      const part = partOf(page, at, 60);
      parts.push(part);
      at += part.length;
    }
    expect(parts.map((p) => p.map((e) => e.dn))).toEqual([
      ['cn=g10'],
      ['cn=g50', 'cn=g5'],
      ['cn=g200'],
      ['cn=g1', 'cn=g1'],
    ]);
    expect(parts.flat()).toEqual(page);
  });
});

describeWithSlapd('the LDAP reader thread (OpenLDAP)', () => {
  beforeAll(async () => {
    slapd = await new Slapd().start({ seedLdif: seed() });
  }, 60_000);
  afterAll(async () => {
    await slapd?.stop();
  });

  const settings = () =>
    ldapSettingsSchema.parse({
      directoryType: 'openldap',
      urls: [slapd.url],
      caCertificate: slapd.caPem,
      bindName: slapd.adminDn,
      users: { baseDn: `ou=people,${slapd.baseDn}` },
      groups: { baseDn: `ou=groups,${slapd.baseDn}` },
    });

  it("keeps the server's pages whole though a page of big groups crosses in several parts", async () => {
    const session = await openSession(settings(), slapd.adminPassword);
    const calls = jest.spyOn(readerThread, 'call');
    try {
      const sizes: number[] = [];
      for await (const page of session.pages(`ou=people,${slapd.baseDn}`, {
        scope: 'one',
        attributes: ['uid', 'mail'],
      }))
        sizes.push(page.length);
      expect(sizes).toEqual([1000, USERS - 1000]);

      calls.mockClear();
      const groups = [];
      for await (const page of session.pages(`ou=groups,${slapd.baseDn}`, {
        scope: 'one',
        attributes: ['cn', 'member'],
      }))
        groups.push(page);
      expect(groups.map((p) => p.length)).toEqual([GROUPS]);
      expect(groups[0].every((g) => Array.isArray(g.member) && g.member.length === USERS)).toBe(true);
      // 36,000 member values: at least four parts of 10,000, each asked for on its own.
      const parts = calls.mock.calls.filter(([ask]) => ask.op === 'next').length;
      expect(parts).toBeGreaterThanOrEqual(4);
    } finally {
      calls.mockRestore();
      await session.close();
    }
  });

  it('binary values arrive as Buffers; errors keep their class: a missing base is NoSuchObjectError, a refused bind PullFailed', async () => {
    const session = await openSession(settings(), slapd.adminPassword);
    try {
      const e = await session.read(`uid=user7,ou=people,${slapd.baseDn}`, ['uid', 'entryUUID'], ['entryUUID']);
      expect(e?.uid).toBe('user7');
      expect(Buffer.isBuffer(e?.entryUUID)).toBe(true);
      expect((e?.entryUUID as Buffer).toString()).toMatch(/^[0-9a-f-]{36}$/);

      const missing = `ou=nobody,${slapd.baseDn}`;
      let thrown: unknown;
      try {
        for await (const page of session.pages(missing, { scope: 'one' })) void page;
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(NoSuchObjectError);
      expect(explainLdapError(thrown, { url: slapd.url, baseDn: missing })).toMatch(/has no entry "ou=nobody/);
      expect(await session.find(missing, { scope: 'one' })).toEqual([]);

      // A refused bind is explained on the thread and arrives as the PullFailed it was.
      const refused = openSession(settings(), 'wrong-password');
      await expect(refused).rejects.toThrow(PullFailed);
      await expect(refused).rejects.toThrow(/refused the bind as cn=admin,dc=example,dc=test/);
    } finally {
      await session.close();
    }
  });

  it('the thread stops two seconds after its last session closed, and starts again for the next', async () => {
    const session = await openSession(settings(), slapd.adminPassword);
    expect(readerThread.running).toBe(true);
    await session.close();
    await new Promise((r) => setTimeout(r, 1000));
    expect(readerThread.running).toBe(true); // a read's sessions follow each other closely
    for (let i = 0; i < 50 && readerThread.running; i++) await new Promise((r) => setTimeout(r, 100));
    expect(readerThread.running).toBe(false);
    const again = await openSession(settings(), slapd.adminPassword);
    try {
      expect(await again.read(`uid=user1,ou=people,${slapd.baseDn}`, ['uid'])).toMatchObject({ uid: 'user1' });
    } finally {
      await again.close();
    }
  });

  it('a thread that stops fails the read in flight in one sentence, and the next read starts a new one', async () => {
    const session = await openSession(settings(), slapd.adminPassword);
    const pages = session.pages(`ou=people,${slapd.baseDn}`, { scope: 'one', attributes: ['uid'] });
    expect((await pages.next()).value).toHaveLength(1000);
    await readerThread.stop();
    await expect(pages.next()).rejects.toThrow(PullFailed);
    await expect(session.find(`ou=people,${slapd.baseDn}`, { scope: 'one' })).rejects.toThrow(
      /the connection to the directory has ended/i,
    );

    const again = await openSession(settings(), slapd.adminPassword);
    try {
      let n = 0;
      for await (const page of again.pages(`ou=people,${slapd.baseDn}`, { scope: 'one', attributes: ['uid'] }))
        n += page.length;
      expect(n).toBe(USERS);
    } finally {
      await again.close();
    }
  });
});
