import crypto from 'node:crypto';
import { Attribute, Change, Control } from 'ldapts';
import { Sql } from '../../src/db/sql';
import { PullStore } from '../../src/directory/pull';
import { openSession } from '../../src/sources/ldap/client';
import { guidToString } from '../../src/sources/ldap/entry';
import { LdapFullRead } from '../../src/sources/ldap/read';
import { LdapRead, TOMBSTONES_HIDDEN, type LdapCursor } from '../../src/sources/ldap/incremental';
import { LdapService } from '../../src/sources/ldap/service';
import { ConnectionRepository } from '../../src/db/connections';
import { SourceStateRepository } from '../../src/sources/state';
import { createSecretBox } from '../../src/crypto/secrets';
import { createLogger } from '../../src/logger';
import { AddressGuard } from '../../src/sources/outbound';
import { ldapSettingsSchema, type LdapSettings } from '../../src/sources/ldap/settings';
import { PullFailed } from '../../src/sources/source';
import { createTestDatabase, insertLdapConnection, type TestDatabase } from '../support/db';
import { describeWithAd, RANGED, startAd, type Ad } from '../support/samba';

/**
 * The LDAP reader against a real Active Directory (Samba 4 AD DC, strong auth required): users keyed
 * by objectGUID in its canonical form, disabled by userAccountControl, a group of more than 1,500
 * members read by ranges, nested groups with a cycle, LDAPS and StartTLS with the DC's CA, and AD's
 * bind refusals in words. Each test works in an OU of its own.
 */
let ad: Ad;
let db: TestDatabase;
let sql: Sql;

