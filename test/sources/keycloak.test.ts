import crypto from 'node:crypto';
import request from 'supertest';
import { startKeycloak, type KeycloakHarness } from '../support/keycloak';

/** Keycloak pull sync, end to end: fake Keycloak (HTTPS, client credentials, realm-management roles) → directory → engine → fake Jira. */
let h: KeycloakHarness;
beforeEach(async () => {
  h = await startKeycloak();
});
afterEach(() => h.close());

const jiraUser = (email: string) => h.jira.state.userByEmail(email);
const groupsOf = (email: string) => (jiraUser(email) ? h.jira.state.groupsOf(jiraUser(email)!.accountId).sort() : []);

async function stored(id: string): Promise<string[]> {
  const rows = (await h.app.db.sequelize.query(
    'SELECT user_name, active FROM directory_users WHERE connection_id = $1 ORDER BY user_name',
    { bind: [id], type: 'SELECT' },
  )) as Array<{ user_name: string; active: boolean }>;
  return rows.map((r) => `${r.user_name}:${r.active}`);
}
async function storedGroups(id: string): Promise<string[]> {
  const rows = (await h.app.db.sequelize.query(
    'SELECT display_name FROM directory_groups WHERE connection_id = $1 ORDER BY 1',
    { bind: [id], type: 'SELECT' },
  )) as Array<{ display_name: string }>;
  return rows.map((r) => r.display_name);
}

/** ann and bob in Engineering, dave in Platform (a subgroup of Engineering), ann in Sales; carl in none; eve disabled. */
function seed() {
  const k = h.kc;
  const r = h.realm;
  const user = (username: string, more: Record<string, unknown> = {}) =>
    k.addUser(r, { username, email: `${username}@example.com`, firstName: username, lastName: 'Example', ...more });
  const ann = user('ann', {
    firstName: 'Ann',
    lastName: 'Lee',
    attributes: { department: ['Sales'], costCenter: ['CC-1'] },
  });
  const bob = user('bob');
  const carl = user('carl');
  const dave = user('dave');
  const eve = user('eve', { enabled: false });
  const eng = k.addGroup(r, 'Engineering');
  const sales = k.addGroup(r, 'Sales');
  const platform = k.addGroup(r, 'Platform', eng.id);
  k.addMember(r, eng.id, ann.id);
  k.addMember(r, eng.id, bob.id);
  k.addMember(r, sales.id, ann.id);
  k.addMember(r, platform.id, dave.id);
  k.addMember(r, sales.id, eve.id);
  return { ann, bob, carl, dave, eve, eng, sales, platform };
}

describe('Keycloak: a full read', () => {
  it("brings the realm's users, groups and subgroups into Jira: a subgroup's members are its parents' members too", async () => {
    seed();
    const id = await h.createConnection();
    const run = await h.syncAndWait(id);
    expect({ status: run.status, error: run.error }).toEqual({ status: 'succeeded', error: null });
    expect(await stored(id)).toEqual(['ann:true', 'bob:true', 'carl:true', 'dave:true', 'eve:false']); // never a service account
    expect(await storedGroups(id)).toEqual(['Engineering', 'Platform', 'Sales']);
    expect(groupsOf('ann@example.com')).toEqual(['Engineering', 'Sales']);
    expect(groupsOf('dave@example.com')).toEqual(['Engineering', 'Platform']);
    expect(groupsOf('eve@example.com')).toEqual([]); // disabled: inactive
    const [row] = (await h.app.db.sequelize.query(
      "SELECT resource FROM directory_users WHERE connection_id = $1 AND user_name = 'ann'",
      { bind: [id], type: 'SELECT' },
    )) as Array<{ resource: Record<string, unknown> }>;
    expect(row.resource).toMatchObject({
      attributes: { department: 'Sales', costCenter: 'CC-1' },
      name: { givenName: 'Ann', familyName: 'Lee' },
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: 'Sales', costCenter: 'CC-1' },
    });
  });

  it('pages by first/max through hundreds of users and subgroups, and a dry run changes nothing in Jira', async () => {
    const k = h.kc;
    const eng = k.addGroup(h.realm, 'Engineering', undefined, { event: false });
    for (let i = 0; i < 30; i++) k.addGroup(h.realm, `Team ${i}`, eng.id, { event: false });
    for (let i = 0; i < 1_200; i++)
      k.addMember(
        h.realm,
        eng.id,
        k.addUser(h.realm, { username: `u${i}`, email: `u${i}@example.com` }, { event: false }).id,
        { event: false },
      );
    const id = await h.createConnection();
    const dry = await request(h.app.url).post(`/api/v1/connections/${id}/sync`).set(h.auth()).send({ dryRun: true });
    expect(dry.status).toBe(200);
    expect(jiraUser('u1@example.com')).toBeUndefined();
    expect((await stored(id)).length).toBe(1_200);
    expect((await storedGroups(id)).length).toBe(31);
    const users = h.kc.calls.filter((c) => /\/users\/?$/.test(c.path));
    expect(users.map((c) => c.query.first)).toEqual(['0', '500', '1000']);
    const children = h.kc.calls.filter((c) => c.path.endsWith('/children'));
    expect(children.length).toBe(1); // only Engineering has subgroups (subGroupCount)
  });
});

