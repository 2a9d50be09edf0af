import { registry } from '../../src/metrics';
import crypto from 'node:crypto';
import request from 'supertest';
import { startOkta, type OktaHarness } from '../support/okta';

/** Okta pull sync, end to end: fake Okta (HTTPS, private_key_jwt + DPoP, SSWS) → directory → engine → fake Jira. */
let h: OktaHarness;
beforeEach(async () => {
  h = await startOkta();
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
/** A stored user's display name (Jira keeps its own: an account's name is the person's). */
async function nameOf(id: string, email: string): Promise<string> {
  const [row] = (await h.app.db.sequelize.query(
    'SELECT display_name FROM directory_users WHERE connection_id = $1 AND email = $2',
    { bind: [id, email], type: 'SELECT' },
  )) as Array<{ display_name: string }>;
  return row?.display_name;
}
async function storedGroups(id: string): Promise<string[]> {
  const rows = (await h.app.db.sequelize.query(
    'SELECT display_name FROM directory_groups WHERE connection_id = $1 ORDER BY 1',
    { bind: [id], type: 'SELECT' },
  )) as Array<{ display_name: string }>;
  return rows.map((r) => r.display_name);
}

/** ann and bob in Engineering, ann in Sales, carl in none; sue suspended, del deactivated, stu staged. */
function seed() {
  const o = h.okta;
  const ann = o.addUser({
    login: 'ann@example.com',
    firstName: 'Ann',
    lastName: 'Lee',
    department: 'Sales',
    title: 'Rep',
  });
  const bob = o.addUser({ login: 'bob@example.com' });
  const carl = o.addUser({ login: 'carl@example.com' });
  const sue = o.addUser({ login: 'sue@example.com' }, { status: 'SUSPENDED' });
  const del = o.addUser({ login: 'del@example.com' }, { status: 'DEPROVISIONED' });
  const stu = o.addUser({ login: 'stu@example.com' }, { status: 'STAGED' });
  const lou = o.addUser({ login: 'lou@example.com' }, { status: 'LOCKED_OUT' });
  const eng = o.addGroup('Engineering');
  const sales = o.addGroup('Sales');
  o.addMember(eng.id, ann.id);
  o.addMember(eng.id, bob.id);
  o.addMember(sales.id, ann.id);
  o.addMember(sales.id, sue.id);
  return { ann, bob, carl, sue, del, stu, lou, eng, sales };
}

const ALL = [
  'ann@example.com:true',
  'bob@example.com:true',
  'carl@example.com:true',
  'del@example.com:false',
  'lou@example.com:true',
  'stu@example.com:false',
  'sue@example.com:false',
];

describe('Okta: a full read', () => {
  it('signs in with the service app (private_key_jwt, DPoP nonce) and brings users, statuses, groups and memberships into Jira', async () => {
    seed();
    const id = await h.createConnection();
    const run = await h.syncAndWait(id);
    expect(run.status).toBe('succeeded');
    expect(await stored(id)).toEqual(ALL); // deactivated users read too: a plain listing hides them
    expect(await storedGroups(id)).toEqual(['Engineering', 'Sales']); // never the built-in Everyone
    expect(groupsOf('ann@example.com')).toEqual(['Engineering', 'Sales']);
    expect(groupsOf('bob@example.com')).toEqual(['Engineering']);
    expect(jiraUser('carl@example.com')).toBeTruthy();
    expect(jiraUser('stu@example.com')).toBeUndefined(); // staged: never activated, no Jira account
    expect(groupsOf('sue@example.com')).toEqual([]);
    // the token request was refused once for its nonce, then DPoP-bound
    const tokens = h.okta.calls.filter((c) => c.path === '/oauth2/v1/token').map((c) => c.status);
    expect(tokens).toEqual([400, 200]);
    // pages at Okta's maxima: one page of users, one of groups, one per group's members
    const users = h.okta.calls.filter((c) => c.path === '/api/v1/users');
    expect(users).toHaveLength(1);
    expect(users[0].query.limit).toBe('200');
    // /metrics counts the read by source kind and mode: its pages and the users it saw (run.progress.read).
    const read = (run as { progress: { read: { pages: number; usersSeen: number } } }).progress.read;
    const scraped = await registry.getSingleMetricAsString('idp_pull_read_users_total');
    expect(scraped).toContain(`idp_pull_read_users_total{kind="okta"} ${read.usersSeen}`);
    expect(await registry.getSingleMetricAsString('idp_pull_read_pages_total')).toContain(
      `idp_pull_read_pages_total{kind="okta"} ${read.pages}`,
    );
    expect(await registry.getSingleMetricAsString('idp_pull_reads_total')).toContain(
      'idp_pull_reads_total{kind="okta",mode="full",outcome="read"} 1',
    );
    const [row] = (await h.app.db.sequelize.query(
      "SELECT resource FROM directory_users WHERE connection_id = $1 AND email = 'ann@example.com'",
      { bind: [id], type: 'SELECT' },
    )) as Array<{ resource: Record<string, unknown> }>;
    expect(row.resource).toMatchObject({
      status: 'ACTIVE',
      title: 'Rep',
      department: 'Sales',
      name: { givenName: 'Ann', familyName: 'Lee' },
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: 'Sales' },
    });
  });

  it('pages by the Link header through hundreds of users, and a dry run changes nothing in Jira', async () => {
    const o = h.okta;
    const eng = o.addGroup('Engineering');
    for (let i = 0; i < 450; i++) o.addMember(eng.id, o.addUser({ login: `u${i}@example.com` }, { event: false }).id);
    const id = await h.createConnection();
    const dry = await request(h.app.url).post(`/api/v1/connections/${id}/sync`).set(h.auth()).send({ dryRun: true });
    expect(dry.status).toBe(200);
    expect(jiraUser('u1@example.com')).toBeUndefined();
    expect((await stored(id)).length).toBe(450);
    const lists = h.okta.calls.filter((c) => c.path === '/api/v1/users');
    expect(lists.map((c) => Boolean(c.query.after))).toEqual([false, true, true]); // 200 + 200 + 50
  });

  it('an API token (SSWS) reads the same; a non-admin token is refused with a sentence', async () => {
    seed();
    const token = h.okta.addApiToken();
    const id = await h.createConnection({ clientId: null }, { oktaCredential: token });
    expect((await h.syncAndWait(id)).status).toBe('succeeded');
    expect(await stored(id)).toEqual(ALL);
    const conn = (await request(h.app.url).get(`/api/v1/connections/${id}`).set(h.auth())).body;
    expect(conn.okta).toMatchObject({ credential: { method: 'apiToken' }, oktaCredentialSet: true });
    expect(JSON.stringify(conn)).not.toContain(token);

    const weak = h.okta.addApiToken(false);
    const other = await h.createConnection({ clientId: null }, { oktaCredential: weak });
    const failed = await h.syncAndWait(other);
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/The API token may not read this .*Read-only Administrator/);
  });
});

