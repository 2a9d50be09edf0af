import request from 'supertest';
import { startGoogle, type GoogleHarness } from '../support/google';

/** Google Workspace pull sync, end to end: fake Google (HTTPS, JWT-bearer tokens, delegation) → directory → engine → fake Jira. */
let h: GoogleHarness;
beforeEach(async () => {
  h = await startGoogle();
});
afterEach(() => h.close());

const jiraUser = (email: string) => h.jira.state.userByEmail(email);
const groupsOf = (email: string) => (jiraUser(email) ? h.jira.state.groupsOf(jiraUser(email)!.accountId).sort() : []);

/** The directory store's users of a connection, `userName:active`. */
async function stored(id: string): Promise<string[]> {
  const rows = (await h.app.db.sequelize.query(
    'SELECT user_name, active FROM directory_users WHERE connection_id = $1 ORDER BY user_name',
    { bind: [id], type: 'SELECT' },
  )) as Array<{ user_name: string; active: boolean }>;
  return rows.map((r) => `${r.user_name}:${r.active}`);
}

/** ann and bob in Engineering, ann in Sales, carl in none; Platform (with dave) nested in Engineering. */
function seed() {
  const g = h.google;
  const ann = g.addUser({
    primaryEmail: 'ann@example.com',
    name: { givenName: 'Ann', familyName: 'Lee', fullName: 'Ann Lee' },
    orgUnitPath: '/Sales',
  });
  const bob = g.addUser({ primaryEmail: 'bob@example.com', orgUnitPath: '/Engineering' });
  const carl = g.addUser({ primaryEmail: 'carl@example.com', orgUnitPath: '/Engineering/Tools' });
  const dave = g.addUser({ primaryEmail: 'dave@example.com', orgUnitPath: '/Engineering' });
  const eng = g.addGroup('Engineering');
  const sales = g.addGroup('Sales');
  const platform = g.addGroup('Platform');
  g.addMember(eng.id, ann.id);
  g.addMember(eng.id, bob.id);
  g.addMember(sales.id, ann.id);
  g.addMember(platform.id, dave.id);
  g.addMember(eng.id, platform.id);
  return { ann, bob, carl, dave, eng, sales, platform };
}

describe('Google Workspace: a full read', () => {
  it('brings users, groups and nested memberships into Jira', async () => {
    seed();
    const id = await h.createConnection();
    const run = await h.syncAndWait(id);
    expect(run.status).toBe('succeeded');
    expect(jiraUser('ann@example.com')).toBeTruthy();
    expect(groupsOf('ann@example.com')).toEqual(expect.arrayContaining(['Engineering', 'Sales']));
    expect(groupsOf('dave@example.com')).toEqual(expect.arrayContaining(['Engineering', 'Platform']));
    expect(groupsOf('carl@example.com')).not.toContain('Engineering');
    expect(jiraUser('carl@example.com')).toBeTruthy();
  });

  it('a group deleted while the read goes on is left out, not a failed read', async () => {
    const { sales } = seed();
    const id = await h.createConnection();
    h.google.afterCall = (call) => {
      if (call.path !== '/admin/directory/v1/groups' || !h.google.groups.has(sales.id)) return;
      h.google.deleteGroup(sales.id); // listed, then gone before its members are read
    };
    const run = await h.syncAndWait(id);
    expect(run.status).toBe('succeeded');
    expect(groupsOf('ann@example.com')).toContain('Engineering');
    expect(groupsOf('ann@example.com')).not.toContain('Sales');
  });

  it('a dry run reads Google and shows the plan, and changes nothing in Jira', async () => {
    seed();
    const id = await h.createConnection();
    const res = await request(h.app.url).post(`/api/v1/connections/${id}/sync`).set(h.auth()).send({ dryRun: true });
    expect(res.status).toBe(200);
    expect(res.body.operations.length).toBeGreaterThan(0);
    expect(jiraUser('ann@example.com')).toBeUndefined();
  });
});

