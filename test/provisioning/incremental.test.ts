import request from 'supertest';
import { jwtHeader } from '../support/app';
import { entraUser, patchBody, startScim, type ScimHarness } from '../support/scim';

/**
 * Runs started by SCIM changes plan from the changed entries and the Jira state the app knows: a
 * change costs Jira the calls it needs, not a re-read of every group. "Synchronize" reads Jira again.
 */
let s: ScimHarness;
const ids: Record<string, string> = {};
const groupIds: Record<string, string> = {};

beforeAll(async () => {
  s = await startScim('entra');
  await s.storeSiteToken();
  await s.saveRules({ groups: { onTheFly: { enabled: true } } });
  for (let i = 0; i < 30; i++) ids[`u${i}`] = (await s.post('/Users', entraUser(`u${i}`))).body.id;
  for (let g = 0; g < 6; g++) {
    const members = Object.values(ids)
      .filter((_, i) => i % 6 === g || i % 5 === g)
      .map((value) => ({ value }));
    groupIds[`team${g}`] = (await s.post('/Groups', { displayName: `team${g}`, members })).body.id;
  }
  await s.settle(); // the first run reads Jira (nothing known yet) and remembers it
});
afterAll(() => s.close());

function admin() {
  return jwtHeader(s.jira.contextJwt(s.jira.admin.accountId));
}
/** Calls to Jira's REST API since the mark, but the admin page's permission checks. */
const jiraCalls = () =>
  s.jira.calls.filter((c) => c.path.startsWith('/rest/') && c.path !== '/rest/api/3/permissions/check');
const mark = () => (s.jira.calls.length = 0);
const groupsOf = (name: string) => s.jira.state.groupsOf(s.jira.state.userByEmail(`${name}@contoso.com`)!.accountId);

it('one membership change costs one Jira call, however many groups and members there are', async () => {
  expect(groupsOf('u7')).not.toContain('team0');
  mark();
  await s.patch(`/Groups/${groupIds.team0}`, patchBody({ op: 'add', path: 'members', value: [{ value: ids.u7 }] }));
  await s.settle();
  expect(groupsOf('u7')).toContain('team0');
  expect(jiraCalls().map((c) => `${c.method} ${c.path}`)).toEqual(['POST /rest/api/3/group/user']);

  mark();
  await s.patch(`/Groups/${groupIds.team0}`, patchBody({ op: 'remove', path: `members[value eq "${ids.u7}"]` }));
  await s.settle();
  expect(groupsOf('u7')).not.toContain('team0');
  expect(jiraCalls().map((c) => `${c.method} ${c.path}`)).toEqual(['DELETE /rest/api/3/group/user']);
});

it('a run for a change that changes nothing in Jira makes no Jira call', async () => {
  mark();
  await s.patch(`/Users/${ids.u3}`, patchBody({ op: 'replace', path: 'displayName', value: 'U three' }));
  await s.settle();
  const [run] = (await request(s.app.url).get(`/api/v1/connections/${s.connectionId}/runs`).set(admin())).body.runs;
  expect(run).toMatchObject({
    trigger: 'scim',
    status: 'succeeded',
    progress: { total: 0 },
    plan: { mode: 'changes', users: 1, planMs: expect.any(Number) },
  });
  expect(run.progress.read).toBeUndefined();
  expect(jiraCalls()).toEqual([]);
});

it('a new user costs one call to create it (no search first), then one per group', async () => {
  mark();
  const id = (await s.post('/Users', entraUser('newbie'))).body.id;
  await s.patch(`/Groups/${groupIds.team1}`, patchBody({ op: 'add', path: 'members', value: [{ value: id }] }));
  await s.settle();
  expect(groupsOf('newbie')).toEqual(['team1']);
  expect(jiraCalls().map((c) => `${c.method} ${c.path}`)).toEqual([
    'POST /rest/api/3/user',
    'POST /rest/api/3/group/user',
  ]);
});

