import { patchBody, startScim, type ScimHarness } from '../support/scim';

/** "Retry parked operations": what goes back, what stays parked because a later run planned it, and when it is refused. */
let s: ScimHarness;
beforeEach(async () => {
  s = await startScim('generic', { JIRA_MAX_ATTEMPTS: '1', SYNC_MAX_ATTEMPTS: '1' });
  await s.storeSiteToken();
});
afterEach(() => s.close());

const user = (name: string) => ({
  userName: `${name}@corp.example`,
  emails: [{ value: `${name}@corp.example`, primary: true }],
});

it('leaves parked what a later run planned again (it saw fresher state), and puts back the rest', async () => {
  s.jira.failNextOn('/rest/api/3/user', { status: 503 }, { status: 503 });
  const a = (await s.post('/Users', user('a'))).body.id as string;
  await s.post('/Users', user('b'));
  await s.settle();
  const [first] = (await s.adminApi('GET', `/connections/${s.connectionId}/runs`)).body.runs;
  expect(first).toMatchObject({ status: 'partial', counts: { failed: 2 } });

  // A later change to "a" is planned by a later run, which creates its account.
  const patched = await s.patch(`/Users/${a}`, patchBody({ op: 'replace', path: 'displayName', value: 'A' }));
  expect([200, 204]).toContain(patched.status);
  await s.settle();
  expect([...s.jira.state.users.values()].map((u) => u.emailAddress)).toContain('a@corp.example');

  const retried = await s.adminApi('POST', `/runs/${first.id}/retry`);
  expect(retried).toMatchObject({ status: 202, body: { requeued: 1, superseded: 1 } });
  await s.settle();
  const emails = [...s.jira.state.users.values()].map((u) => u.emailAddress).filter((e) => e.endsWith('@corp.example'));
  expect(emails.sort()).toEqual(['a@corp.example', 'b@corp.example']);
  const again = await s.adminApi('GET', `/runs/${first.id}?status=parked`);
  expect(again.body).toMatchObject({ status: 'partial', counts: { failed: 1, usersCreated: 1 } });

  // Only the superseded one is left: nothing to retry, and the answer says why.
  const nothing = await s.adminApi('POST', `/runs/${first.id}/retry`);
  expect(nothing).toMatchObject({ status: 409, body: { error: 'nothing_to_retry', superseded: 1 } });
  expect(nothing.body.message).toMatch(/planned again by a later sync/);
});

it('is refused while another run of the connection is going', async () => {
  s.jira.failNextOn('/rest/api/3/user', { status: 503 });
  await s.post('/Users', user('c'));
  await s.settle();
  const [parked] = (await s.adminApi('GET', `/connections/${s.connectionId}/runs`)).body.runs;
  expect(parked.status).toBe('partial');
  // The next run is planned and waits to be applied.
  s.app.engine.kick = () => undefined;
  await s.post('/Users', user('d'));
  await s.takeUp();
  const [going] = (await s.adminApi('GET', `/connections/${s.connectionId}/runs`)).body.runs;
  expect(going.status).toBe('running');
  expect(await s.adminApi('POST', `/runs/${parked.id}/retry`)).toMatchObject({
    status: 409,
    body: { error: 'run_in_progress' },
  });
  expect(await s.adminApi('POST', `/runs/${going.id}/retry`)).toMatchObject({
    status: 409,
    body: { error: 'run_in_progress' },
  });
  // Once it has ended, the retry goes through.
  await s.settle();
  expect((await s.adminApi('POST', `/runs/${parked.id}/retry`)).status).toBe(202);
  await s.settle();
  const emails = [...s.jira.state.users.values()].map((u) => u.emailAddress).filter((e) => e.endsWith('@corp.example'));
  expect(emails.sort()).toEqual(['c@corp.example', 'd@corp.example']);
});
