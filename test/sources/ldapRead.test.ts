import crypto from 'node:crypto';
import { Sql } from '../../src/db/sql';
import { PullStore } from '../../src/directory/pull';
import { openSession } from '../../src/sources/ldap/client';
import { dnKey } from '../../src/sources/ldap/entry';
import { LdapFullRead } from '../../src/sources/ldap/read';
import { LdapRead } from '../../src/sources/ldap/incremental';
import { ldapSettingsSchema, type LdapSettings } from '../../src/sources/ldap/settings';
import { PullFailed } from '../../src/sources/source';
import { createTestDatabase, insertLdapConnection, type TestDatabase } from '../support/db';
import { describeWithSlapd, Slapd } from '../support/slapd';

/**
 * The LDAP reader against a real OpenLDAP server (slapd with memberof): a full read into the
 * directory store, keyed by entryUUID; nested groups with a cycle; a rename and a move; a deletion;
 * disabled users by filter; paging past the server's size limit; StartTLS and LDAPS with the CA;
 * and the bind failures' sentences.
 */
let slapd: Slapd;
let db: TestDatabase;
let store: PullStore;
let sql: Sql;

describeWithSlapd('LDAP full read (OpenLDAP)', () => {
  beforeAll(async () => {
    slapd = await new Slapd().start();
    db = await createTestDatabase();
    sql = new Sql(db.sequelize);
    store = new PullStore(sql);
  }, 30_000);
  afterAll(async () => {
    await slapd?.stop();
    await db?.drop();
  });

  /** A connection row of its own, and settings for an OU of its own. */
  async function fixture(overrides: Record<string, unknown> = {}) {
    const name = `t${crypto.randomBytes(4).toString('hex')}`;
    const ou = await slapd.ou(name);
    const people = await slapd.ou2(ou, 'people');
    const groups = await slapd.ou2(ou, 'groups');
    const connectionId = await insertLdapConnection((t, p) => sql.query(t, p), name, 'openldap');
    const settings = ldapSettingsSchema.parse({
      directoryType: 'openldap',
      urls: [slapd.url],
      caCertificate: slapd.caPem,
      bindName: slapd.adminDn,
      users: { baseDn: people },
      groups: { baseDn: groups },
      ...overrides,
    });
    const read = async (s = settings) => {
      const session = await openSession(s, slapd.adminPassword);
      try {
        return await new LdapFullRead(connectionId, s, session, store).run();
      } finally {
        await session.close();
      }
    };
    const stored = async () => ({
      users: await sql.query<{ id: string; user_name: string; email: string | null; active: boolean }>(
        'SELECT id, user_name, email, active FROM directory_users WHERE connection_id = $1 ORDER BY user_name',
        [connectionId],
      ),
      groups: Object.fromEntries(
        (
          await sql.query<{ name: string; members: string[] }>(
            `SELECT g.display_name AS name, coalesce(array_agg(u.user_name ORDER BY u.user_name) FILTER (WHERE u.id IS NOT NULL), '{}') AS members
             FROM directory_groups g LEFT JOIN directory_memberships m ON m.connection_id = g.connection_id AND m.group_id = g.id
             LEFT JOIN directory_users u ON u.connection_id = m.connection_id AND u.id = m.user_id
             WHERE g.connection_id = $1 GROUP BY g.display_name`,
            [connectionId],
          )
        ).map((r) => [r.name, r.members]),
      ),
    });
    const readAuto = async (cursor: Parameters<LdapRead['read']>[1], with_: LdapSettings = settings) => {
      const session = await openSession(with_, slapd.adminPassword);
      try {
        const r = new LdapRead(connectionId, with_, session, store);
        const next = await r.read('auto', cursor);
        return { next, progress: r.progress, changes: r.changed() };
      } finally {
        await session.close();
      }
    };
    return { ou, people, groups, settings, read, readAuto, stored, connectionId };
  }

  it('reads users and groups with nested members (a cycle included), keyed by entryUUID: a rename and a move are updates, a deletion goes', async () => {
    const f = await fixture();
    const ann = await slapd.addUser(f.people, 'ann', { mail: 'ann@example.test', cn: 'Ann A' });
    const bob = await slapd.addUser(f.people, 'bob', { mail: 'bob@example.test' });
    const cy = await slapd.addUser(f.people, 'cy', { mail: 'cy@example.test' });
    const inner = await slapd.addGroup(f.groups, 'inner', [bob]);
    const outer = await slapd.addGroup(f.groups, 'outer', [ann, inner]);
    await slapd.modify(inner, 'add', 'member', [outer]); // a cycle: inner ⊂ outer ⊂ inner
    await slapd.addGroup(f.groups, 'solo', [cy]);

    const p = await f.read();
    expect(p).toMatchObject({ usersSeen: 3, groupsSeen: 3, conflicts: [] });
    let st = await f.stored();
    expect(st.users.map((u) => [u.user_name, u.email, u.active])).toEqual([
      ['ann', 'ann@example.test', true],
      ['bob', 'bob@example.test', true],
      ['cy', 'cy@example.test', true],
    ]);
    expect(st.groups).toEqual({ inner: ['ann', 'bob'], outer: ['ann', 'bob'], solo: ['cy'] });
    const annId = st.users[0].id;

    // Rename ann (a new uid) and move cy to another OU under the same base: the same ids, updated.
    await slapd.rename(ann, `uid=anna,${f.people}`);
    await slapd.modify(`uid=anna,${f.people}`, 'replace', 'uid', ['anna']);
    const sub = await slapd.ou2(f.people, 'moved');
    await slapd.rename(cy, `uid=cy,${sub}`);
    await slapd.del(bob);
    await f.read();
    st = await f.stored();
    expect(st.users.map((u) => u.user_name)).toEqual(['anna', 'cy']);
    expect(st.users[0].id).toBe(annId);
    expect(st.groups).toEqual({ inner: ['anna'], outer: ['anna'], solo: ['cy'] });
  });

  it('a full read of a directory where nothing changed writes no row and reports no change; one that finds changes reports the users they concern', async () => {
    const f = await fixture();
    const users = [];
    for (let i = 0; i < 12; i++) users.push(await slapd.addUser(f.people, `u${i}`, { mail: `u${i}@example.test` }));
    const team = await slapd.addGroup(f.groups, 'team', users.slice(0, 8));
    await slapd.addGroup(f.groups, 'ops', users.slice(6));
    const readFull = async () => {
      const session = await openSession(f.settings, slapd.adminPassword);
      try {
        const r = new LdapRead(f.connectionId, f.settings, session, store);
        await r.read('full', undefined);
        return { progress: r.progress, changes: r.changed() };
      } finally {
        await session.close();
      }
    };
    // Each row's xmin: the transaction that last wrote it (an update, even to the same values, is a new one).
    const versions = async () =>
      (
        await sql.query<{ v: string }>(
          `SELECT string_agg(x, ',' ORDER BY x) AS v FROM (
             SELECT id::text || xmin::text AS x FROM directory_users WHERE connection_id = $1
             UNION ALL SELECT id::text || xmin::text FROM directory_groups WHERE connection_id = $1
             UNION ALL SELECT group_id::text || user_id::text || xmin::text FROM directory_memberships WHERE connection_id = $1) r`,
          [f.connectionId],
        )
      )[0].v;

    const first = await readFull();
    expect(first.progress).toMatchObject({ mode: 'full', usersSeen: 12, rowsWritten: 12 + 2 + 14 });
    expect(first.changes).toBeUndefined(); // every user is new: the run reconciles in full
    const before = await versions();

    const bulk = jest.spyOn(sql, 'bulk');
    const again = await readFull();
    // Same digests: no user is even sent to the database (nor a membership it already holds).
    const sent = bulk.mock.calls.map(([text]) => text);
    bulk.mockRestore();
    expect(sent.filter((t) => t.includes('INSERT INTO directory_users'))).toEqual([]);
    expect(sent.filter((t) => t.includes('INSERT INTO directory_memberships'))).toEqual([]);
    expect(again.progress).toMatchObject({ mode: 'full', usersSeen: 12, groupsSeen: 2, rowsWritten: 0, removed: 0 });
    expect(again.changes).toEqual({ userIds: [], groupIds: [], wide: false });
    expect(await versions()).toBe(before);

    // Rows without a digest (written before digests were kept) are compared in the database: the
    // digest is added, and nothing counts as a change.
    await sql.query('UPDATE directory_users SET digest = NULL WHERE connection_id = $1', [f.connectionId]);
    const undigested = await readFull();
    expect(undigested.progress).toMatchObject({ rowsWritten: 12 });
    expect(undigested.changes).toEqual({ userIds: [], groupIds: [], wide: false });
    expect((await readFull()).progress).toMatchObject({ rowsWritten: 0 });

    // One attribute, one membership gone, one user deleted: those users, and nobody else.
    const ids = new Map((await f.stored()).users.map((u) => [u.user_name, u.id]));
    await slapd.modify(users[1], 'replace', 'mail', ['one@example.test']);
    await slapd.modify(team, 'delete', 'member', [users[2]]);
    await slapd.del(users[11]);
    const changed = await readFull();
    expect(changed.progress).toMatchObject({ usersSeen: 11, removed: 1, rowsWritten: 3 });
    expect(changed.changes).toEqual({
      userIds: expect.arrayContaining([ids.get('u1'), ids.get('u2'), ids.get('u11')]),
      groupIds: [],
      wide: false,
    });
    expect(changed.changes!.userIds).toHaveLength(3);

    // A group renamed changes what each of its members maps to: every user.
    await slapd.rename(team, `cn=crew,${f.groups}`);
    const renamed = await readFull();
    expect(renamed.changes).toMatchObject({ userIds: [], wide: true });
    expect(renamed.progress.rowsWritten).toBe(1);
  });

  it('reads incrementally by modifyTimestamp: changes, a deletion found by the id scan, a membership change', async () => {
    const f = await fixture();
    const ann = await slapd.addUser(f.people, 'ann', { mail: 'ann@example.test' });
    const bob = await slapd.addUser(f.people, 'bob', { mail: 'bob@example.test' });
    const cy = await slapd.addUser(f.people, 'cy', { mail: 'cy@example.test' });
    const team = await slapd.addGroup(f.groups, 'team', [ann]);
    const first = await f.readAuto(undefined);
    expect(first.progress).toMatchObject({ mode: 'full', note: expect.stringMatching(/no position/) });
    expect(first.next).toMatchObject({ kind: 'timestamp' });
    await slapd.modify(bob, 'replace', 'mail', ['robert@example.test']);
    await slapd.modify(team, 'add', 'member', [bob]);
    await slapd.del(cy);
    const second = await f.readAuto(first.next!);
    expect(second.progress).toMatchObject({ mode: 'incremental', removed: 1 });
    const st = await f.stored();
    expect(st.users.map((u) => [u.user_name, u.email])).toEqual([
      ['ann', 'ann@example.test'],
      ['bob', 'robert@example.test'],
    ]);
    expect(st.groups).toEqual({ team: ['ann', 'bob'] });
    expect(second.changes?.wide).toBe(false);
    expect(second.changes?.userIds.length).toBeGreaterThanOrEqual(2);
  });

  it('incrementally reads only the groups that changed while no group is in another; one put in another brings every group back, flattened', async () => {
    const f = await fixture();
    const ann = await slapd.addUser(f.people, 'ann', { mail: 'ann@example.test' });
    const bob = await slapd.addUser(f.people, 'bob', { mail: 'bob@example.test' });
    const cy = await slapd.addUser(f.people, 'cy', { mail: 'cy@example.test' });
    const team = await slapd.addGroup(f.groups, 'team', [ann]);
    const other = await slapd.addGroup(f.groups, 'other', [bob, cy]);
    const parent = await slapd.addGroup(f.groups, 'parent', [cy]);
    // modifyTimestamp has whole seconds, and a cursor looks 5 minutes back: age each cursor as a later sync's would be.
    const aged = (c: Awaited<ReturnType<typeof f.readAuto>>['next']) => ({
      ...c!,
      since: new Date(Date.now() + 5 * 60_000 - 1000).toISOString(),
    });
    const tick = () => new Promise((r) => setTimeout(r, 2100));
    const first = await f.readAuto(undefined);
    expect(first.next).toMatchObject({ kind: 'timestamp', nested: false });

    await tick();
    const at = aged(first.next);
    await slapd.modify(team, 'add', 'member', [bob]);
    await slapd.modify(other, 'delete', 'member', [bob]);
    const second = await f.readAuto(at);
    expect(second.progress).toMatchObject({ mode: 'incremental', groupsSeen: 2, membershipsSeen: 2 });
    expect(second.next).toMatchObject({ nested: false });
    expect((await f.stored()).groups).toEqual({ team: ['ann', 'bob'], other: ['cy'], parent: ['cy'] });
    expect(second.changes?.userIds).toEqual([(await f.stored()).users.find((u) => u.user_name === 'bob')!.id]);

    await tick();
    const at2 = aged(second.next);
    await slapd.modify(parent, 'add', 'member', [team]);
    const third = await f.readAuto(at2);
    // The changed group first, then, a group being in it, all three.
    expect(third.progress).toMatchObject({ mode: 'incremental', groupsSeen: 4 });
    expect(third.next).toMatchObject({ nested: true });
    expect((await f.stored()).groups).toEqual({ team: ['ann', 'bob'], other: ['cy'], parent: ['ann', 'bob', 'cy'] });

    await tick();
    const at3 = aged(third.next);
    await slapd.modify(team, 'delete', 'member', [ann]);
    const fourth = await f.readAuto(at3);
    expect(fourth.progress).toMatchObject({ mode: 'incremental', groupsSeen: 3 });
    expect((await f.stored()).groups).toEqual({ team: ['bob'], other: ['cy'], parent: ['bob', 'cy'] });
  });

  it('with the memberOf model, a group put in another makes the incremental read full, and says why', async () => {
    const f = await fixture({ membership: 'memberOf' });
    const ann = await slapd.addUser(f.people, 'ann', { mail: 'ann@example.test' });
    const bob = await slapd.addUser(f.people, 'bob', { mail: 'bob@example.test' });
    const team = await slapd.addGroup(f.groups, 'team', [ann]);
    const parent = await slapd.addGroup(f.groups, 'parent', [bob]);
    const first = await f.readAuto(undefined);
    expect((await f.stored()).groups).toEqual({ team: ['ann'], parent: ['bob'] });
    await slapd.modify(parent, 'add', 'member', [team]);
    const second = await f.readAuto(first.next!);
    expect(second.progress).toMatchObject({ mode: 'full', note: expect.stringMatching(/a group changed/) });
    expect((await f.stored()).groups).toEqual({ team: ['ann'], parent: ['ann', 'bob'] });
  });

  it("finds deletions in OpenLDAP's access log when the connection names it: deleted, moved out of the base, out of the filter", async () => {
    const f = await fixture();
    const logged = ldapSettingsSchema.parse({
      ...f.settings,
      users: { ...f.settings.users, filter: '(&(objectClass=inetOrgPerson)(!(employeeType=contractor)))' },
      accessLogBaseDn: 'cn=accesslog',
    });
    const dns = Object.fromEntries(
      await Promise.all(
        ['ann', 'bob', 'cy', 'dee', 'eve'].map(async (u) => [
          u,
          await slapd.addUser(f.people, u, { mail: `${u}@example.test` }),
        ]),
      ),
    );
    await slapd.addGroup(f.groups, 'team', [dns.ann, dns.bob]);
    const first = await f.readAuto(undefined, logged);
    // The full read took its mark in the log first: the newest entry then.
    expect(first.next).toMatchObject({ kind: 'timestamp', logMark: expect.stringMatching(/^\d{14}(\.\d+)?Z$/) });

    const elsewhere = await slapd.ou2(f.ou, 'elsewhere');
    await slapd.del(dns.bob);
    await slapd.rename(dns.cy, `uid=cy,${elsewhere}`);
    await slapd.modify(dns.dee, 'add', 'employeeType', ['contractor']);
    await slapd.modify(dns.eve, 'replace', 'mail', ['eve.e@example.test']);
    const second = await f.readAuto(first.next!, logged);
    expect(second.progress).toMatchObject({ mode: 'incremental', removed: 3 });
    expect(second.progress.note).toBeUndefined(); // the log served: no scan
    expect((await f.stored()).users.map((u) => [u.user_name, u.email])).toEqual([
      ['ann', 'ann@example.test'],
      ['eve', 'eve.e@example.test'],
    ]);
    expect((await f.stored()).groups).toEqual({ team: ['ann'] });
    const mark = (second.next as { logMark: string }).logMark;
    expect(mark > (first.next as { logMark: string }).logMark).toBe(true);

    // When the log cannot serve, the read scans, says why, and takes a mark for the next one.
    await slapd.modify(dns.eve, 'replace', 'mail', ['eve@example.test']);
    const { logMark: _drop, ...noMark } = second.next as Record<string, unknown>;
    const third = await f.readAuto(noMark as never, logged);
    expect(third.progress.note).toMatch(/^no position in the access log \(cn=accesslog\) yet: the scope was scanned/);
    expect(third.next).toMatchObject({ logMark: expect.any(String) });
    const purged = await f.readAuto({ ...(third.next as object), logMark: '20000101000000.000000Z' } as never, logged);
    expect(purged.progress.note).toMatch(/was purged past the last read: the scope was scanned/);
    const missing = await f.readAuto(third.next!, { ...logged, accessLogBaseDn: 'cn=nolog' });
    expect(missing.progress.note).toMatch(/^there is no access log at cn=nolog: the scope was scanned/);
    expect((await f.stored()).users.map((u) => u.user_name)).toEqual(['ann', 'eve']);
  });

  it('finds stored users by DN key, spaces in and around the DN as Active Directory writes them', async () => {
    const connectionId = await insertLdapConnection((t, p) => sql.query(t, p), 'dnkeys', 'activeDirectory');
    const dns = ['CN=Ann A,OU=People,DC=corp', ' CN=Bob B , OU=People ,DC=corp', 'uid=cy,ou=people,dc=corp'];
    await store.upsertUsers(
      connectionId,
      dns.map((dn, i) => ({
        id: crypto.randomUUID(),
        userName: `u${i}`,
        email: null,
        displayName: null,
        active: true,
        externalId: dn,
        resource: {},
      })),
      null,
    );
    const found = await store.userIdsByDnKey(connectionId, [...dns.map(dnKey), 'cn=nobody,dc=corp']);
    expect([...found.keys()].sort()).toEqual(
      ['cn=ann a,ou=people,dc=corp', 'cn=bob b,ou=people,dc=corp', 'uid=cy,ou=people,dc=corp'].sort(),
    );
  });

  it('pages past the server size limit (500 a search), and marks users a disabled filter matches as inactive', async () => {
    const f = await fixture({ disabledFilter: '(employeeType=disabled)' });
    const dns: string[] = [];
    await slapd.withAdmin(async (c) => {
      for (let i = 0; i < 620; i++) {
        const dn = `uid=u${i},${f.people}`;
        await c.add(dn, {
          objectClass: 'inetOrgPerson',
          uid: `u${i}`,
          cn: `U ${i}`,
          sn: 'U',
          mail: `u${i}@example.test`,
          ...(i % 100 === 7 ? { employeeType: 'disabled' } : {}),
        });
        dns.push(dn);
      }
    });
    await slapd.addGroup(f.groups, 'everyone', dns);
    const p = await f.read();
    expect(p.usersSeen).toBe(620);
    const st = await f.stored();
    expect(st.users).toHaveLength(620);
    expect(
      st.users
        .filter((u) => !u.active)
        .map((u) => u.user_name)
        .sort(),
    ).toEqual(['u107', 'u207', 'u307', 'u407', 'u507', 'u607', 'u7'].sort());
    expect(st.groups.everyone).toHaveLength(620);
  }, 60_000);

  it('only users of the chosen groups, nested included, when asked', async () => {
    const f = await fixture();
    const ann = await slapd.addUser(f.people, 'ann');
    const bob = await slapd.addUser(f.people, 'bob');
    await slapd.addUser(f.people, 'cy');
    const inner = await slapd.addGroup(f.groups, 'inner', [bob]);
    const chosen = await slapd.addGroup(f.groups, 'chosen', [ann, inner]);
    const s = ldapSettingsSchema.parse({
      ...f.settings,
      users: { ...f.settings.users, onlyMembersOf: [chosen] },
    });
    await f.read(s);
    expect((await f.stored()).users.map((u) => u.user_name)).toEqual(['ann', 'bob']);
  });

  it('connects with StartTLS and with LDAPS, verifying the certificate with the given CA', async () => {
    const f = await fixture();
    await slapd.addUser(f.people, 'tls');
    const startTls = { ...f.settings, urls: [slapd.url], startTls: true };
    await expect(f.read(startTls)).resolves.toMatchObject({ usersSeen: 1 });
    const ldaps = { ...f.settings, urls: [slapd.ldapsUrl] };
    await expect(f.read(ldaps)).resolves.toMatchObject({ usersSeen: 1 });
    // Without the CA the server's self-signed certificate is not trusted, and the sentence says so.
    await expect(openSession({ ...ldaps, caCertificate: null }, slapd.adminPassword)).rejects.toThrow(
      /TLS certificate is not trusted.*paste the CA certificate/,
    );
    // Turning verification off is the admin's explicit choice.
    const off = await openSession({ ...ldaps, caCertificate: null, verifyCertificate: false }, slapd.adminPassword);
    await off.close();
  });

  it('tries the next server when one is down, and says in one sentence what is wrong', async () => {
    const f = await fixture();
    const down = 'ldap://127.0.0.1:1';
    const s = { ...f.settings, urls: [down, slapd.url] };
    const session = await openSession(s, slapd.adminPassword);
    expect(session.url).toBe(slapd.url);
    await session.close();
    const fail = (settings: LdapSettings, pw: string | null) =>
      openSession(settings, pw).then(
        () => 'connected',
        (e: unknown) => (e instanceof PullFailed ? e.message : `not a PullFailed: ${String(e)}`),
      );
    expect(await fail({ ...f.settings, urls: [down] }, slapd.adminPassword)).toMatch(
      /refused the connection: is the directory server running/,
    );
    expect(await fail(f.settings, 'wrong')).toMatch(
      /refused the bind as cn=admin,dc=example,dc=test: the password is wrong/,
    );
    expect(
      await fail(
        { ...f.settings, startTls: false, urls: [slapd.ldapsUrl.replace('ldaps', 'ldap')] },
        slapd.adminPassword,
      ),
    ).toMatch(/closed the connection|did not answer/);
  });
});
