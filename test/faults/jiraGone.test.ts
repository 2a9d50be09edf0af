import { AppProcess, installSite, type ProcessSite } from '../support/appProcess';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { FakeJira } from '../support/fakeJira';
import { KeyServer } from '../support/keyServer';
import { scimCall } from '../support/scimLoad';

/**
 * Jira gone for longer than the retry budget, through the real process: writes answered 503 or
 * never answered (timeouts) until every attempt is spent. The operations park with a reason an
 * admin can read; "retry parked operations" (the admin API, the run page's button) puts them back;
 * once Jira is back the site ends exactly as the rules say.
 */
jest.setTimeout(180_000);

let keys: KeyServer;
let jira: FakeJira;
let db: TestDatabase;
let app: AppProcess;
let site: ProcessSite;
const USERS = 6;

beforeAll(async () => {
  keys = await new KeyServer().start();
  jira = await new FakeJira().start();
  db = await createTestDatabase();
  app = await AppProcess.create({
    databaseUrl: db.url,
    jira,
    keys,
    // A small budget: each call tried twice, each operation three times (1 s, then 2 s apart), a call given 400 ms.
    env: { JIRA_MAX_ATTEMPTS: '2', JIRA_TIMEOUT_MS: '400', SYNC_MAX_ATTEMPTS: '3' },
  });
  await app.start();
  site = await installSite(app, jira, keys);
  expect(
    (await site.admin('PUT', `/connections/${site.connectionId}/rules`, { groups: { defaultForAllUsers: ['staff'] } }))
      .status,
  ).toBe(200);
});

afterAll(async () => {
  await app?.stop();
  await db?.drop();
  await jira?.stop();
  await keys?.stop();
});

type Run = { id: string; status: string; counts: Record<string, number> };
const latestRun = async (): Promise<Run | undefined> =>
  ((await site.admin('GET', `/connections/${site.connectionId}/runs`)).body.runs as Run[])[0];

async function runEnds(runId?: string): Promise<Run> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const run = runId ? ((await site.admin('GET', `/runs/${runId}?limit=0`)).body as Run) : await latestRun();
    if (run && run.status !== 'running') return run;
    if (Date.now() > deadline) throw new Error(`the run did not end: ${JSON.stringify(run)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

it('parks what Jira never took, says why, and a retry once Jira is back ends in the exact state', async () => {
  // Jira's writes fail for longer than the budget: user creation answers 503, group creation never answers.
  jira.failNextOn('/rest/api/3/user', ...Array.from({ length: 400 }, () => ({ status: 503 })));
  jira.failNextOn('/rest/api/3/group', ...Array.from({ length: 400 }, () => 'hang' as const));
  for (let i = 0; i < USERS; i++) {
    const email = `p${i}@corp.example`;
    const created = await scimCall(site, 'POST', '/Users', {
      userName: email,
      emails: [{ value: email, primary: true }],
    });
    expect(created.status).toBe(201);
  }
  const parkedRun = await runEnds();
  expect(parkedRun.status).toBe('partial');
  expect(parkedRun.counts.failed).toBeGreaterThan(0);
  const parked = (await site.admin('GET', `/runs/${parkedRun.id}?status=parked`)).body.operations as Array<{
    kind: string;
    error: string;
    attempts: number;
  }>;
  expect(parked.length).toBe(parkedRun.counts.failed);
  // The writes Jira never took say so; what depended on them says on what.
  const reasons = (kind: string) => [...new Set(parked.filter((o) => o.kind === kind).map((o) => o.error))];
  expect(reasons('ensureUser')).toEqual(['gave up after 3 attempts: Jira answered 503 to POST /rest/api/3/user']);
  expect(reasons('createGroup')).toEqual(['gave up after 3 attempts: POST /rest/api/3/group timed out']);
  for (const op of parked.filter((o) => o.kind !== 'addMember')) expect(op.attempts).toBe(3);
  for (const op of parked.filter((o) => o.kind === 'addMember'))
    expect(op.error).toMatch(/no Jira account yet: see its ensureUser operation|group .* does not exist/i);
  expect([...jira.state.users.values()].filter((u) => u.emailAddress.endsWith('@corp.example'))).toEqual([]);

  // While Jira is still gone, a retry parks them again, with the same reason.
  expect((await site.admin('POST', `/runs/${parkedRun.id}/retry`)).status).toBe(202);
  expect((await runEnds(parkedRun.id)).status).toBe('partial');

  // Jira is back: the retry puts them back and the run ends succeeded, with the site as the rules say.
  jira.clearPlanned();
  const retried = await site.admin('POST', `/runs/${parkedRun.id}/retry`);
  expect(retried).toMatchObject({ status: 202, body: { id: parkedRun.id, status: 'running', superseded: 0 } });
  expect(retried.body.requeued).toBe(parked.length);
  const after = await runEnds(parkedRun.id);
  expect(after).toMatchObject({ status: 'succeeded', counts: { failed: 0, usersCreated: USERS } });
  for (let i = 0; i < USERS; i++) {
    const accounts = [...jira.state.users.values()].filter((u) => u.emailAddress === `p${i}@corp.example`);
    expect(accounts).toHaveLength(1);
    expect(jira.state.groupsOf(accounts[0].accountId)).toEqual(['staff']);
  }

  // Nothing is left to retry; unknown runs are 404s.
  expect((await site.admin('POST', `/runs/${parkedRun.id}/retry`)).body).toMatchObject({ error: 'nothing_to_retry' });
  expect((await site.admin('POST', '/runs/00000000-0000-4000-8000-000000000000/retry')).status).toBe(404);
  expect((await site.admin('POST', '/runs/not-a-run/retry')).status).toBe(404);
  expect(app.alive).toBe(true);
});
