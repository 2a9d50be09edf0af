import request from 'supertest';
import { jwtHeader } from '../support/app';
import { entraUser, startScim, type ScimHarness } from '../support/scim';

/** Jira unreachable while SCIM changes keep coming: one failed run that backs off, then one run covering them all. */
let s: ScimHarness;
beforeAll(async () => {
  s = await startScim('entra', {
    JIRA_MAX_ATTEMPTS: '2',
    JIRA_BACKOFF_BASE_MS: '10',
    JIRA_BACKOFF_MAX_MS: '20',
    SYNC_RUN_RETRY_BASE_MS: '800',
    SYNC_RUN_RETRY_MAX_MS: '1600',
  });
  await s.storeSiteToken();
});
afterAll(() => s.close());

const admin = () => jwtHeader(s.jira.contextJwt(s.jira.admin.accountId));
const runs = async () =>
  (await request(s.app.url).get(`/api/v1/connections/${s.connectionId}/runs`).set(admin())).body.runs as Array<
    Record<string, unknown>
  >;

it('backs off while Jira is down: the history shows one failed run with its attempts and next try, not a storm', async () => {
  s.jira.failNextOn('/rest/api/3/group/bulk', ...Array.from({ length: 500 }, () => ({ status: 503 })));
  const until = Date.now() + 3_000;
  for (let i = 0; Date.now() < until; i++) {
    if (i < 10) expect((await s.post('/Users', entraUser(`u${i}`))).status).toBe(201);
    await s.app.outbox.drain(); // what the trigger does every SYNC_POLL_MS
    await new Promise((r) => setTimeout(r, 50));
  }
  const during = await runs();
  expect(during).toHaveLength(1);
  expect(during[0]).toMatchObject({
    status: 'failed',
    trigger: 'scim',
    error: expect.stringMatching(/Could not read Jira/),
    nextTryAt: expect.any(String),
  });
  // 0.4–0.8 s, then 0.8–1.6 s, then 1.6 s at most: 3 s hold 2 to 5 attempts; without backoff there were ~50
  expect(during[0].attempts).toBeGreaterThanOrEqual(2);
  expect(during[0].attempts).toBeLessThanOrEqual(5);

  // Jira is back: at the next try one run covers every change made meanwhile
  s.jira.clearPlanned();
  await new Promise((r) => setTimeout(r, Date.parse(during[0].nextTryAt as string) - Date.now() + 50));
  await s.settle();
  const after = await runs();
  expect(after).toHaveLength(2);
  expect(after[0]).toMatchObject({ status: 'succeeded', attempts: 1, nextTryAt: null });
  expect(after[0].counts).toMatchObject({ usersCreated: 10 });
  expect(after[1]).toMatchObject({ status: 'failed', nextTryAt: null, attempts: during[0].attempts });
});

it('an admin may try at once while the run waits; a failure is counted on the same run', async () => {
  const sync = () => request(s.app.url).post(`/api/v1/connections/${s.connectionId}/sync`).set(admin()).send({});
  s.jira.failNextOn('/rest/api/3/group/bulk', ...Array.from({ length: 50 }, () => ({ status: 503 })));
  expect((await sync()).status).toBe(502); // "Synchronize" is a full reconciliation: it reads Jira
  const [waiting] = await runs();
  expect(waiting).toMatchObject({ status: 'failed', trigger: 'manual', attempts: 1, nextTryAt: expect.any(String) });
  expect((await sync()).status).toBe(502);
  const [same] = await runs();
  expect(same).toMatchObject({ id: waiting.id, attempts: 2 });
  s.jira.clearPlanned();
  expect((await sync()).status).toBe(202);
  await s.settle();
  const [latest, previous] = await runs();
  expect(latest).toMatchObject({ status: 'succeeded', trigger: 'manual' });
  expect(previous).toMatchObject({ id: waiting.id, nextTryAt: null });
});
