import request from 'supertest';
import { jwtHeader } from '../support/app';
import { ENTERPRISE, patchBody, startScim, type ScimHarness } from '../support/scim';

/** Each rule, end to end: SCIM in, the fake Jira's state out. */
jest.setTimeout(60_000);

let s: ScimHarness;
beforeEach(async () => {
  s = await startScim('generic');
});
afterEach(() => s.close());

const ORG_KEY = 'org-key-e2e';
const admin = () => jwtHeader(s.jira.contextJwt(s.jira.admin.accountId));
const setRules = (rules: object, connectionId = s.connectionId) =>
  request(s.app.url).put(`/api/v1/connections/${connectionId}/rules`).set(admin()).send(rules).expect(200);
const storeToken = (org = false) =>
  s.app.credentials.save(s.jira.clientKey, {
    email: s.jira.admin.emailAddress,
    apiToken: s.jira.adminToken,
    tokenAccountId: s.jira.admin.accountId,
    orgId: org ? 'org-1' : null,
    orgApiKey: org ? ORG_KEY : null,
    updatedBy: 'test',
  });
const user = (name: string, extra: object = {}) => ({
  userName: `${name}@corp.example`,
  emails: [{ value: `${name}@corp.example`, primary: true }],
  displayName: name,
  ...extra,
});
const settle = () => s.settle();
const account = (name: string) => s.jira.state.userByEmail(`${name}@corp.example`);
/** The newest run that had work to do (an empty run may follow it under load). */
const lastRun = async () => (await s.app.runs.runs(s.connectionId)).find((r) => r.total > 0)!;

describe('deprovisioning modes', () => {
  it('deleteFromSite: hands over the leads, then removes the user from the site', async () => {
    await storeToken();
    const id = (await s.post('/Users', user('lead'))).body.id;
    await settle();
    const acc = account('lead')!.accountId;
    s.jira.state.projects.set('OPS', { id: '10001', key: 'OPS', name: 'Ops', leadAccountId: acc });
    s.jira.state.components.set('20001', { id: '20001', name: 'API', projectKey: 'OPS', leadAccountId: acc });
    await setRules({
      users: {
        deprovision: 'deleteFromSite',
        defaultProjectLead: s.jira.admin.accountId,
        defaultComponentLead: s.jira.admin.accountId,
      },
    });
    await s.patch(`/Users/${id}`, patchBody({ op: 'replace', path: 'active', value: false }));
    await settle();
    expect(s.jira.state.users.has(acc)).toBe(false);
    expect(s.jira.state.projects.get('OPS')!.leadAccountId).toBe(s.jira.admin.accountId);
    expect(s.jira.state.components.get('20001')!.leadAccountId).toBe(s.jira.admin.accountId);
    expect((await lastRun()).counts).toMatchObject({ usersDeprovisioned: 1, leadsReassigned: 1 });
  });

  it('deactivate: parks with "needs an organization API key" without one; with one, disables and later reactivates', async () => {
    await storeToken();
    await setRules({ users: { deprovision: 'deactivate' } });
    const id = (await s.post('/Users', user('leaver'))).body.id;
    await settle();
    const acc = account('leaver')!.accountId;
    s.jira.state.managedAccounts.set(acc, { active: true, profile: {} });
    await s.patch(`/Users/${id}`, patchBody({ op: 'replace', path: 'active', value: false }));
    await settle();
    const parked = await s.app.runs.operations((await lastRun()).id, 'parked');
    expect(parked).toEqual([
      expect.objectContaining({ kind: 'deprovision', error: expect.stringMatching(/needs an organization API key/) }),
    ]);
    expect(account('leaver')!.active).toBe(true);

    await storeToken(true);
    s.jira.setOrgApiKey(ORG_KEY);
    await request(s.app.url).post(`/api/v1/connections/${s.connectionId}/sync`).set(admin()).send({}).expect(202);
    await s.app.engine.drain();
    expect(s.jira.state.users.get(acc)!.active).toBe(false);

    await s.patch(`/Users/${id}`, patchBody({ op: 'replace', path: 'active', value: true }));
    await settle();
    expect(s.jira.state.users.get(acc)!.active).toBe(true);
    expect((await lastRun()).counts).toMatchObject({ usersReactivated: 1 });
  });

  it('removeProductGroups: takes the product-access groups away, and gives back those it took', async () => {
    await storeToken();
    await setRules({ users: { deprovision: 'removeProductGroups', productGroups: ['jira-software-users'] } });
    const sw = s.jira.state.addGroup('jira-software-users');
    const id = (await s.post('/Users', user('pat'))).body.id;
    await settle();
    const acc = account('pat')!.accountId;
    sw.members.add(acc); // Jira puts users with product access there
    await s.patch(`/Users/${id}`, patchBody({ op: 'replace', path: 'active', value: false }));
    await settle();
    expect(sw.members.has(acc)).toBe(false);
    expect((await lastRun()).counts).toMatchObject({ membershipsRemoved: 1, usersDeprovisioned: 1 });
    await s.patch(`/Users/${id}`, patchBody({ op: 'replace', path: 'active', value: true }));
    await settle();
    expect(sw.members.has(acc)).toBe(true);
    expect((await lastRun()).counts).toMatchObject({ usersReactivated: 1 });
  });
});