describeWithAd('LDAP full read (Active Directory, Samba)', () => {
  beforeAll(async () => {
    ad = startAd();
    db = await createTestDatabase();
    sql = new Sql(db.sequelize);
  }, 240_000);
  /** Each test's OU, deleted with its subtree at the end: the domain outlives the run, and a big one slows every add. */
  const created: string[] = [];
  afterAll(async () => {
    await ad
      ?.withAdmin(async (c) => {
        for (const ou of created) await c.del(ou, new Control('1.2.840.113556.1.4.805')); // tree delete
      })
      .catch((err: unknown) => console.warn(`could not clean the test OUs up: ${String(err)}`));
    await db?.drop();
  }, 120_000);

  async function fixture() {
    const name = `t${crypto.randomBytes(4).toString('hex')}`;
    const ou = `OU=${name},${ad.baseDn}`;
    created.push(ou);
    await ad.withAdmin(async (c) => {
      await c.add(ou, { objectClass: 'organizationalUnit', ou: name });
      await c.add(`OU=People,${ou}`, { objectClass: 'organizationalUnit', ou: 'People' });
      await c.add(`OU=Groups,${ou}`, { objectClass: 'organizationalUnit', ou: 'Groups' });
    });
    const connectionId = await insertLdapConnection((t, p) => sql.query(t, p), name, 'activeDirectory');
    const settings = ldapSettingsSchema.parse({
      directoryType: 'activeDirectory',
      urls: [ad.ldapsUrl],
      caCertificate: ad.caPem,
      tlsServerName: ad.tlsServerName,
      bindName: ad.adminUpn,
      users: { baseDn: `OU=People,${ou}` },
      groups: { baseDn: `OU=Groups,${ou}` },
    });
    const read = async (s: LdapSettings = settings) => {
      const session = await openSession(s, ad.adminPassword);
      try {
        return await new LdapFullRead(connectionId, s, session, new PullStore(sql)).run();
      } finally {
        await session.close();
      }
    };
    const addUser = (sam: string, disabled = false) =>
      ad.withAdmin((c) =>
        c.add(`CN=${sam},OU=People,${ou}`, {
          objectClass: 'user',
          // sAMAccountName and the UPN are unique in the domain, which outlives a test run: prefix them.
          sAMAccountName: `${name}-${sam}`,
          userPrincipalName: `${name}-${sam}@corp.example.test`,
          mail: `${name}-${sam}@corp.example.test`,
          displayName: sam.toUpperCase(),
          userAccountControl: disabled ? '514' : '512',
        }),
      );
    const addGroup = (cn: string, members: string[]) =>
      ad.withAdmin((c) =>
        c.add(`CN=${cn},OU=Groups,${ou}`, {
          objectClass: 'group',
          sAMAccountName: `${name}-${cn}`,
          ...(members.length ? { member: members } : {}),
        }),
      );
    const userDn = (sam: string) => `CN=${sam},OU=People,${ou}`;
    const groupDn = (cn: string) => `CN=${cn},OU=Groups,${ou}`;
    const stored = async () => ({
      users: (
        await sql.query<{ id: string; user_name: string; active: boolean }>(
          'SELECT id, user_name, active FROM directory_users WHERE connection_id = $1 ORDER BY user_name',
          [connectionId],
        )
      ).map((u) => ({ ...u, user_name: u.user_name.replace(`${name}-`, '') })),
      groups: Object.fromEntries(
        (
          await sql.query<{ name: string; n: number }>(
            `SELECT g.display_name AS name, count(m.user_id)::int AS n FROM directory_groups g
             LEFT JOIN directory_memberships m ON m.connection_id = g.connection_id AND m.group_id = g.id
             WHERE g.connection_id = $1 GROUP BY g.display_name`,
            [connectionId],
          )
        ).map((r) => [r.name, r.n]),
      ),
    });
    const readFrom = async (
      mode: 'full' | 'auto',
      cursor: LdapCursor | undefined,
      as: { settings: LdapSettings; password: string } = { settings, password: ad.adminPassword },
    ) => {
      const session = await openSession(as.settings, as.password);
      try {
        const r = new LdapRead(connectionId, as.settings, session, new PullStore(sql));
        const next = await r.read(mode, cursor);
        return { next, progress: r.progress, changes: r.changed() };
      } finally {
        await session.close();
      }
    };
    /** A plain domain account (Domain Users only, as docs/ldap.md recommends) to bind as. */
    const plainAccount = async (sam: string) => {
      const password = 'Reader-Passw0rd!x';
      const account = `${name}-${sam}`;
      const dn = `CN=${sam},OU=${name},${ad.baseDn}`;
      await ad.withAdmin(async (c) => {
        await c.add(dn, {
          objectClass: 'user',
          sAMAccountName: account,
          userPrincipalName: `${account}@corp.example.test`,
        });
        const set = (type: string, values: Buffer[] | string[]) =>
          c.modify(dn, new Change({ operation: 'replace', modification: new Attribute({ type, values }) }));
        await set('unicodePwd', [Buffer.from(`"${password}"`, 'utf16le')]);
        await set('userAccountControl', ['512']);
      });
      return { settings: { ...settings, bindName: `${account}@corp.example.test` }, password };
    };
    return { ou, settings, read, readFrom, addUser, addGroup, userDn, groupDn, stored, connectionId, plainAccount };
  }

  it('as a plain domain account, which cannot see tombstones: Test connection says so, and an incremental read finds a deleted user by scanning, and says so once', async () => {
    const f = await fixture();
    for (const n of ['ann', 'bob', 'cy']) await f.addUser(n);
    const plain = await f.plainAccount('reader');
    const nc = ad.baseDn;
    const sees = async (as: { settings: LdapSettings; password: string }) => {
      const session = await openSession(as.settings, as.password);
      try {
        return await session.seesTombstones(nc);
      } finally {
        await session.close();
      }
    };
    // A deletion first, so that the domain has a tombstone for an administrator to see (a new one has none).
    await f.addUser('gone');
    await ad.withAdmin((c) => c.del(f.userDn('gone')));
    expect(await sees({ settings: f.settings, password: ad.adminPassword })).toBe(true); // an administrator does
    expect(await sees(plain)).toBe(false);

    const service = new LdapService({
      connections: new ConnectionRepository(sql),
      state: new SourceStateRepository(sql),
      box: createSecretBox(crypto.randomBytes(32)),
      pull: new PullStore(sql),
      logger: createLogger('silent'),
      guard: new AddressGuard(['127.0.0.0/8']),
    });
    expect(await service.test(plain.settings, plain.password)).toMatchObject({
      ok: true,
      users: 3,
      tombstones: false,
      message: expect.stringMatching(
        /This account sees no deleted objects: incremental reads will scan the scope for deletions \(grant it "List contents" on CN=Deleted Objects to read tombstones instead\)\.$/,
      ),
    });
    expect(await service.test(f.settings, ad.adminPassword)).toMatchObject({ ok: true, tombstones: true });

    const first = await f.readFrom('full', undefined, plain);
    expect(first.next).toMatchObject({ kind: 'usn' });
    await ad.withAdmin((c) => c.del(f.userDn('cy')));
    const second = await f.readFrom('auto', first.next!, plain);
    expect(second.progress).toMatchObject({ mode: 'incremental', removed: 1, note: TOMBSTONES_HIDDEN });
    expect((await f.stored()).users.map((u) => u.user_name)).toEqual(['ann', 'bob']);
    // With the rights, the same read goes by tombstones and says nothing.
    await ad.withAdmin((c) => c.del(f.userDn('bob')));
    const third = await f.readFrom('auto', second.next!);
    expect(third.progress).toMatchObject({ mode: 'incremental', removed: 1 });
    expect(third.progress.note).toBeUndefined();
  });

  it('reads users by objectGUID (canonical), disabled by userAccountControl, nested groups with a cycle', async () => {
    const f = await fixture();
    await f.addUser('ann');
    await f.addUser('bob', true);
    await f.addUser('cy');
    await f.addGroup('Inner', [f.userDn('bob')]);
    await f.addGroup('Outer', [f.userDn('ann'), f.groupDn('Inner')]);
    await ad.withAdmin((c) =>
      c.modify(
        f.groupDn('Inner'),
        new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [f.groupDn('Outer')] }) }),
      ),
    );
    const p = await f.read();
    expect(p).toMatchObject({ usersSeen: 3, groupsSeen: 2, conflicts: [] });
    const st = await f.stored();
    expect(st.users.map((u) => [u.user_name, u.active])).toEqual([
      ['ann', true],
      ['bob', false],
      ['cy', true],
    ]);
    expect(st.groups).toEqual({ Inner: 2, Outer: 2 });
    // The id is the objectGUID in its canonical (registry) form: the DC finds the entry by it.
    const found = await ad.withAdmin((c) =>
      c.search(`<GUID=${st.users[0].id}>`, {
        scope: 'base',
        attributes: ['sAMAccountName', 'objectGUID'],
        explicitBufferAttributes: ['objectGUID'],
      }),
    );
    expect(found.searchEntries[0].sAMAccountName).toMatch(/-ann$/);
    expect(guidToString(found.searchEntries[0].objectGUID as Buffer)).toBe(st.users[0].id);
  });

  it('reads incrementally by uSNChanged: only what changed, deletions through Show Deleted, a move out of scope, a membership change', async () => {
    const f = await fixture();
    for (const n of ['ann', 'bob', 'cy', 'dee', 'eve']) await f.addUser(n);
    await f.addGroup('Team', [f.userDn('ann'), f.userDn('bob')]);
    const first = await f.readFrom('full', undefined);
    expect(first.progress).toMatchObject({ mode: 'full', usersSeen: 5 });
    expect(first.next).toMatchObject({ kind: 'usn', usn: expect.any(Number) });
    const ids = Object.fromEntries((await f.stored()).users.map((u) => [u.user_name, u.id]));

    await ad.withAdmin(async (c) => {
      await c.modify(
        f.userDn('ann'),
        new Change({
          operation: 'replace',
          modification: new Attribute({ type: 'displayName', values: ['Ann Again'] }),
        }),
      );
      await c.modify(
        f.userDn('bob'),
        new Change({
          operation: 'replace',
          modification: new Attribute({ type: 'userAccountControl', values: ['514'] }),
        }),
      );
      await c.modify(
        f.groupDn('Team'),
        new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [f.userDn('dee')] }) }),
      );
      await c.del(f.userDn('cy'));
      await c.add(`OU=Elsewhere,${f.ou}`, { objectClass: 'organizationalUnit', ou: 'Elsewhere' });
      await c.modifyDN(f.userDn('eve'), `CN=eve,OU=Elsewhere,${f.ou}`);
    });
    const second = await f.readFrom('auto', first.next!);
    expect(second.progress).toMatchObject({ mode: 'incremental', usersSeen: 2, removed: 2 }); // ann, bob read; cy deleted, eve moved out
    const st = await f.stored();
    expect(st.users.map((u) => [u.user_name, u.active])).toEqual([
      ['ann', true],
      ['bob', false],
      ['dee', true],
    ]);
    expect(st.groups).toEqual({ Team: 3 });
    expect(new Set(second.changes!.userIds)).toEqual(new Set([ids.ann, ids.bob, ids.cy, ids.dee, ids.eve]));
    expect(second.changes!.groupIds).toHaveLength(1);

    // A cursor from another DC (or a restored one) cannot be trusted: full read, and it says why.
    const third = await f.readFrom('auto', {
      ...(second.next as Extract<LdapCursor, { kind: 'usn' }>),
      invocationId: 'ff',
    });
    expect(third.progress).toMatchObject({
      mode: 'full',
      note: expect.stringMatching(/restored \(new invocationId\): full read/),
    });
  });

  it('reads a group of more than 1,500 members by ranges', async () => {
    // The group and its users are the domain's seed (loaded offline when it was provisioned):
    // adding 1,600 users over LDAP takes minutes on a slow machine.
    const f = await fixture();
    const p = await f.read({
      ...f.settings,
      users: { ...f.settings.users, baseDn: `OU=People,${RANGED.ou}` },
      groups: { ...f.settings.groups, baseDn: `OU=Groups,${RANGED.ou}` },
    });
    expect(p.usersSeen).toBe(RANGED.members);
    expect((await f.stored()).groups).toEqual({ Everyone: RANGED.members });
  });

  it('binds over LDAPS and StartTLS with the CA; plain LDAP is refused by the DC; a wrong password, a disabled account and one that must change its password are said in words', async () => {
    const f = await fixture();
    await f.addUser('tls');
    await expect(f.read({ ...f.settings, urls: [ad.ldapUrl], startTls: true })).resolves.toMatchObject({
      usersSeen: 1,
    });
    const say = (s: LdapSettings, pw: string) =>
      openSession(s, pw).then(
        async (session) => {
          await session.close();
          return 'connected';
        },
        (e: unknown) => (e instanceof PullFailed ? e.message : String(e)),
      );
    expect(await say({ ...f.settings, urls: [ad.ldapUrl], startTls: false }, ad.adminPassword)).toMatch(
      /requires an encrypted connection: use an ldaps:\/\/ URL, or turn StartTLS on/,
    );
    expect(await say(f.settings, 'wrong')).toMatch(
      /refused the bind as Administrator@CORP\.EXAMPLE\.TEST: the password is wrong/,
    );
    expect(await say({ ...f.settings, tlsServerName: null }, ad.adminPassword)).toMatch(
      /TLS certificate is not trusted/,
    );

    // Service accounts AD refuses for a reason of its own: each reason in words.
    const password = 'Svc-Passw0rd!x';
    const pwd = Buffer.from(`"${password}"`, 'utf16le');
    const account = async (sam: string, extra: Record<string, string>) => {
      const name = `${f.ou.slice(3, 12)}-${sam}`;
      const dn = `CN=${sam},OU=People,${f.ou}`;
      await ad.withAdmin(async (c) => {
        await c.add(dn, { objectClass: 'user', sAMAccountName: name, userPrincipalName: `${name}@corp.example.test` });
        await c.modify(
          dn,
          new Change({ operation: 'replace', modification: new Attribute({ type: 'unicodePwd', values: [pwd] }) }),
        );
        for (const [type, value] of Object.entries(extra))
          await c.modify(
            dn,
            new Change({ operation: 'replace', modification: new Attribute({ type, values: [value] }) }),
          );
      });
      return { ...f.settings, bindName: `${name}@corp.example.test` };
    };
    expect(await say(await account('svcok', { userAccountControl: '512' }), password)).toBe('connected');
    expect(await say(await account('svcoff', { userAccountControl: '514' }), password)).toMatch(
      /the bind account is disabled/,
    );
    expect(await say(await account('svcnew', { userAccountControl: '512', pwdLastSet: '0' }), password)).toMatch(
      /must change its password/,
    );
  });
});