describe('Okta: incremental reads from the System Log', () => {
  it('follows new, changed, suspended, deactivated and deleted users, memberships, renamed and deleted groups to the exact Jira state', async () => {
    const { ann, bob, carl, eng, sales } = seed();
    const id = await h.createConnection({ scheduleMinutes: 60 });
    expect((await h.syncAndWait(id)).status).toBe('succeeded');
    const o = h.okta;
    const erin = o.addUser({ login: 'erin@example.com' });
    o.addMember(sales.id, erin.id);
    o.updateProfile(ann.id, { lastName: 'Park', title: 'Lead' });
    o.setStatus(bob.id, 'SUSPENDED');
    o.setStatus(carl.id, 'DEPROVISIONED');
    o.deleteUser(carl.id);
    o.removeMember(eng.id, ann.id);
    const calls = o.calls.length;
    const run = await h.scheduled(id);
    expect(run.status).toBe('succeeded');
    expect(run.progress.read).toMatchObject({ mode: 'incremental' });
    expect(groupsOf('erin@example.com')).toEqual(['Sales']);
    expect(groupsOf('ann@example.com')).toEqual(['Sales']);
    expect(await nameOf(id, 'ann@example.com')).toBe('Ann Park');
    expect(groupsOf('bob@example.com')).toEqual([]); // suspended: the rules' deprovisioning
    expect(groupsOf('carl@example.com')).toEqual([]); // deleted
    expect(await stored(id)).toEqual([
      'ann@example.com:true',
      'bob@example.com:false',
      'del@example.com:false',
      'erin@example.com:true',
      'lou@example.com:true',
      'stu@example.com:false',
      'sue@example.com:false',
    ]);
    // no listing of the whole org: the log, and what changed since the last read
    const wholeLists = o.calls
      .slice(calls)
      .filter((c) => c.path === '/api/v1/users' && !/lastUpdated/.test(c.query.filter ?? ''));
    expect(wholeLists).toEqual([]);

    // bob unsuspended: back with his group; Sales renamed; Engineering deleted
    o.setStatus(bob.id, 'ACTIVE');
    o.renameGroup(sales.id, 'Sales EMEA');
    o.deleteGroup(eng.id);
    const next = await h.scheduled(id);
    expect(next).toMatchObject({ status: 'succeeded', progress: { read: { mode: 'incremental' } } });
    expect(next.counts.usersReactivated).toBe(1);
    expect(await storedGroups(id)).toEqual(['Sales EMEA']);
    expect(groupsOf('erin@example.com')).toContain('Sales EMEA');
    expect(groupsOf('bob@example.com')).not.toContain('Engineering');
  });

  it("sees a change the System Log has not shown yet by the users' lastUpdated (the safety net)", async () => {
    const { ann, sales } = seed();
    const id = await h.createConnection({ scheduleMinutes: 60 });
    expect((await h.syncAndWait(id)).status).toBe('succeeded');
    h.okta.logLagMs = 3600_000; // nothing logged this hour is visible yet
    h.okta.updateProfile(ann.id, { lastName: 'Quinn' });
    const gus = h.okta.addUser({ login: 'gus@example.com' });
    h.okta.addMember(sales.id, gus.id);
    const run = await h.scheduled(id);
    expect(run).toMatchObject({ status: 'succeeded', progress: { read: { mode: 'incremental' } } });
    expect(await nameOf(id, 'ann@example.com')).toBe('Ann Quinn');
    expect(groupsOf('gus@example.com')).toEqual(['Sales']);
  });

  it('falls back to a full read and says why: no position, an old full read, a position past the 90 days, a log it may not read', async () => {
    seed();
    const id = await h.createConnection({ scheduleMinutes: 60, fullReadEveryHours: 1 });
    const first = await h.scheduled(id);
    expect(first.progress.read).toMatchObject({ mode: 'full', note: 'no position yet: full read' });
    const setCursor = (sql: string) =>
      h.app.db.sequelize.query(`UPDATE source_state SET cursor = ${sql} WHERE connection_id = $1`, { bind: [id] });
    await setCursor(`jsonb_set(cursor, '{fullAt}', to_jsonb((now() - interval '2 hours')::text))`);
    expect((await h.scheduled(id)).progress.read.note).toMatch(/the last full read is over 1 h old/);
    await setCursor(`jsonb_set(cursor, '{since}', to_jsonb((now() - interval '91 days')::text))`);
    expect((await h.scheduled(id)).progress.read.note).toMatch(/older than the System Log's 90 days/);
    // the app is not granted okta.logs.read: its token has the other scopes, every read is full, said
    h.okta.serviceApps.get(h.clientId)!.scopes.delete('okta.logs.read');
    const test = (await request(h.app.url).post(`/api/v1/connections/${id}/test`).set(h.auth()).send({})).body;
    expect(test).toMatchObject({ ok: true, systemLog: false });
    expect(test.message).toMatch(
      /The System Log cannot be read .*every read will be full: grant the scope okta.logs.read/,
    );
    const noLog = await h.scheduled(id);
    expect(noLog).toMatchObject({ status: 'succeeded', progress: { read: { mode: 'full' } } });
    expect(noLog.progress.read.note).toMatch(/the System Log could not be read .*full read/);
  });
});

describe('Okta: scopes', () => {
  it("an app scope reads the app's assigned users and groups; unassigning removes a user at the next read", async () => {
    const { ann, bob, carl, eng } = seed();
    const app = h.okta.addApp('Jira');
    h.okta.assignGroup(app.id, eng.id); // ann, bob through Engineering
    h.okta.assignUser(app.id, carl.id);
    const id = await h.createConnection({ scheduleMinutes: 60, scope: { kind: 'app', appId: app.id } });
    expect((await h.syncAndWait(id)).status).toBe('succeeded');
    expect(await stored(id)).toEqual(['ann@example.com:true', 'bob@example.com:true', 'carl@example.com:true']);
    expect(await storedGroups(id)).toEqual(['Engineering']);
    expect(groupsOf('ann@example.com')).toEqual(['Engineering']); // Sales is not the app's

    h.okta.unassignUser(app.id, carl.id);
    h.okta.removeMember(eng.id, bob.id); // bob was assigned only through Engineering
    const dan = h.okta.addUser({ login: 'dan@example.com' });
    h.okta.addMember(eng.id, dan.id);
    const run = await h.scheduled(id);
    expect(run).toMatchObject({ status: 'succeeded', progress: { read: { mode: 'incremental' } } });
    expect(await stored(id)).toEqual(['ann@example.com:true', 'dan@example.com:true']);
    expect(groupsOf('dan@example.com')).toEqual(['Engineering']);
    expect(ann).toBeTruthy();

    // Engineering no longer assigned to the app: the group and those it brought go
    h.okta.unassignGroup(app.id, eng.id);
    expect((await h.scheduled(id)).status).toBe('succeeded');
    expect(await storedGroups(id)).toEqual([]);
    expect(await stored(id)).toEqual([]);

    const missing = await h.createConnection({ scope: { kind: 'app', appId: '0oa00000000000000000' } });
    const failed = await h.syncAndWait(missing);
    expect(failed.error).toMatch(/application 0oa00000000000000000 chosen as the scope was not found/);
  });

  it('a groups scope reads the chosen groups (by name or id) and their members; a member added or removed follows', async () => {
    const { ann, bob, sales } = seed();
    const id = await h.createConnection({
      scheduleMinutes: 60,
      scope: { kind: 'groups', groups: ['Engineering', sales.id] },
    });
    expect((await h.syncAndWait(id)).status).toBe('succeeded');
    expect(await stored(id)).toEqual(['ann@example.com:true', 'bob@example.com:true', 'sue@example.com:false']);
    const ivy = h.okta.addUser({ login: 'ivy@example.com' });
    h.okta.addMember(sales.id, ivy.id);
    h.okta.removeMember(
      h.okta.groups.get([...h.okta.groups.values()].find((g) => g.profile.name === 'Engineering')!.id)!.id,
      bob.id,
    );
    h.okta.updateProfile(ann.id, { lastName: 'Stone' });
    const run = await h.scheduled(id);
    expect(run).toMatchObject({ status: 'succeeded', progress: { read: { mode: 'incremental' } } });
    expect(await stored(id)).toEqual(['ann@example.com:true', 'ivy@example.com:true', 'sue@example.com:false']);
    expect(await nameOf(id, 'ann@example.com')).toBe('Ann Stone');

    const unknown = await h.createConnection({ scope: { kind: 'groups', groups: ['Nobody'] } });
    expect((await h.syncAndWait(unknown)).error).toMatch(/group Nobody chosen as the scope was not found/);
  });
});

describe('Okta: limits, refusals and bad input', () => {
  it("paces by Okta's X-Rate-Limit headers before a 429, and waits for the reset after one", async () => {
    const o = h.okta;
    const eng = o.addGroup('Engineering', { event: false });
    for (let i = 0; i < 30; i++) o.addMember(eng.id, o.addUser({ login: `p${i}@example.com` }, { event: false }).id);
    for (let i = 0; i < 12; i++) o.addGroup(`G${i}`, { event: false });
    o.rateWindowMs = 1_500;
    o.rateScale = 10 / 1000; // /api/v1/groups/{id}: 10 per window — the read needs 13 member listings
    const id = await h.createConnection();
    const run = await h.syncAndWait(id);
    expect(run.status).toBe('succeeded');
    expect(o.calls.filter((c) => c.status === 429)).toEqual([]); // paced, never refused
    expect((await stored(id)).length).toBe(30);

    // Another client of the org used the bucket up: one 429, a wait for the reset, then on.
    o.rateScale = 1;
    const other = await h.createConnection();
    const before = o.calls.length;
    o.afterCall = (call) => {
      if (call.path === '/api/v1/groups') o.useUp('/api/v1/groups/{id}');
    };
    const again = await h.syncAndWait(other);
    o.afterCall = undefined;
    expect(again.status).toBe('succeeded');
    const refused = o.calls.slice(before).filter((c) => c.status === 429);
    expect(refused.length).toBeGreaterThanOrEqual(1);
    expect(refused.length).toBeLessThanOrEqual(4); // the requests in flight when it was used up, not a storm
    expect((await stored(other)).length).toBe(30);
  });

  it('asks again when Okta has trouble (5xx, the token too), refuses a redirect, and reads in full past 5,000 System Log events', async () => {
    seed();
    const id = await h.createConnection({ scheduleMinutes: 60 });
    h.okta.failNext(2, 503);
    h.okta.failNext(1, 502, 'token');
    expect((await h.syncAndWait(id)).status).toBe('succeeded');
    expect(h.okta.calls.filter((c) => c.status === 503)).toHaveLength(2);
    expect(h.okta.calls.filter((c) => c.status === 502 && c.path === '/oauth2/v1/token')).toHaveLength(1);
    // a URL that answers with a redirect is not followed
    h.okta.redirect = true;
    const test = (await request(h.app.url).post(`/api/v1/connections/${id}/test`).set(h.auth()).send({})).body;
    h.okta.redirect = false;
    expect(test).toMatchObject({ ok: false });
    expect(test.message).toMatch(
      /answered with a redirect \(to login.example.net\), which this server does not follow/,
    );
    const at = new Date(Date.now() - 1000);
    for (let i = 0; i < 5_001; i++)
      h.okta.log('user.account.update_profile', [{ id: '00u00000000000000000', type: 'User' }], at);
    const many = await h.scheduled(id);
    expect(many.progress.read).toMatchObject({
      mode: 'full',
      note: 'more than 5,000 System Log events since the last read: full read',
    });
  });

  it('refuses bad settings and credentials field by field, seals the credential, never returns it', async () => {
    const post = (body: Record<string, unknown>) =>
      request(h.app.url).post('/api/v1/connections').set(h.auth()).send(body);
    const field = async (okta: Record<string, unknown>, extra: Record<string, unknown> = {}) => {
      const res = await post(h.connectionBody(okta, extra));
      expect(res.status).toBe(400);
      return Object.keys(res.body.fields ?? res.body.details?.fields ?? {});
    };
    expect(await field({ orgUrl: 'http://acme.okta.com' })).toEqual(['okta.orgUrl']);
    expect(await field({ orgUrl: 'https://acme-admin.okta.com' })).toEqual(['okta.orgUrl']);
    expect(await field({ orgUrl: 'https://acme.okta.com/oauth2/default' })).toEqual(['okta.orgUrl']);
    expect(await field({ scope: { kind: 'app', appId: 'Jira' } })).toEqual(['okta.scope.appId']);
    expect(await field({ scope: { kind: 'groups', groups: [] } })).toEqual(['okta.scope.groups']);
    expect(await field({}, { oktaCredential: 'not a token!' })).toEqual(['oktaCredential']);
    expect(await field({ clientId: null })).toEqual(['okta.clientId']); // a private key needs its client ID
    const pub = crypto
      .generateKeyPairSync('rsa', { modulusLength: 2048 })
      .publicKey.export({ type: 'spki', format: 'pem' });
    expect(await field({}, { oktaCredential: pub })).toEqual(['oktaCredential']);

    const id = await h.createConnection();
    const shown = (await request(h.app.url).get(`/api/v1/connections/${id}`).set(h.auth())).body;
    expect(shown.okta).toMatchObject({ credential: { method: 'privateKey' }, oktaCredentialSet: true });
    expect(shown.okta.credential.publicJwk).toMatchObject({ kty: 'RSA', use: 'sig' });
    expect(shown.okta.credential.publicJwk).not.toHaveProperty('d');
    expect(JSON.stringify(shown)).not.toContain(JSON.parse(h.privateKey).d);
    const [row] = (await h.app.db.sequelize.query('SELECT secret_enc FROM connections WHERE id = $1', {
      bind: [id],
      type: 'SELECT',
    })) as Array<{ secret_enc: string }>;
    expect(row.secret_enc).not.toContain(JSON.parse(h.privateKey).d);

    // The org URL is typed by an admin: a private address is refused unless the operator allows it.
    const res = await request(h.app.url)
      .post(`/api/v1/connections/${id}/test`)
      .set(h.auth())
      .send({ okta: { orgUrl: 'https://169.254.169.254' } });
    expect(res.body).toMatchObject({ ok: false });
    expect(res.body.message).toMatch(/169.254.169.254 is a link-local address/);
  });

  it('Test connection says in one sentence what to fix: client, key, scope, role, token, DPoP', async () => {
    seed();
    const id = await h.createConnection();
    const test = async (body: Record<string, unknown> = {}) =>
      (await request(h.app.url).post(`/api/v1/connections/${id}/test`).set(h.auth()).send(body)).body;
    const ok = await test();
    expect(ok).toMatchObject({ ok: true, systemLog: true });
    expect(ok.message).toMatch(new RegExp(`as client ${h.clientId}: Okta returned 7 users and 3 groups`));

    expect((await test({ okta: { clientId: '0oaUnknownClient0000' } })).message).toMatch(
      /does not know client 0oaUnknownClient0000/,
    );
    const stranger = h.okta.addServiceApp(); // a key Okta has not registered for this app
    expect((await test({ oktaCredential: stranger.privateKey })).message).toMatch(
      /did not accept the private key .* Public keys/,
    );
    const app = h.okta.serviceApps.get(h.clientId)!;
    app.scopes.delete('okta.apps.read');
    expect((await test()).message).toMatch(/not granted every scope .*okta.apps.read/);
    app.scopes.add('okta.apps.read');
    app.adminRole = false;
    expect((await test()).message).toMatch(/no admin role .*Read-only Administrator/);
    app.adminRole = true;
    const revoked = h.okta.addApiToken();
    h.okta.apiTokens.delete(revoked);
    expect((await test({ oktaCredential: revoked, okta: { clientId: null } })).message).toMatch(
      /did not accept the API token/,
    );
    // An app without DPoP: a Bearer token, the same reads.
    const plain = h.okta.addServiceApp({ dpop: false, format: 'pem', keyType: 'ec' });
    const bearer = await test({ oktaCredential: plain.privateKey, okta: { clientId: plain.clientId } });
    expect(bearer).toMatchObject({ ok: true });
    // A token that expires mid-read is fetched again.
    h.okta.expireTokens();
    expect((await h.syncAndWait(id)).status).toBe('succeeded');
  });
});

describe('Okta: Test Sync, first logins and JSM customers', () => {
  it('Test Sync finds a user by login or email and says what the rules would see; a first login pulls one user in scope', async () => {
    const { sales } = seed();
    const id = await h.createConnection({ scope: { kind: 'groups', groups: ['Sales'] } });
    expect((await h.syncAndWait(id)).status).toBe('succeeded');
    const probe = (
      await request(h.app.url)
        .post(`/api/v1/connections/${id}/test-user`)
        .set(h.auth())
        .send({ username: 'ann@example.com' })
    ).body;
    expect(probe).toMatchObject({ found: true, inScope: true, active: true, status: 'ACTIVE' });
    expect(probe.groups.map((g: { name: string }) => g.name)).toEqual(['Sales']);
    const bob = (
      await request(h.app.url)
        .post(`/api/v1/connections/${id}/test-user`)
        .set(h.auth())
        .send({ username: 'bob@example.com' })
    ).body;
    expect(bob).toMatchObject({ found: true, inScope: false });
    const none = (
      await request(h.app.url)
        .post(`/api/v1/connections/${id}/test-user`)
        .set(h.auth())
        .send({ username: 'zed@example.com' })
    ).body;
    expect(none).toMatchObject({ found: false });
    expect(none.message).toMatch(/no user zed@example.com/);

    const ivy = h.okta.addUser({ login: 'ivy.login', email: 'ivy@example.com' }, { event: false });
    h.okta.addMember(sales.id, ivy.id, { event: false });
    const c = (await h.app.connections.byId(id))!;
    const source = h.app.sources.forKind('okta')!;
    expect(await source.pullUser(c, 'bob@example.com')).toBe('absent');
    expect(await source.pullUser(c, 'ivy@example.com')).toBe('pulled');
    expect(await stored(id)).toContain('ivy.login:true');
  });

  it('a connection whose target is customers: Okta users become JSM customers with portal access by group', async () => {
    const { eng, bob } = seed();
    h.jira.state.addServiceDesk('5', 'ENG', 'Engineering help');
    const id = await h.createConnection({}, { name: 'Okta customers', target: 'customers' });
    await request(h.app.url)
      .put(`/api/v1/connections/${id}/rules`)
      .set(h.auth())
      .send({ customers: { groups: [{ idpGroup: 'Engineering', serviceDesks: ['5'] }] } })
      .expect(200);
    expect((await h.syncAndWait(id, { mode: 'full' })).status).toBe('succeeded');
    const onDesk = () =>
      [...h.jira.state.serviceDesks.get('5')!.customers].map((a) => h.jira.state.users.get(a)?.emailAddress).sort();
    expect(onDesk()).toEqual(['ann@example.com', 'bob@example.com']);
    h.okta.removeMember(eng.id, bob.id);
    expect(await h.syncAndWait(id)).toMatchObject({ status: 'succeeded', progress: { read: { mode: 'incremental' } } });
    expect(onDesk()).toEqual(['ann@example.com']);
  });
});