describe('attributes and links', () => {
  it('writes custom attributes as user properties with the JWT, only when they change', async () => {
    await storeToken();
    await setRules({ attributes: { custom: [{ from: `${ENTERPRISE}:department`, propertyKey: 'idp.department' }] } });
    const id = (await s.post('/Users', user('ann', { [ENTERPRISE]: { department: 'R&D' } }))).body.id;
    await settle();
    const acc = account('ann')!.accountId;
    expect(s.jira.state.properties.get(acc)?.get('idp.department')).toEqual({ value: 'R&D' });
    const puts = () =>
      s.jira.calls.filter((c) => c.method === 'PUT' && c.path.startsWith('/rest/api/3/user/properties/'));
    expect(puts().every((c) => c.auth === 'jwt')).toBe(true);
    await s.patch(`/Users/${id}`, patchBody({ op: 'replace', path: 'title', value: 'no property change' }));
    await settle();
    expect(puts()).toHaveLength(1);
    await s.patch(`/Users/${id}`, patchBody({ op: 'replace', path: `${ENTERPRISE}:department`, value: 'Sales' }));
    await settle();
    expect(s.jira.state.properties.get(acc)?.get('idp.department')).toEqual({ value: 'Sales' });
  });

  it('links an existing Jira account by email, and an email change later never creates a duplicate', async () => {
    await storeToken();
    const existing = s.jira.state.addUser({ emailAddress: 'ann@corp.example', displayName: 'Ann' });
    const id = (await s.post('/Users', user('ann'))).body.id;
    await settle();
    // One call: the create, which Jira answers with the account the email already has (counted as created: its answer does not tell)
    expect(s.jira.calls.filter((c) => c.path.startsWith('/rest/api/3/user')).map((c) => [c.method, c.status])).toEqual([
      ['POST', 201],
    ]);
    expect(s.jira.state.users.size).toBe(2); // the site admin and Ann: linked, not duplicated
    await s.patch(
      `/Users/${id}`,
      patchBody({ op: 'replace', path: 'emails', value: [{ value: 'ann.new@corp.example', primary: true }] }),
    );
    await settle();
    expect(s.jira.state.users.size).toBe(2); // the site admin and Ann, no one else
    expect(s.jira.calls.filter((c) => c.method === 'POST' && c.path === '/rest/api/3/user')).toHaveLength(1);
    expect(existing.accountId).toBeDefined();
  });

  it('with user import off, links existing accounts only and parks the rest with the reason', async () => {
    await storeToken();
    await request(s.app.url)
      .patch(`/api/v1/connections/${s.connectionId}`)
      .set(admin())
      .send({ importUsers: false })
      .expect(200);
    s.jira.state.addUser({ emailAddress: 'known@corp.example' });
    await s.post('/Users', user('known'));
    await s.post('/Users', user('unknown'));
    await settle();
    expect(account('unknown')).toBeUndefined();
    const parked = await s.app.runs.operations((await lastRun()).id, 'parked');
    expect(parked).toEqual([
      expect.objectContaining({
        kind: 'ensureUser',
        error: expect.stringMatching(/no Jira account has the email unknown@corp.example, and user import is off/),
      }),
    ]);
  });
});

