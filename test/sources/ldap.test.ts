import { startScim, type ScimHarness } from '../support/scim';
import { describeWithSlapd, Slapd } from '../support/slapd';

/**
 * LDAP connections through the admin API against a real OpenLDAP server: created with their bind
 * password sealed (never returned), tested (counts, or the sentence that says what to fix), synced
 * into Jira through the same planner and executor as every source, and a first login that pulls one
 * user by email — with the email escaped, so a filter cannot be smuggled in.
 */
let slapd: Slapd;
let s: ScimHarness;
let people: string;
let groups: string;

describeWithSlapd('LDAP connections (OpenLDAP)', () => {
  beforeAll(async () => {
    slapd = await new Slapd().start();
    const ou = await slapd.ou('acme');
    people = await slapd.ou2(ou, 'people');
    groups = await slapd.ou2(ou, 'groups');
    const ann = await slapd.addUser(people, 'ann', { mail: 'ann@acme.test', cn: 'Ann Archer' });
    const bob = await slapd.addUser(people, 'bob', { mail: 'bob@acme.test', cn: 'Bob Baker' });
    const eng = await slapd.addGroup(groups, 'Engineering', [bob]);
    await slapd.addGroup(groups, 'Staff', [ann, eng]);
  }, 30_000);
  afterAll(() => slapd?.stop());
  beforeEach(async () => {
    s = await startScim('okta');
    await s.storeSiteToken();
  }, 30_000);
  afterEach(() => s.close());

  const body = (ldap: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
    name: 'Acme directory',
    kind: 'ldap',
    bindPassword: slapd.adminPassword,
    ...extra,
    ldap: {
      directoryType: 'openldap',
      urls: [slapd.url],
      caCertificate: slapd.caPem,
      bindName: slapd.adminDn,
      users: { baseDn: people },
      groups: { baseDn: groups },
      scheduleMinutes: 0,
      ...ldap,
    },
  });

  /** Starts a sync through the admin API and waits for its run to end: the run as the API shows it. */
  const syncToEnd = async (id: string, mode: 'full' | 'incremental') => {
    const started = await s.adminApi('POST', `/connections/${id}/sync`, { mode });
    expect(started.status).toBe(202);
    for (let i = 0; i < 200; i++) {
      await s.app.engine.drain(5_000);
      const run = (await s.adminApi('GET', `/runs/${started.body.id}`)).body;
      if (run.status !== 'running') return run;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('the run did not end');
  };

  it('creates an LDAP connection with the directory type defaults; the password is sealed and never shown', async () => {
    const created = await s.adminApi('POST', '/connections', body());
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      kind: 'ldap',
      provider: 'openldap',
      providerLabel: 'OpenLDAP',
      ldap: {
        directoryType: 'openldap',
        startTls: true,
        verifyCertificate: true,
        users: { filter: '(objectClass=inetOrgPerson)', scope: 'sub' },
        attributes: { id: 'entryUUID', userName: 'uid', email: 'mail' },
        membership: 'member',
        nested: true,
        bindPasswordSet: true,
      },
    });
    expect(JSON.stringify(created.body)).not.toContain(slapd.adminPassword);
    const [row] = (
      await s.app.db.sequelize.query('SELECT secret_enc FROM connections WHERE id = $1', {
        bind: [created.body.id],
      })
    )[0] as Array<{ secret_enc: string }>;
    expect(row.secret_enc).not.toContain(slapd.adminPassword);
    expect(s.app.logs.join('')).not.toContain(slapd.adminPassword);

    // Each wrong field is named.
    const bad = await s.adminApi(
      'POST',
      '/connections',
      body({ urls: ['http://x'], users: { baseDn: 'not a dn' }, userFilter: 1 }),
    );
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.body.fields as object)).toEqual(
      expect.arrayContaining(['ldap.urls.0', 'ldap.users.baseDn', 'ldap']),
    );
    const noPassword = await s.adminApi('POST', '/connections', { ...body(), bindPassword: undefined });
    expect(noPassword).toMatchObject({ status: 400, body: { fields: { bindPassword: expect.any(String) } } });
    const anonymous = await s.adminApi('POST', '/connections', body({ bindName: null }, { name: 'anon' }));
    expect(anonymous).toMatchObject({
      status: 400,
      body: { fields: { 'ldap.bindName': expect.stringMatching(/anonymous/) } },
    });
    // An access log is OpenLDAP's: Active Directory is told it reads deleted objects instead.
    const adLog = await s.adminApi(
      'POST',
      '/connections',
      body({ directoryType: 'activeDirectory', accessLogBaseDn: 'cn=accesslog' }, { name: 'ad-log' }),
    );
    expect(adLog).toMatchObject({
      status: 400,
      body: { fields: { 'ldap.accessLogBaseDn': expect.stringMatching(/deleted objects/) } },
    });
    const withLog = await s.adminApi(
      'POST',
      '/connections',
      body({ accessLogBaseDn: 'cn=accesslog' }, { name: 'log' }),
    );
    expect(withLog).toMatchObject({ status: 201, body: { ldap: { accessLogBaseDn: 'cn=accesslog' } } });
  });

  it('Test connection counts what the filters find, or says in one sentence what to fix', async () => {
    const id = (await s.adminApi('POST', '/connections', body())).body.id as string;
    const ok = await s.adminApi('POST', `/connections/${id}/test`, {});
    expect(ok.body).toMatchObject({
      ok: true,
      users: 2,
      groups: 2,
      message: expect.stringMatching(/2 users and 2 groups/),
    });
    const wrong = await s.adminApi('POST', `/connections/${id}/test`, { bindPassword: 'wrong' });
    expect(wrong.body).toEqual({
      ok: false,
      message: expect.stringMatching(/refused the bind .*the password is wrong/),
    });
    const noBase = await s.adminApi('POST', `/connections/${id}/test`, {
      ldap: { users: { baseDn: 'ou=nowhere,dc=example,dc=test' } },
    });
    expect(noBase.body).toEqual({
      ok: false,
      message: expect.stringMatching(/no entry "ou=nowhere,dc=example,dc=test"/),
    });
  });

  it("a directory's URL may not reach loopback or private addresses unless the operator allows them: by address and by name", async () => {
    await s.close();
    s = await startScim('okta', { OUTBOUND_ALLOW: '' });
    await s.storeSiteToken();
    const port = new URL(slapd.url).port;
    for (const [url, address] of [
      [slapd.url, '127\\.0\\.0\\.1'],
      [`ldap://localhost:${port}`, '(127\\.0\\.0\\.1|::1)'],
      ['ldaps://10.20.30.40', '10\\.20\\.30\\.40'],
    ]) {
      const created = await s.adminApi('POST', '/connections', body({ urls: [url] }, { name: `guarded ${url}` }));
      expect(created.status).toBe(201);
      const said = (await s.adminApi('POST', `/connections/${created.body.id as string}/test`, {})).body;
      expect(said).toMatchObject({ ok: false });
      expect(said.message).toMatch(
        new RegExp(
          `was not called: .*${address} is a (loopback|private) address, which this server does not call unless its operator allows it \\(OUTBOUND_ALLOW`,
        ),
      );
    }
  });

  it('a sync reads the directory and the users and their groups (nested flattened) reach Jira', async () => {
    const id = (await s.adminApi('POST', '/connections', body())).body.id as string;
    expect(
      (await s.adminApi('PUT', `/connections/${id}/rules`, { groups: { onTheFly: { enabled: true } } })).status,
    ).toBe(200);
    // Incremental asked, but there is no position yet: the read is full, and the run says why.
    const run = await syncToEnd(id, 'incremental');
    expect(run.status).toBe('succeeded');
    expect(run.progress.read).toMatchObject({
      mode: 'full',
      note: expect.stringMatching(/^no position/),
      conflicts: [],
    });
    expect(run.notes).toContain('The read: no position from an earlier read: full read.');
    expect(s.jira.state.userByEmail('ann@acme.test')).toBeDefined();
    expect(
      s.jira.state
        .groupMembers('Staff')
        .map((u) => u.emailAddress)
        .sort(),
    ).toEqual(['ann@acme.test', 'bob@acme.test']);
    expect(s.jira.state.groupMembers('Engineering').map((u) => u.emailAddress)).toEqual(['bob@acme.test']);
  });

  it('a change of what the connection reads (a narrower filter) makes the next read full, so a user out of it leaves; the schedule alone does not', async () => {
    const id = (await s.adminApi('POST', '/connections', body())).body.id as string;
    await syncToEnd(id, 'full');
    expect((await syncToEnd(id, 'incremental')).progress.read.mode).toBe('incremental');
    const patch = (ldap: Record<string, unknown>) => s.adminApi('PATCH', `/connections/${id}`, { ldap });
    expect((await patch({ scheduleMinutes: 60 })).status).toBe(200);
    expect((await syncToEnd(id, 'incremental')).progress.read.mode).toBe('incremental');
    expect((await patch({ users: { filter: '(&(objectClass=inetOrgPerson)(uid=ann))' } })).status).toBe(200);
    const run = await syncToEnd(id, 'incremental');
    expect(run.progress.read).toMatchObject({ mode: 'full', note: expect.stringMatching(/^no position/) });
    const [users] = (await s.app.db.sequelize.query(
      'SELECT user_name FROM directory_users WHERE connection_id = $1 ORDER BY user_name',
      { bind: [id] },
    )) as [Array<{ user_name: string }>, unknown];
    expect(users.map((u) => u.user_name)).toEqual(['ann']);
  });

  it('an LDAP connection whose target is customers: the directory users become JSM customers with portal access by group (nested included)', async () => {
    s.jira.state.addServiceDesk('7', 'SUP', 'Support');
    s.jira.state.organizations.set('70', { id: '70', name: 'Engineers', members: new Set() });
    const created = await s.adminApi('POST', '/connections', body({}, { name: 'Acme customers', target: 'customers' }));
    expect(created).toMatchObject({ status: 201, body: { target: 'customers' } });
    const id = created.body.id as string;
    const rules = {
      customers: {
        groups: [
          { idpGroup: 'Staff', serviceDesks: ['7'] },
          { idpGroup: 'Engineering', organizations: ['70'] },
        ],
      },
    };
    expect((await s.adminApi('PUT', `/connections/${id}/rules`, rules)).status).toBe(200);
    expect(await syncToEnd(id, 'full')).toMatchObject({
      status: 'succeeded',
      counts: { customersCreated: 2, accessGrants: 2 },
    });
    const email = (a: string) => s.jira.state.users.get(a)?.emailAddress;
    expect(s.jira.state.userByEmail('ann@acme.test')).toMatchObject({ accountType: 'customer' });
    expect([...s.jira.state.serviceDesks.get('7')!.customers].map(email).sort()).toEqual([
      'ann@acme.test',
      'bob@acme.test',
    ]);
    expect([...s.jira.state.organizations.get('70')!.members].map(email)).toEqual(['bob@acme.test']);
    // No Jira user, no group: customers are not licensed users.
    expect(s.jira.state.groupMembers('Staff')).toEqual([]);
  });

  it('a disabled user goes to the deprovisioning rules (managed groups removed) and comes back when enabled again', async () => {
    const dis = await slapd.ou2(groups, 'dis');
    const fay = await slapd.addUser(people, 'fay', { mail: 'fay@acme.test' });
    await slapd.addGroup(dis, 'Ops', [fay]);
    const id = (
      await s.adminApi(
        'POST',
        '/connections',
        body({ disabledFilter: '(employeeType=disabled)', groups: { baseDn: dis } }),
      )
    ).body.id as string;
    expect(
      (await s.adminApi('PUT', `/connections/${id}/rules`, { groups: { onTheFly: { enabled: true } } })).status,
    ).toBe(200);
    const sync = () => syncToEnd(id, 'full');
    await sync();
    expect(s.jira.state.groupMembers('Ops').map((u) => u.emailAddress)).toEqual(['fay@acme.test']);
    await slapd.modify(fay, 'add', 'employeeType', ['disabled']);
    const off = await sync();
    expect(off.status).toBe('succeeded');
    expect(s.jira.state.groupMembers('Ops')).toEqual([]); // deprovisioned: out of the groups the app manages
    await slapd.modify(fay, 'delete', 'employeeType', ['disabled']);
    await sync();
    expect(s.jira.state.groupMembers('Ops').map((u) => u.emailAddress)).toEqual(['fay@acme.test']); // back
    await slapd.del(`cn=Ops,${dis}`);
    await slapd.del(dis);
    await slapd.del(fay);
  });

  it('Test Sync shows one user as the directory returns it and what the rules make of it; a filter in the username is escaped', async () => {
    const id = (await s.adminApi('POST', '/connections', body({ attributes: { extra: ['employeeNumber'] } }))).body
      .id as string;
    const rules = {
      groups: { manual: [{ idpGroup: 'Staff', jiraGroups: ['all-staff'] }], defaultForAllUsers: ['jira-users'] },
      attributes: { custom: [{ from: 'employeeNumber', propertyKey: 'employee-number' }] },
    };
    expect((await s.adminApi('PUT', `/connections/${id}/rules`, rules)).status).toBe(200);
    const bob = await s.adminApi('POST', `/connections/${id}/test-user`, { username: 'bob' });
    expect(bob.status).toBe(200);
    expect(bob.body).toMatchObject({
      found: true,
      dn: `uid=bob,${people}`,
      inScope: true,
      active: true,
      attributes: { uid: ['bob'], mail: ['bob@acme.test'], entryUUID: [expect.stringMatching(/^[0-9a-f-]{36}$/)] },
      groups: [
        { name: 'Engineering', direct: true },
        { name: 'Staff', direct: false },
      ],
      jira: {
        email: 'bob@acme.test',
        displayName: 'Bob Baker',
        userName: 'bob',
        groups: ['all-staff', 'jira-users'],
        properties: { 'employee-number': null },
      },
    });
    // Nothing was written: Test Sync changes nothing.
    const [rows] = (await s.app.db.sequelize.query(
      'SELECT count(*)::int AS n FROM directory_users WHERE connection_id = $1',
      {
        bind: [id],
      },
    )) as [Array<{ n: number }>, unknown];
    expect(rows[0].n).toBe(0);
    // An injection attempt finds nobody (the value is escaped, not parsed as filter syntax).
    for (const username of ['*', 'b*', 'bob)(uid=*', '*)(objectClass=*'])
      expect((await s.adminApi('POST', `/connections/${id}/test-user`, { username })).body).toEqual({
        found: false,
        message: expect.stringMatching(/No entry under .* has uid = /),
      });
    expect((await s.adminApi('POST', `/connections/${id}/test-user`, { username: '' })).status).toBe(400);
    expect((await s.adminApi('POST', `/connections/${s.connectionId}/test-user`, { username: 'bob' })).status).toBe(
      400,
    );
  });

  it('first login pulls that one user by email; an email carrying a filter is escaped and matches nobody', async () => {
    const created = await s.adminApi('POST', '/connections', body());
    const c = (await s.app.connections.get(s.clientKey, created.body.id as string))!;
    const svc = s.app.sources.forKind('ldap')!;
    expect(await svc.pullUser(c, '*)(uid=*')).toBe('absent');
    expect(await svc.pullUser(c, 'bob@acme.test')).toBe('pulled');
    const [users] = (await s.app.db.sequelize.query('SELECT user_name FROM directory_users WHERE connection_id = $1', {
      bind: [c.id],
    })) as [Array<{ user_name: string }>, unknown];
    expect(users.map((u) => u.user_name)).toEqual(['bob']);
    const [groupsOfBob] = (await s.app.db.sequelize.query(
      `SELECT g.display_name FROM directory_memberships m JOIN directory_groups g ON g.connection_id = m.connection_id AND g.id = m.group_id
       WHERE m.connection_id = $1 ORDER BY 1`,
      { bind: [c.id] },
    )) as [Array<{ display_name: string }>, unknown];
    expect(groupsOfBob.map((g) => g.display_name)).toEqual(['Engineering', 'Staff']); // Staff through Engineering
  });
});
