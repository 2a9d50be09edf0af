import request from 'supertest';
import { jwtHeader, startTestApp, storeSiteToken, waitForRun, type TestApp } from './app';
import type { ApiBody } from './entra';
import { FakeJira } from './fakeJira';
import { KeyServer } from './keyServer';

/** What every pull source's end-to-end tests use: the app, Jira, and calls on a connection. */
export interface PullHarness {
  app: TestApp;
  jira: FakeJira;
  keys: KeyServer;
  auth(): Record<string, string>;
  /** A create body: the source's settings (`over` merged, a null leaving a field out) and `extra` fields. */
  connectionBody(over?: Record<string, unknown>, extra?: Record<string, unknown>): Record<string, unknown>;
  /** Creates a connection (groups created on the fly), its id. */
  createConnection(over?: Record<string, unknown>, extra?: Record<string, unknown>): Promise<string>;
  syncAndWait(connectionId: string, body?: object): Promise<ApiBody>;
  /** One scheduled tick of a connection (its slot freed first): its run, finished. */
  scheduled(connectionId: string): Promise<ApiBody>;
  waitRun(runId: string): Promise<ApiBody>;
  close(): Promise<void>;
}

/** How a source's harness differs: its fake, the operator settings pointing at it, and its connections' fields. */
export interface PullSourceSetup<F> {
  /** Starts the source's fake (an IdP over HTTPS). */
  fake(): Promise<F & { stop(): Promise<void> }>;
  /** The operator settings that point the app at the fake (its CA, its URLs). */
  env(fake: F): Record<string, string>;
  /** The source's kind, settings field and secret field with its value, and the settings a connection starts from. */
  connection(fake: F): {
    kind: string;
    settingsField: string;
    secret: Record<string, string>;
    settings: Record<string, unknown>;
  };
}

/** An installed app with its site-admin token, a fake Jira, and the source's fake; the calls every test makes. */
export async function startPullHarness<F>(
  setup: PullSourceSetup<F>,
  env: Record<string, string> = {},
): Promise<PullHarness & { fake: F }> {
  const keys = await new KeyServer().start();
  const jira = await new FakeJira().start();
  const fake = await setup.fake();
  const app = await startTestApp({
    keys,
    env: { ATLASSIAN_API_URL: jira.url, SYNC_DEBOUNCE_MS: '1', ...setup.env(fake), ...env },
  });
  await jira.install(app.url, keys);
  await storeSiteToken(app, jira);
  const c = setup.connection(fake);
  const auth = () => jwtHeader(jira.contextJwt(jira.admin.accountId));
  const connectionBody = (over: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
    name: `${c.kind} ${Math.random().toString(16).slice(2, 8)}`,
    kind: c.kind,
    ...c.secret,
    ...extra,
    [c.settingsField]: Object.fromEntries(
      Object.entries({ scheduleMinutes: 0, ...c.settings, ...over }).filter(([, v]) => v !== null),
    ),
  });
  const waitRun = (runId: string) => waitForRun(app, auth(), runId);
  return {
    app,
    jira,
    keys,
    fake,
    auth,
    connectionBody,
    waitRun,
    async createConnection(over = {}, extra = {}) {
      const res = await request(app.url).post('/api/v1/connections').set(auth()).send(connectionBody(over, extra));
      if (res.status !== 201)
        throw new Error(`creating a ${c.kind} connection failed: ${res.status} ${JSON.stringify(res.body)}`);
      await request(app.url)
        .put(`/api/v1/connections/${res.body.id}/rules`)
        .set(auth())
        .send({ groups: { onTheFly: { enabled: true } } })
        .expect(200);
      return res.body.id as string;
    },
    async syncAndWait(id, body = {}) {
      const res = await request(app.url).post(`/api/v1/connections/${id}/sync`).set(auth()).send(body);
      if (res.status !== 202) throw new Error(`sync did not start: ${res.status} ${JSON.stringify(res.body)}`);
      return waitRun(res.body.id);
    },
    async scheduled(id) {
      await app.db.sequelize.query('UPDATE source_state SET scheduled_at = NULL WHERE connection_id = $1', {
        bind: [id],
      });
      const ticked = await app.scheduler.tick(id);
      if (ticked !== 'ran') throw new Error(`the scheduled tick did not run: ${ticked}`);
      const [run] = (await request(app.url).get(`/api/v1/connections/${id}/runs`).set(auth())).body.runs;
      return waitRun(run.id);
    },
    async close() {
      await app.close();
      await fake.stop();
      await jira.stop();
      await keys.stop();
    },
  };
}
