import request from 'supertest';
import { FakeWebhooks } from '../support/fakeWebhooks';
import { startKeycloak, type KeycloakHarness } from '../support/keycloak';

/**
 * A connection paused after repeated failed runs, as Entra ID quarantines a provisioning job
 * (docs/notifications.md#paused-connections): its admins are told once, nothing starts by itself
 * while it is paused, and Resume starts it again — counting failures afresh.
 */
jest.setTimeout(90_000);

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

let h: KeycloakHarness;
let hooks: FakeWebhooks;

beforeAll(async () => {
  hooks = await new FakeWebhooks().start();
  h = await startKeycloak({
    NOTIFY_CA_FILE: hooks.certFile,
    NOTIFY_CHECK_MS: '3600000',
    NOTIFY_PAUSE_AFTER_FAILED_RUNS: '2',
  });
});
afterAll(async () => {
  await h.close();
  await hooks.stop();
});

const api = (method: 'get' | 'post' | 'put' | 'patch', path: string, body?: object) =>
  request(h.app.url)[method](`/api/v1${path}`).set(h.auth()).send(body);

it('pauses a connection after its runs failed twice in a row, tells once, runs nothing by itself until resumed', async () => {
  await api('put', '/notifications', { webhookUrl: hooks.hook('json') }).expect(200);
  const id = await h.createConnection({ scheduleMinutes: 15 }, { keycloakClientSecret: 'not-the-secret' });

  const first = await h.syncAndWait(id);
  expect(first.status).toBe('failed');
  await h.app.notifier.round();
  expect((await api('get', `/connections/${id}`)).body.paused).toBeNull();
  await h.syncAndWait(id);
  await h.app.notifier.round();

  const sent = hooks.to(hooks.hook('json')).map((r) => r.body as Any);
  expect(sent.map((m) => m.event)).toEqual(['credentials.failed', 'connection.paused']);
  expect(sent[0].text).toMatch(/Keycloak did not accept client jira-sync/);
  expect(sent[1].title).toMatch(/is paused: 2 runs in a row failed$/);
  expect(sent[1].text).toContain(`POST /api/v1/connections/${id}/resume`);
  const shown = (await api('get', `/connections/${id}`)).body;
  expect(shown.paused).toEqual({ at: expect.any(String), reason: '2 runs in a row failed' });

  // Paused: a scheduled tick, a due full reconciliation and a first login start nothing (SCIM
  // changes wait too: alerts.test.ts); the admin may still synchronize by hand.
  await h.app.db.sequelize.query('UPDATE source_state SET scheduled_at = NULL WHERE connection_id = $1', {
    bind: [id],
  });
  expect(await h.app.scheduler.tick(id)).toBe('skipped');
  await h.app.db.sequelize.query("UPDATE connections SET reconciled_at = '-infinity' WHERE id = $1", { bind: [id] });
  expect(await h.app.reconciler.check()).toBe(0);
  const login = await request(h.app.url)
    .post('/webhooks/user-created')
    .set({ Authorization: `JWT ${h.jira.appJwt('POST', '/webhooks/user-created')}` })
    .send({
      webhookEvent: 'user_created',
      timestamp: Date.now(),
      user: { accountId: 'acc-new', emailAddress: 'new.user@acme.example', accountType: 'atlassian' },
    });
  expect(login.status).toBe(204);
  await new Promise((r) => setTimeout(r, 500));
  const byHand = await api('post', `/connections/${id}/sync`, {});
  expect(byHand.status).toBe(202);
  expect((await h.waitRun(byHand.body.id)).trigger).toBe('manual');
  const runsBefore = (await api('get', `/connections/${id}/runs`)).body.runs.length;
  expect(runsBefore).toBe(3); // the two failed runs and the manual one: no scheduled, reconciliation or login run
  await h.app.notifier.round();
  expect(hooks.received).toHaveLength(2);

  // Fixed and resumed: the schedule runs again and the run succeeds.
  await api('patch', `/connections/${id}`, { keycloakClientSecret: h.secret }).expect(200);
  const resumed = await api('post', `/connections/${id}/resume`);
  expect(resumed.status).toBe(200);
  expect(resumed.body.paused).toBeNull();
  expect((await api('post', `/connections/${id}/resume`)).status).toBe(409);
  const run = await h.scheduled(id);
  expect(run.status).toBe('succeeded');
  expect((await api('get', `/connections/${id}/runs`)).body.runs.length).toBe(runsBefore + 1);
  const [event] = (await api('get', '/audit?kind=connection.resumed')).body.events;
  expect(event.summary).toMatch(/^Connection ".*" resumed$/);

  // Failures are counted afresh after a resume: one more failure does not pause it again.
  await api('patch', `/connections/${id}`, { keycloakClientSecret: 'wrong-again' }).expect(200);
  expect((await h.syncAndWait(id)).status).toBe('failed');
  await h.app.notifier.round();
  expect((await api('get', `/connections/${id}`)).body.paused).toBeNull();
});