describe('Keycloak: incremental reads from admin events', () => {
  it('follows new, changed, disabled and deleted users, memberships, subgroups, renamed and deleted groups', async () => {
    const { ann, bob, carl, eng, sales, platform } = seed();
    const id = await h.createConnection({ scheduleMinutes: 60 });
    expect((await h.syncAndWait(id)).status).toBe('succeeded');
    const k = h.kc;
    const r = h.realm;
    const fay = k.addUser(r, { username: 'fay', email: 'fay@example.com' });
    k.addMember(r, platform.id, fay.id); // Platform is in Engineering: fay is in both
    k.updateUser(r, ann.id, { lastName: 'Park' });
    k.updateUser(r, bob.id, { enabled: false });
    k.deleteUser(r, carl.id);
    k.removeMember(r, sales.id, ann.id);
    const calls = k.calls.length;
    const run = await h.scheduled(id);
    expect(run).toMatchObject({ status: 'succeeded', progress: { read: { mode: 'incremental' } } });
    expect(groupsOf('fay@example.com')).toEqual(['Engineering', 'Platform']);
    expect(groupsOf('ann@example.com')).toEqual(['Engineering']);
    expect(groupsOf('bob@example.com')).toEqual([]); // disabled: the rules' deprovisioning
    expect(await stored(id)).toEqual(['ann:true', 'bob:false', 'dave:true', 'eve:false', 'fay:true']);
    const listed = k.calls.slice(calls).filter((c) => /\/users\/?$/.test(c.path));
    expect(listed).toEqual([]); // no listing of the realm: what the events name

    // A subgroup made under Sales with a member; Engineering renamed; Platform deleted.
    const emea = k.addGroup(r, 'EMEA', sales.id);
    k.addMember(r, emea.id, bob.id);
    k.updateUser(r, bob.id, { enabled: true });
    k.renameGroup(r, eng.id, 'Engineers');
    k.deleteGroup(r, platform.id);
    const next = await h.scheduled(id);
    expect(next).toMatchObject({ status: 'succeeded', progress: { read: { mode: 'incremental' } } });
    expect(await storedGroups(id)).toEqual(['EMEA', 'Engineers', 'Sales']);
    expect(groupsOf('bob@example.com')).toEqual(expect.arrayContaining(['EMEA', 'Sales']));
    expect(groupsOf('fay@example.com')).not.toContain('Platform');
  });

  it('reads in full on the schedule when the realm records no admin events, and says how to turn them on', async () => {
    seed();
    h.kc.realms.get(h.realm)!.adminEventsEnabled = false;
    const id = await h.createConnection({ scheduleMinutes: 60 });
    expect((await h.scheduled(id)).progress.read.note).toBe('no position yet: full read');
    const again = await h.scheduled(id);
    expect(again.progress.read).toMatchObject({ mode: 'full' });
    expect(again.progress.read.note).toMatch(/does not record admin events: full read \(Realm settings → Events/);
    const test = (await request(h.app.url).post(`/api/v1/connections/${id}/test`).set(h.auth()).send({})).body;
    expect(test).toMatchObject({ ok: true, adminEvents: false });
    expect(test.message).toMatch(
      /every read will be full: turn them on in Realm settings → Events → Admin events settings/,
    );

    h.kc.realms.get(h.realm)!.adminEventsEnabled = true;
    const on = await h.scheduled(id);
    expect(on.progress.read).toMatchObject({ mode: 'incremental' });
    await h.app.db.sequelize.query(
      `UPDATE source_state SET cursor = jsonb_set(cursor, '{fullAt}', to_jsonb((now() - interval '25 hours')::text)) WHERE connection_id = $1`,
      { bind: [id] },
    );
    expect((await h.scheduled(id)).progress.read.note).toMatch(/the last full read is over 24 h old/);
  });
});

describe('Keycloak: scope, roles and bad input', () => {
  it('a groups scope reads the chosen groups (by path or id) and their subgroups; a member added or removed follows', async () => {
    const { bob, eng, sales, carl } = seed();
    const id = await h.createConnection({ scheduleMinutes: 60, scope: { kind: 'groups', groups: ['/Engineering'] } });
    expect((await h.syncAndWait(id)).status).toBe('succeeded');
    expect(await stored(id)).toEqual(['ann:true', 'bob:true', 'dave:true']);
    expect(await storedGroups(id)).toEqual(['Engineering', 'Platform']);
    h.kc.addMember(h.realm, eng.id, carl.id);
    h.kc.removeMember(h.realm, eng.id, bob.id);
    const run = await h.scheduled(id);
    expect(run).toMatchObject({ status: 'succeeded', progress: { read: { mode: 'incremental' } } });
    expect(await stored(id)).toEqual(['ann:true', 'carl:true', 'dave:true']);

    const byId = await h.createConnection({ scope: { kind: 'groups', groups: [sales.id, '/Engineering/Platform'] } });
    expect((await h.syncAndWait(byId)).status).toBe('succeeded');
    expect(await storedGroups(byId)).toEqual(['Platform', 'Sales']);
    const missing = await h.createConnection({ scope: { kind: 'groups', groups: ['/Engineering/Nobody'] } });
    expect((await h.syncAndWait(missing)).error).toMatch(
      /group \/Engineering\/Nobody chosen as the scope was not found/,
    );
  });

  it('Test connection says in one sentence what to fix: secret, realm, service accounts, roles', async () => {
    seed();
    const id = await h.createConnection();
    const test = async (body: Record<string, unknown> = {}) =>
      (await request(h.app.url).post(`/api/v1/connections/${id}/test`).set(h.auth()).send(body)).body;
    const ok = await test();
    expect(ok).toMatchObject({ ok: true, adminEvents: true, users: 5, groups: 2 });
    expect(ok.message).toMatch(
      /Connected to the realm acme as client jira-sync: Keycloak returned 5 users and 2 top-level groups/,
    );
    expect((await test({ keycloakClientSecret: 'wrong' })).message).toMatch(
      /did not accept client jira-sync with this secret/,
    );
    expect((await test({ keycloak: { clientId: 'nobody' } })).message).toMatch(/did not accept client nobody/);
    expect((await test({ keycloak: { realm: 'nowhere' } })).message).toMatch(/has no realm nowhere/);
    h.kc.client(h.realm, 'jira-sync').serviceAccountsEnabled = false;
    expect((await test()).message).toMatch(/may not use client credentials .*Service accounts roles/);
    h.kc.client(h.realm, 'jira-sync').serviceAccountsEnabled = true;
    h.kc.client(h.realm, 'jira-sync').roles = new Set(['query-users', 'query-groups']);
    expect((await test()).message).toMatch(/sees no user in the realm acme: .*view-users/); // query-users alone lists no one
    h.kc.client(h.realm, 'jira-sync').roles = new Set(['view-users']);
    const noEvents = await test();
    expect(noEvents).toMatchObject({ ok: true, adminEvents: false });
    expect(noEvents.message).toMatch(/may not read the realm's events \(the realm-management role view-events\)/);
    h.kc.client(h.realm, 'jira-sync').roles = new Set([]);
    expect((await test()).message).toMatch(/lacks a realm-management role .*view-users, view-events/);
  });

  it('refuses bad settings field by field, seals the secret, never returns it, and keeps to the outbound rules', async () => {
    const post = (body: Record<string, unknown>) =>
      request(h.app.url).post('/api/v1/connections').set(h.auth()).send(body);
    const field = async (keycloak: Record<string, unknown>, extra: Record<string, unknown> = {}) => {
      const res = await post(h.connectionBody(keycloak, extra));
      expect(res.status).toBe(400);
      return Object.keys(res.body.fields ?? {});
    };
    expect(await field({ serverUrl: 'http://sso.example.com' })).toEqual(['keycloak.serverUrl']);
    expect(await field({ serverUrl: 'https://sso.example.com/realms/acme' })).toEqual(['keycloak.serverUrl']);
    expect(await field({ realm: 'a/b' })).toEqual(['keycloak.realm']);
    expect(await field({ scope: { kind: 'groups', groups: ['Engineering'] } })).toEqual(['keycloak.scope.groups.0']);
    expect(await field({}, { keycloakClientSecret: '' })).toEqual(['keycloakClientSecret']);
    const id = await h.createConnection();
    const shown = (await request(h.app.url).get(`/api/v1/connections/${id}`).set(h.auth())).body;
    expect(shown.keycloak).toMatchObject({ keycloakClientSecretSet: true, roles: ['view-users', 'view-events'] });
    expect(JSON.stringify(shown)).not.toContain(h.secret);
    const [row] = (await h.app.db.sequelize.query('SELECT secret_enc FROM connections WHERE id = $1', {
      bind: [id],
      type: 'SELECT',
    })) as Array<{ secret_enc: string }>;
    expect(row.secret_enc).not.toContain(h.secret);
    const res = await request(h.app.url)
      .post(`/api/v1/connections/${id}/test`)
      .set(h.auth())
      .send({ keycloak: { serverUrl: 'https://169.254.169.254' } });
    expect(res.body).toMatchObject({ ok: false });
    expect(res.body.message).toMatch(/169.254.169.254 is a link-local address/);
  });

  it('a token is fetched again before it expires (no refresh token under client credentials), and once after a 401', async () => {
    seed();
    h.kc.tokenLifespan = 30; // the client renews 30 s early: every call needs a new token
    const id = await h.createConnection();
    expect((await h.syncAndWait(id)).status).toBe('succeeded');
    const tokens = h.kc.calls.filter((c) => c.path.endsWith('/token'));
    expect(tokens.length).toBeGreaterThan(3);
    expect(h.kc.calls.filter((c) => c.status === 401)).toEqual([]);

    h.kc.tokenLifespan = 300;
    let rotated = false;
    h.kc.afterCall = (call) => {
      if (!rotated && call.path.endsWith('/members')) {
        rotated = true;
        h.kc.rotateKeys(); // the token in hand stops verifying mid-read
      }
    };
    const again = await h.syncAndWait(id, { mode: 'full' });
    h.kc.afterCall = undefined;
    expect(again.status).toBe('succeeded');
    expect(h.kc.calls.filter((c) => c.status === 401).length).toBeGreaterThanOrEqual(1);
  });
});

describe('Keycloak: names, ids, outages, many events', () => {
  it('subgroups of one name under two parents: with names the second is a conflict said in the run, with paths both are read', async () => {
    const k = h.kc;
    const sales = k.addGroup(h.realm, 'Sales');
    const support = k.addGroup(h.realm, 'Support');
    const a = k.addUser(h.realm, { username: 'amy', email: 'amy@example.com' });
    const b = k.addUser(h.realm, { username: 'ben', email: 'ben@example.com' });
    k.addMember(h.realm, k.addGroup(h.realm, 'EMEA', sales.id).id, a.id);
    k.addMember(h.realm, k.addGroup(h.realm, 'EMEA', support.id).id, b.id);
    // a user of a federation provider without import: its id is not a UUID
    k.addUser(h.realm, { id: 'f:3b1c9d2e:jdoe', username: 'jdoe', email: 'jdoe@example.com' });
    const byName = await h.createConnection();
    const run = await h.syncAndWait(byName);
    expect(run.status).toBe('succeeded');
    expect(run.progress.read.conflicts.join(' ')).toMatch(/name EMEA is already another group's \(name groups by path/);
    expect(await stored(byName)).toContain('jdoe:true');
    const byPath = await h.createConnection({ groupName: 'path' });
    expect((await h.syncAndWait(byPath)).status).toBe('succeeded');
    expect(await storedGroups(byPath)).toEqual(['/Sales', '/Sales/EMEA', '/Support', '/Support/EMEA']);
  });

  it('asks again when Keycloak has trouble (5xx), refuses a redirect, and reads in full past 5,000 events', async () => {
    seed();
    const id = await h.createConnection({ scheduleMinutes: 60 });
    h.kc.failNext(2, 503);
    expect((await h.syncAndWait(id)).status).toBe('succeeded');
    expect(h.kc.calls.filter((c) => c.status === 503)).toHaveLength(2);
    const now = Date.now();
    for (let i = 0; i < 5_001; i++) h.kc.event(h.realm, 'UPDATE', 'USER', `users/${crypto.randomUUID()}`, now - 1000);
    const many = await h.scheduled(id);
    expect(many.progress.read).toMatchObject({
      mode: 'full',
      note: 'more than 5,000 admin events since the last read: full read',
    });
    h.kc.redirect = true;
    const test = (await request(h.app.url).post(`/api/v1/connections/${id}/test`).set(h.auth()).send({})).body;
    h.kc.redirect = false;
    expect(test).toMatchObject({ ok: false });
    expect(test.message).toMatch(/answered with a redirect, which this server does not follow/);
  });
});

describe('Keycloak: Test Sync, first logins and JSM customers', () => {
  it('Test Sync finds a user by username or email; a first login pulls that one user with its groups', async () => {
    const { platform } = seed();
    const id = await h.createConnection();
    expect((await h.syncAndWait(id)).status).toBe('succeeded');
    const probe = (
      await request(h.app.url)
        .post(`/api/v1/connections/${id}/test-user`)
        .set(h.auth())
        .send({ username: 'dave@example.com' })
    ).body;
    expect(probe).toMatchObject({ found: true, inScope: true, active: true });
    expect(probe.groups.map((g: { name: string }) => g.name).sort()).toEqual(['Engineering', 'Platform']);
    // a user attribute as a custom attribute: the rules read `attributes.<name>`
    await request(h.app.url)
      .put(`/api/v1/connections/${id}/rules`)
      .set(h.auth())
      .send({ attributes: { custom: [{ from: 'attributes.costCenter', propertyKey: 'costCenter' }] } })
      .expect(200);
    const ann = (
      await request(h.app.url).post(`/api/v1/connections/${id}/test-user`).set(h.auth()).send({ username: 'ann' })
    ).body;
    expect(ann.jira.properties).toEqual({ costCenter: 'CC-1' });
    const none = (
      await request(h.app.url).post(`/api/v1/connections/${id}/test-user`).set(h.auth()).send({ username: 'zed' })
    ).body;
    expect(none).toMatchObject({ found: false });
    expect(none.message).toMatch(/no user zed/);

    const ivy = h.kc.addUser(h.realm, { username: 'ivy', email: 'ivy@example.com' }, { event: false });
    h.kc.addMember(h.realm, platform.id, ivy.id, { event: false });
    const c = (await h.app.connections.byId(id))!;
    const source = h.app.sources.forKind('keycloak')!;
    expect(await source.pullUser(c, 'nobody@example.com')).toBe('absent');
    expect(await source.pullUser(c, 'ivy@example.com')).toBe('pulled');
    expect(await stored(id)).toContain('ivy:true');
  });

  it('a connection whose target is customers: Keycloak users become JSM customers with portal access by group', async () => {
    const { eng, bob } = seed();
    h.jira.state.addServiceDesk('5', 'ENG', 'Engineering help');
    const id = await h.createConnection({}, { name: 'Keycloak customers', target: 'customers' });
    await request(h.app.url)
      .put(`/api/v1/connections/${id}/rules`)
      .set(h.auth())
      .send({ customers: { groups: [{ idpGroup: 'Engineering', serviceDesks: ['5'] }] } })
      .expect(200);
    expect((await h.syncAndWait(id, { mode: 'full' })).status).toBe('succeeded');
    const onDesk = () =>
      [...h.jira.state.serviceDesks.get('5')!.customers].map((a) => h.jira.state.users.get(a)?.emailAddress).sort();
    expect(onDesk()).toEqual(['ann@example.com', 'bob@example.com', 'dave@example.com']);
    h.kc.removeMember(h.realm, eng.id, bob.id);
    expect(await h.syncAndWait(id)).toMatchObject({ status: 'succeeded', progress: { read: { mode: 'incremental' } } });
    expect(onDesk()).toEqual(['ann@example.com', 'dave@example.com']);
  });
});