describe('group rules', () => {
  it('with group import off, adds users only to groups that exist, and the dry run says why', async () => {
    await storeToken();
    await request(s.app.url)
      .patch(`/api/v1/connections/${s.connectionId}`)
      .set(admin())
      .send({ importGroups: false })
      .expect(200);
    await setRules({ groups: { onTheFly: { enabled: true } } });
    s.jira.state.addGroup('exists');
    const u = (await s.post('/Users', user('ann'))).body.id;
    await s.post('/Groups', { displayName: 'exists', members: [{ value: u }] });
    await s.post('/Groups', { displayName: 'missing', members: [{ value: u }] });
    const dry = await request(s.app.url)
      .post(`/api/v1/connections/${s.connectionId}/sync`)
      .set(admin())
      .send({ dryRun: true });
    expect(dry.body.warnings).toEqual([
      expect.stringContaining('"missing"'),
      expect.stringMatching(/display name, job title or department .* organization API key/),
    ]);
    await settle();
    expect(s.jira.state.groupsOf(account('ann')!.accountId)).toEqual(['exists']);
    expect(s.jira.state.groupByName('missing')).toBeUndefined();
  });

  it('mirror mode mirrors in one run: Jira-only members leave, and so does a user linked in that very run', async () => {
    await storeToken();
    await setRules({ groups: { onTheFly: { enabled: true }, keepExisting: false } });
    const team = s.jira.state.addGroup('team');
    const other = s.jira.state.addGroup('other');
    const stranger = s.jira.state.addUser({ emailAddress: 'stranger@corp.example' }); // in Jira only
    const eve = s.jira.state.addUser({ emailAddress: 'eve@corp.example' }); // exists before the IdP links her
    team.members.add(stranger.accountId).add(eve.accountId);
    other.members.add(eve.accountId);
    const eveId = (await s.post('/Users', user('eve'))).body.id;
    await s.post('/Users', user('dan'));
    await s.post('/Groups', { displayName: 'team', members: [{ value: eveId }] });
    await s.post('/Groups', { displayName: 'other', members: [] });
    await settle();
    expect(s.jira.state.groupsOf(eve.accountId)).toEqual(['team']); // linked in this run: out of "other" at once
    expect(s.jira.state.groupsOf(stranger.accountId)).toEqual([]);
    expect((await lastRun()).status).toBe('succeeded');
    // the next run has nothing left to do
    s.jira.calls.length = 0;
    await s.app.engine.run((await s.app.connections.get(s.jira.clientKey, s.connectionId))!, 'manual');
    await s.app.engine.drain();
    expect(s.jira.calls.filter((c) => c.method !== 'GET' && c.auth !== 'jwt')).toEqual([]);
  });

  it('two connections manage one Jira user without fighting: neither removes what the other added', async () => {
    await storeToken();
    const b = await s.newConnection('Second IdP');
    await setRules({ groups: { onTheFly: { enabled: true }, keepExisting: false } });
    await setRules({ groups: { onTheFly: { enabled: true }, keepExisting: false } }, b.id);
    const headers = { Authorization: `Bearer ${b.token}`, 'Content-Type': 'application/scim+json' };
    const viaB = (path: string, body: object) =>
      request(s.app.url).post(`${b.base}${path}`).set(headers).send(JSON.stringify(body));
    // B first: it adds the shared user to "team" and so owns that membership.
    const b1 = (await viaB('/Users', user('shared'))).body.id;
    await viaB('/Groups', { displayName: 'team', members: [{ value: b1 }] });
    await settle();
    // A then places the same person (same email) in "team" and "a-only".
    const a1 = (await s.post('/Users', user('shared'))).body.id;
    const aTeam = (await s.post('/Groups', { displayName: 'team', members: [{ value: a1 }] })).body.id;
    await s.post('/Groups', { displayName: 'a-only', members: [{ value: a1 }] });
    await settle();
    const acc = account('shared')!.accountId;
    expect(s.jira.state.users.size).toBe(2); // one Jira account for both connections (and the admin)
    expect(s.jira.state.groupsOf(acc)).toEqual(['a-only', 'team']);
    // A drops the user from its "team": even in mirror mode it leaves B's membership alone.
    await s.patch(`/Groups/${aTeam}`, patchBody({ op: 'remove', path: 'members' }));
    await settle();
    expect(s.jira.state.groupsOf(acc)).toEqual(['a-only', 'team']);
    expect(s.jira.calls.filter((c) => c.method === 'DELETE' && c.path === '/rest/api/3/group/user')).toHaveLength(0);
    // A's own membership it does remove when its IdP says so.
    await s.del(`/Users/${a1}`);
    await settle();
    expect(s.jira.state.groupsOf(acc)).toEqual(['team']);
  });
});

describe('what started a run', () => {
  it('a run asked for by saving the rules is recorded as `rules`, and SCIM changes alone as `scim`', async () => {
    await storeToken();
    await s.post('/Users', user('ann'));
    await settle();
    await setRules({ groups: { defaultForAllUsers: ['staff'] } });
    await settle();
    const runs = async () =>
      (
        (await request(s.app.url).get(`/api/v1/connections/${s.connectionId}/runs`).set(admin())).body.runs as Array<{
          trigger: string;
        }>
      ).map((r) => r.trigger);
    expect(await runs()).toEqual(['rules', 'scim']);
    expect(s.jira.state.groupMembers('staff').map((u) => u.emailAddress)).toEqual(['ann@corp.example']);
    // Saving rules that change nothing in Jira (the same again; a default for new users only) makes no empty run.
    await setRules({ groups: { defaultForAllUsers: ['staff'] } });
    await settle();
    await setRules({ groups: { defaultForAllUsers: ['staff'], defaultForNewUsers: ['newcomers'] } });
    await settle();
    expect(await runs()).toEqual(['rules', 'scim']);
    expect(s.app.logs.join('\n')).toContain('rules saved: nothing in Jira would change; no run');
  });
});