it('drift made in Jira outside the app is left to the full reconciliation, which "Synchronize" runs', async () => {
  const account = s.jira.state.userByEmail('u1@contoso.com')!.accountId;
  const team1 = s.jira.state.groupByName('team1')!;
  expect(team1.members.has(account)).toBe(true);
  team1.members.delete(account); // someone removed u1 from team1 in Jira
  await s.patch(`/Users/${ids.u2}`, patchBody({ op: 'replace', path: 'displayName', value: 'U two' }));
  await s.settle();
  expect(team1.members.has(account)).toBe(false); // a change of u2 does not re-read Jira
  mark();
  expect(
    (await request(s.app.url).post(`/api/v1/connections/${s.connectionId}/sync`).set(admin()).send({})).status,
  ).toBe(202);
  await s.settle();
  expect(team1.members.has(account)).toBe(true);
  expect(jiraCalls().some((c) => c.path === '/rest/api/3/group/member')).toBe(true); // it read Jira again
});

it('new rules apply to every user in a run that follows the save', async () => {
  const audit = s.jira.state.addGroup('audit'); // made in Jira after the app last read it
  audit.members.add(s.jira.state.userByEmail('u4@contoso.com')!.accountId);
  await s.saveRules({ groups: { onTheFly: { enabled: true }, defaultForAllUsers: ['audit'] } });
  await s.settle();
  expect(audit.members.size).toBe(Object.keys(ids).length + 1); // everyone, newbie too
  expect([...s.jira.state.groups.values()].filter((g) => g.name === 'audit')).toHaveLength(1); // found, not made twice
});

it('rules that need the members of a group the app never read make the run read Jira again', async () => {
  s.jira.state.addGroup('jira-software-users').members.add(s.jira.state.userByEmail('u9@contoso.com')!.accountId);
  await s.settle(); // nothing pending
  await s.saveRules({
    groups: { onTheFly: { enabled: true }, defaultForAllUsers: ['audit'] },
    users: { deprovision: 'removeProductGroups', productGroups: ['jira-software-users'] },
  });
  mark();
  await s.settle();
  expect(jiraCalls().some((c) => c.path === '/rest/api/3/group/member')).toBe(true);
  // from then on, deprovisioning u9 costs the removal and nothing more
  mark();
  await s.patch(`/Users/${ids.u9}`, patchBody({ op: 'replace', path: 'active', value: false }));
  await s.settle();
  expect(jiraCalls().map((c) => `${c.method} ${c.path}`)).toEqual(
    expect.arrayContaining(['DELETE /rest/api/3/group/user']),
  );
  expect(jiraCalls().filter((c) => c.method === 'GET')).toEqual([]);
  expect(s.jira.state.groupByName('jira-software-users')!.members.size).toBe(0);
});

it('a full reconciliation runs on schedule (daily by default, per connection) and corrects drift', async () => {
  const account = s.jira.state.userByEmail('u11@contoso.com')!.accountId;
  const team = [...s.jira.state.groups.values()].find((g) => g.members.has(account) && g.name.startsWith('team'))!;
  team.members.delete(account); // drift made in Jira
  expect(await s.app.reconciler.check()).toBe(0); // reconciled minutes ago: not due
  await s.app.db.sequelize.query(`UPDATE connections SET reconciled_at = now() - interval '25 hours'`);
  expect(await s.app.reconciler.check()).toBe(1);
  await s.settle();
  expect(team.members.has(account)).toBe(true);
  const [run] = (await request(s.app.url).get(`/api/v1/connections/${s.connectionId}/runs`).set(admin())).body.runs;
  expect(run.trigger).toBe('schedule');
  expect(await s.app.reconciler.check()).toBe(0);
  // 0: only on demand
  const rules = (await request(s.app.url).get(`/api/v1/connections/${s.connectionId}/rules`).set(admin())).body;
  await s.saveRules({ ...rules, users: { ...rules.users, reconcileEveryHours: 0 } });
  await s.settle();
  await s.app.db.sequelize.query(`UPDATE connections SET reconciled_at = now() - interval '400 days'`);
  expect(await s.app.reconciler.check()).toBe(0);
});
