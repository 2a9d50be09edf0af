import request from 'supertest';
import { GOOGLE_SCOPES } from '../../src/sources/google/settings';
import { jwtHeader, startTestApp, storeSiteToken, waitForRun, type TestApp } from './app';
import type { ApiBody } from './entra';
import { FakeGoogle, type FakeGoogleUser } from './fakeGoogle';
import { FakeJira } from './fakeJira';
import { KeyServer } from './keyServer';

export interface GoogleHarness {
  app: TestApp;
  jira: FakeJira;
  keys: KeyServer;
  google: FakeGoogle;
  /** The service account's JSON key, delegated every scope the app reads. */
  key: string;
  clientId: string;
  /** The super admin the connection impersonates. */
  admin: FakeGoogleUser;
  auth(): Record<string, string>;
  connectionBody(google?: Record<string, unknown>, extra?: Record<string, unknown>): Record<string, unknown>;
  createConnection(google?: Record<string, unknown>, extra?: Record<string, unknown>): Promise<string>;
  syncAndWait(connectionId: string, body?: object): Promise<ApiBody>;
  /** One scheduled tick of a connection (its slot freed first): its run, finished. */
  scheduled(connectionId: string): Promise<ApiBody>;
  waitRun(runId: string): Promise<ApiBody>;
  close(): Promise<void>;
}

/** An installed app with its site-admin token, a fake Jira, and a fake Google Workspace the app is pointed at (the operator's GOOGLE_* settings). */
export async function startGoogle(env: Record<string, string> = {}): Promise<GoogleHarness> {
  const keys = await new KeyServer().start();
  const jira = await new FakeJira().start();
  const google = await new FakeGoogle().start();
  const app = await startTestApp({
    keys,
    env: {
      ATLASSIAN_API_URL: jira.url,
      SYNC_DEBOUNCE_MS: '1',
      GOOGLE_API_URL: google.url,
      GOOGLE_TOKEN_URL: google.tokenUrl,
      GOOGLE_CA_FILE: google.certFile,
      GOOGLE_MAX_ATTEMPTS: '4',
      ...env,
    },
  });
  await jira.install(app.url, keys);
  await storeSiteToken(app, jira);
  const sa = google.addServiceAccount();
  google.delegate(sa.clientId, GOOGLE_SCOPES);
  const admin = google.addUser(
    { primaryEmail: 'admin@example.com', isAdmin: true, orgUnitPath: '/IT' },
    { event: false },
  );
  const auth = () => jwtHeader(jira.contextJwt(jira.admin.accountId));
  const connectionBody = (over: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
    name: `Google ${Math.random().toString(16).slice(2, 8)}`,
    kind: 'google',
    serviceAccountKey: sa.key,
    ...extra,
    google: { adminEmail: admin.primaryEmail, scheduleMinutes: 0, ...over },
  });
  const waitRun = (runId: string) => waitForRun(app, auth(), runId);
  const h: GoogleHarness = {
    app,
    jira,
    keys,
    google,
    key: sa.key,
    clientId: sa.clientId,
    admin,
    auth,
    connectionBody,
    waitRun,
    async createConnection(over = {}, extra = {}) {
      const res = await request(app.url).post('/api/v1/connections').set(auth()).send(connectionBody(over, extra));
      if (res.status !== 201)
        throw new Error(`creating a Google connection failed: ${res.status} ${JSON.stringify(res.body)}`);
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
      await google.stop();
      await jira.stop();
      await keys.stop();
    },
  };
  return h;
}