describe('Google Workspace: incremental reads from the Admin console events', () => {
  it('follows new, renamed, suspended and deleted users, aliases, memberships and nested groups to the exact Jira state', async () => {
    const { ann, bob, dave, eng, sales, platform } = seed();
    const id = await h.createConnection({ scheduleMinutes: 60 });
    expect((await h.syncAndWait(id)).status).toBe('succeeded');
    const g = h.google;
    const erin = g.addUser({ primaryEmail: 'erin@example.com', orgUnitPath: '/Sales' });
    g.addMember(sales.id, erin.id);
    g.updateUser(ann.id, { aliases: ['annie@example.com'] }, 'ADD_NICKNAME');
    g.updateUser(bob.id, { suspended: true }, 'SUSPEND_USER');
    g.deleteUser(dave.id);
    g.removeMember(eng.id, ann.id);
    const fay = g.addUser({ primaryEmail: 'fay@example.com' });
    g.addMember(platform.id, fay.id);
    const calls = g.calls.length;
    const run = await h.scheduled(id);
    expect(run.status).toBe('succeeded');
    expect(run.progress.read).toMatchObject({ mode: 'incremental' });
    expect(jiraUser('erin@example.com')).toBeTruthy();
    expect(groupsOf('erin@example.com')).toContain('Sales');
    expect(jiraUser('annie@example.com')).toBeUndefined(); // an alias is never a second user
    expect(groupsOf('ann@example.com')).not.toContain('Engineering');
    expect(groupsOf('ann@example.com')).toContain('Sales');
    expect(groupsOf('fay@example.com')).toEqual(expect.arrayContaining(['Engineering', 'Platform']));
    // suspended and deleted: the rules' deprovisioning (by default their groups go)
    expect(run.counts.usersDeprovisioned).toBe(2);
    expect(groupsOf('bob@example.com')).toEqual([]);
    expect(groupsOf('dave@example.com')).toEqual([]);
    // no users.list, no groups.list of the whole account: only what the events name
    const listed = g.calls.slice(calls).filter((c) => c.path === '/admin/directory/v1/users' && !c.query.query);
    expect(listed).toEqual([]);
    expect(await stored(id)).toEqual([
      'admin@example.com:true',
      'ann@example.com:true',
      'bob@example.com:false', // suspended: the rules' deprovisioning choice applies
      'carl@example.com:true',
      'erin@example.com:true',
      'fay@example.com:true',
    ]);

    // bob unsuspended: back, with his groups
    g.updateUser(bob.id, { suspended: false }, 'UNSUSPEND_USER');
    const back = await h.scheduled(id);
    expect(back.counts.usersReactivated).toBe(1);
    expect(groupsOf('bob@example.com')).toEqual(['Engineering']);

    // Platform deleted: its members lose Engineering too, which they had only through it.
    g.deleteGroup(platform.id);
    expect((await h.scheduled(id)).status).toBe('succeeded');
    expect(groupsOf('fay@example.com')).not.toContain('Engineering');
    expect(groupsOf('fay@example.com')).not.toContain('Platform');
  });

  it('a user moved out of the chosen organizational unit leaves; one renamed keeps its row', async () => {
    const { ann, bob } = seed();
    const id = await h.createConnection({
      scope: { kind: 'orgUnits', paths: ['/Engineering'], includeSubUnits: true },
    });
    expect((await h.syncAndWait(id)).status).toBe('succeeded');
    expect(jiraUser('carl@example.com')).toBeTruthy(); // a sub-unit
    expect(jiraUser('ann@example.com')).toBeUndefined(); // /Sales
    const bobRow = async () =>
      (
        (await h.app.db.sequelize.query('SELECT id FROM directory_users WHERE connection_id = $1 AND email = $2', {
          bind: [id, 'robert@example.com'],
          type: 'SELECT',
        })) as Array<{ id: string }>
      )[0]?.id;
    const before = (
      (await h.app.db.sequelize.query('SELECT id FROM directory_users WHERE connection_id = $1 AND email = $2', {
        bind: [id, 'bob@example.com'],
        type: 'SELECT',
      })) as Array<{ id: string }>
    )[0].id;
    h.google.updateUser(bob.id, { primaryEmail: 'robert@example.com' }, 'RENAME_USER');
    h.google.updateUser(ann.id, { orgUnitPath: '/Engineering' }, 'CHANGE_USER_ORGANIZATION');
    const carl = [...h.google.users.values()].find((u) => u.primaryEmail === 'carl@example.com')!;
    h.google.updateUser(carl.id, { orgUnitPath: '/Sales' }, 'CHANGE_USER_ORGANIZATION');
    const run = await h.syncAndWait(id, { mode: 'incremental' });
    expect(run.status).toBe('succeeded');
    expect(run.progress.read.mode).toBe('incremental');
    expect(await stored(id)).toEqual(['ann@example.com:true', 'dave@example.com:true', 'robert@example.com:true']);
    expect(await bobRow()).toBe(before);
  });

  it('falls back to a full read when the last full read is older than fullReadEveryHours, and says so', async () => {
    seed();
    const id = await h.createConnection({ fullReadEveryHours: 1 });
    expect((await h.syncAndWait(id)).status).toBe('succeeded');
    await h.app.db.sequelize.query(
      `UPDATE source_state SET cursor = jsonb_set(cursor, '{fullAt}', to_jsonb((now() - interval '2 hours')::text)) WHERE connection_id = $1`,
      { bind: [id] },
    );
    h.google.addUser({ primaryEmail: 'gus@example.com' }, { event: false }); // Google never reported it
    const run = await h.syncAndWait(id, { mode: 'incremental' });
    expect(run.progress.read).toMatchObject({ mode: 'full' });
    expect(run.progress.read.note).toMatch(/last full read is over 1 h old/);
    expect(jiraUser('gus@example.com')).toBeTruthy();

    await h.app.db.sequelize.query(
      `UPDATE source_state SET cursor = jsonb_set(cursor, '{since}', to_jsonb((now() - interval '200 days')::text)) WHERE connection_id = $1`,
      { bind: [id] },
    );
    const old = await h.syncAndWait(id, { mode: 'incremental' });
    expect(old.progress.read).toMatchObject({ mode: 'full' });
    expect(old.progress.read.note).toMatch(/older than the Reports API's 180 days/);

    // An admin who may not read the events: the read is full, and says why.
    h.google.addUser({ primaryEmail: 'helpdesk@example.com', isDelegatedAdmin: true }, { event: false });
    expect(
      (
        await request(h.app.url)
          .patch(`/api/v1/connections/${id}`)
          .set(h.auth())
          .send({ google: { adminEmail: 'helpdesk@example.com' } })
      ).status,
    ).toBe(200);
    expect((await h.syncAndWait(id)).progress.read.mode).toBe('full'); // a new admin: the position was reset
    const refused = await h.syncAndWait(id, { mode: 'incremental' });
    expect(refused).toMatchObject({ status: 'succeeded', progress: { read: { mode: 'full' } } });
    expect(refused.progress.read.note).toMatch(/Admin console's events could not be read .*Reports privilege/);
  });
});

describe('Google Workspace connections through the admin API', () => {
  const post = (body: object) => request(h.app.url).post('/api/v1/connections').set(h.auth()).send(body);
  const test = (id: string, body: object = {}) =>
    request(h.app.url).post(`/api/v1/connections/${id}/test`).set(h.auth()).send(body);

  it('keeps the key sealed and write-only, shows what to delegate, and refuses bad input naming the field', async () => {
    const id = await h.createConnection();
    const shown = (await request(h.app.url).get(`/api/v1/connections/${id}`).set(h.auth())).body;
    expect(shown).toMatchObject({
      kind: 'google',
      provider: 'google',
      google: {
        customerId: 'my_customer',
        serviceAccountKeySet: true,
        delegation: { clientId: h.clientId },
        scope: { kind: 'domain' },
      },
    });
    const privateKey = JSON.parse(h.key).private_key as string;
    const body = privateKey.split('\n')[1];
    expect(JSON.stringify(shown)).not.toContain(body);
    const [{ secret_enc: sealed }] = (await h.app.db.sequelize.query(
      'SELECT secret_enc FROM connections WHERE id = $1',
      {
        bind: [id],
        type: 'SELECT',
      },
    )) as Array<{ secret_enc: string }>;
    expect(sealed).not.toContain(body);
    expect(h.app.logs.join('')).not.toContain(body);

    const field = async (over: Record<string, unknown>, extra: Record<string, unknown> = {}) => {
      const res = await post(h.connectionBody(over, extra));
      expect(res.status).toBe(400);
      return Object.keys(res.body.fields ?? {});
    };
    expect(await field({}, { serviceAccountKey: JSON.stringify({ type: 'authorized_user', client_id: 'x' }) })).toEqual(
      ['serviceAccountKey'],
    );
    const broken = {
      ...JSON.parse(h.key),
      private_key: '-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n',
    };
    expect(await field({}, { serviceAccountKey: JSON.stringify(broken) })).toEqual(['serviceAccountKey']);
    expect(await field({}, { serviceAccountKey: 'not json' })).toEqual(['serviceAccountKey']);
    expect(await field({ customerId: 'C01 234' })).toEqual(['google.customerId']);
    expect(await field({ adminEmail: 'admin' })).toEqual(['google.adminEmail']);
    expect(await field({ scope: { kind: 'orgUnits', paths: ['Sales'] } })).toEqual(['google.scope.paths.0']);
    // Google's endpoints are fixed: only the operator may point them elsewhere (GOOGLE_API_URL, GOOGLE_TOKEN_URL).
    expect(await field({ apiUrl: 'https://169.254.169.254/' })).toEqual(['google']);
    const res = await post(h.connectionBody({}, { serviceAccountKey: 'not json' }));
    expect(res.body.detail ?? res.body.message ?? JSON.stringify(res.body)).toMatch(/serviceAccountKey/);
  });

  it('Test connection says in one sentence what to fix', async () => {
    seed();
    const id = await h.createConnection();
    const ok = (await test(id)).body;
    expect(ok).toMatchObject({ ok: true, reports: true });
    expect(ok.message).toMatch(/Connected as admin@example.com/);

    h.google.delegate(h.clientId, ['https://www.googleapis.com/auth/admin.directory.user.readonly']);
    const undelegated = (await test(id)).body;
    expect(undelegated.ok).toBe(false);
    expect(undelegated.message).toContain(`client ID ${h.clientId}`);
    expect(undelegated.message).toContain('Domain-wide delegation');

    h.google.delegate(h.clientId, [
      'https://www.googleapis.com/auth/admin.directory.user.readonly',
      'https://www.googleapis.com/auth/admin.directory.group.readonly',
      'https://www.googleapis.com/auth/admin.reports.audit.readonly',
    ]);
    const plain = (await test(id, { google: { adminEmail: 'ann@example.com' } })).body;
    expect(plain.message).toMatch(/ann@example.com may not read this account's users and groups/);

    h.google.apiDisabled.add(h.clientId);
    expect((await test(id)).body.message).toMatch(/Admin SDK API is not enabled/);
    h.google.apiDisabled.clear();

    // A delegated admin reads users and groups but not the audit reports: connected, every read full, said.
    h.google.addUser({ primaryEmail: 'helpdesk@example.com', isDelegatedAdmin: true }, { event: false });
    const delegated = (await test(id, { google: { adminEmail: 'helpdesk@example.com' } })).body;
    expect(delegated).toMatchObject({ ok: true, reports: false });
    expect(delegated.message).toMatch(
      /helpdesk@example.com may not read the Admin console's events .*every read will be full/,
    );

    h.google.revokeKey(JSON.parse(h.key).client_email);
    expect((await test(id)).body.message).toMatch(/deleted or revoked in Google Cloud/);
  });

  it("waits out Google's rate limits (403 userRateLimitExceeded, 429) instead of failing or storming", async () => {
    seed();
    const id = await h.createConnection();
    h.google.failNext(1, 403, 'userRateLimitExceeded');
    h.google.failNext(1, 429, 'rateLimitExceeded');
    const run = await h.syncAndWait(id);
    expect(run.status).toBe('succeeded');
    expect(jiraUser('ann@example.com')).toBeTruthy();
    const refused = h.google.calls.filter((c) => c.status === 403 || c.status === 429);
    expect(refused).toHaveLength(2);
  });

  it('a groups scope reads the chosen groups and those nested in them; Test Sync finds one user and says what the rules would see', async () => {
    const { ann, eng } = seed();
    const id = await h.createConnection({ scope: { kind: 'groups', groups: ['engineering@example.com'] } });
    expect((await h.syncAndWait(id)).status).toBe('succeeded');
    expect(await stored(id)).toEqual(['ann@example.com:true', 'bob@example.com:true', 'dave@example.com:true']);
    const probe = (
      await request(h.app.url)
        .post(`/api/v1/connections/${id}/test-user`)
        .set(h.auth())
        .send({ username: ann.primaryEmail })
    ).body;
    expect(probe).toMatchObject({ found: true, inScope: true, active: true });
    expect(probe.groups.map((g: { name: string }) => g.name).sort()).toEqual(['Engineering', 'Sales']);
    const none = (
      await request(h.app.url)
        .post(`/api/v1/connections/${id}/test-user`)
        .set(h.auth())
        .send({ username: 'zed@example.com' })
    ).body;
    expect(none).toMatchObject({ found: false });
    expect(none.message).toMatch(/no user zed@example.com/);

    // A chosen group named by an alias: the same members.
    h.google.groups.get(eng.id)!.aliases.push('eng-all@example.com');
    const byAlias = await h.createConnection({ scope: { kind: 'groups', groups: ['eng-all@example.com'] } });
    expect((await h.syncAndWait(byAlias)).status).toBe('succeeded');
    expect(await stored(byAlias)).toEqual(await stored(id));
  });
});

describe('Google Workspace: what a user and a group become', () => {
  it('custom schema fields are custom attributes, archived is inactive, aliases stay aliases, groups can be named by email', async () => {
    const g = h.google;
    const kim = g.addUser({
      primaryEmail: 'kim@example.com',
      aliases: ['kimberly@example.com'],
      externalIds: [{ value: 'E-1001', type: 'organization' }],
      organizations: [{ title: 'Buyer', department: 'Purchasing', primary: true }],
      customSchemas: { EmployeeData: { costCenter: 'CC-42' }, Other: { secret: 'not read' } },
    });
    g.addUser({ primaryEmail: 'lou@example.com', archived: true });
    g.addMember(g.addGroup('Buyers', 'buyers@example.com').id, kim.id);
    const id = await h.createConnection({
      customSchemas: ['EmployeeData'],
      groupName: 'email',
      usernameAttribute: 'employeeId',
    });
    expect((await h.syncAndWait(id)).status).toBe('succeeded');
    const [row] = (await h.app.db.sequelize.query(
      "SELECT user_name, active, resource FROM directory_users WHERE connection_id = $1 AND email = 'kim@example.com'",
      { bind: [id], type: 'SELECT' },
    )) as Array<{ user_name: string; active: boolean; resource: Record<string, unknown> }>;
    expect(row.user_name).toBe('E-1001');
    expect(row.resource).toMatchObject({
      EmployeeData: { costCenter: 'CC-42' },
      title: 'Buyer',
      aliases: ['kimberly@example.com'],
      emails: [{ value: 'kim@example.com', primary: true, type: 'work' }],
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': {
        department: 'Purchasing',
        employeeNumber: 'E-1001',
      },
    });
    expect(row.resource).not.toHaveProperty('Other');
    expect(await stored(id)).toContain('lou@example.com:false');
    const probe = (
      await request(h.app.url)
        .post(`/api/v1/connections/${id}/test-user`)
        .set(h.auth())
        .send({ username: 'kimberly@example.com' })
    ).body;
    expect(probe.groups.map((x: { name: string }) => x.name)).toEqual(['buyers@example.com']);
    const rules = await request(h.app.url)
      .put(`/api/v1/connections/${id}/rules`)
      .set(h.auth())
      .send({ attributes: { custom: [{ from: 'EmployeeData.costCenter', propertyKey: 'costCenter' }] } });
    expect(rules.status).toBe(200);
    const mapped = (
      await request(h.app.url)
        .post(`/api/v1/connections/${id}/test-user`)
        .set(h.auth())
        .send({ username: 'kim@example.com' })
    ).body;
    expect(mapped.jira.properties).toEqual({ costCenter: 'CC-42' });
  });
});

describe('Google Workspace: first logins and JSM customers', () => {
  it('a first login pulls that one user with its groups (nested ones by the nesting last read); a user out of scope is absent', async () => {
    const { platform } = seed();
    const id = await h.createConnection({ scope: { kind: 'orgUnits', paths: ['/Engineering'] } });
    expect((await h.syncAndWait(id)).status).toBe('succeeded');
    const ivy = h.google.addUser({ primaryEmail: 'ivy@example.com', orgUnitPath: '/Engineering' }, { event: false });
    h.google.addMember(platform.id, ivy.id, false);
    const jon = h.google.addUser({ primaryEmail: 'jon@example.com', orgUnitPath: '/Sales' }, { event: false });
    const c = (await h.app.connections.byId(id))!;
    const source = h.app.sources.forKind('google')!;
    expect(await source.pullUser(c, jon.primaryEmail)).toBe('absent');
    expect(await source.pullUser(c, 'nobody@example.com')).toBe('absent');
    expect(await source.pullUser(c, ivy.primaryEmail)).toBe('pulled');
    expect(await stored(id)).toContain('ivy@example.com:true');
    expect(await stored(id)).not.toContain('jon@example.com:true');
    const [groups] = (await h.app.db.sequelize.query(
      `SELECT g.display_name FROM directory_memberships m JOIN directory_groups g ON g.connection_id = m.connection_id AND g.id = m.group_id
       JOIN directory_users u ON u.connection_id = m.connection_id AND u.id = m.user_id
       WHERE m.connection_id = $1 AND u.email = 'ivy@example.com' ORDER BY 1`,
      { bind: [id] },
    )) as [Array<{ display_name: string }>, unknown];
    expect(groups.map((g) => g.display_name)).toEqual(['Engineering', 'Platform']); // Engineering through Platform
  });

  it('a connection whose target is customers: Google users become JSM customers with portal access by group, and an event withdraws what a leaver had', async () => {
    const { eng, bob } = seed();
    h.jira.state.addServiceDesk('5', 'ENG', 'Engineering help');
    const id = await h.createConnection({}, { name: 'Google customers', target: 'customers' });
    expect(
      (
        await request(h.app.url)
          .put(`/api/v1/connections/${id}/rules`)
          .set(h.auth())
          .send({ customers: { groups: [{ idpGroup: 'Engineering', serviceDesks: ['5'] }] } })
      ).status,
    ).toBe(200);
    const run = await h.syncAndWait(id, { mode: 'full' });
    expect(run).toMatchObject({ status: 'succeeded' });
    const onDesk = () =>
      [...h.jira.state.serviceDesks.get('5')!.customers].map((a) => h.jira.state.users.get(a)?.emailAddress).sort();
    expect(onDesk()).toEqual(['ann@example.com', 'bob@example.com', 'dave@example.com']); // dave through Platform
    expect(jiraUser('carl@example.com')).toMatchObject({ accountType: 'customer', products: [] });

    h.google.removeMember(eng.id, bob.id);
    const inc = await h.syncAndWait(id);
    expect(inc).toMatchObject({ status: 'succeeded', progress: { read: { mode: 'incremental' } } });
    expect(onDesk()).toEqual(['ann@example.com', 'dave@example.com']);
  });
});
