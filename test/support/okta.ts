import request from 'supertest';
import { jwtHeader, startTestApp, storeSiteToken, waitForRun, type TestApp } from './app';
import type { ApiBody } from './entra';
import { FakeOkta } from './fakeOkta';
import { FakeJira } from './fakeJira';
import { KeyServer } from './keyServer';

export interface OktaHarness {
  app: TestApp;
  jira: FakeJira;
  keys: KeyServer;
  okta: FakeOkta;
  /** The API service app the connection signs for (DPoP required, every read scope, Read-only Administrator). */
  clientId: string;
  /** Its private key as Okta's console gives it (JSON with its kid). */
  privateKey: string;
  auth(): Record<string, string>;
  connectionBody(okta?: Record<string, unknown>, extra?: Record<string, unknown>): Record<string, unknown>;
  createConnection(okta?: Record<string, unknown>, extra?: Record<string, unknown>): Promise<string>;
  syncAndWait(connectionId: string, body?: object): Promise<ApiBody>;
  /** One scheduled tick of a connection (its slot freed first): its run, finished. */
  scheduled(connectionId: string): Promise<ApiBody>;
  waitRun(runId: string): Promise<ApiBody>;
  close(): Promise<void>;
}

/** An installed app with its site-admin token, a fake Jira, and a fake Okta org whose certificate the operator trusts (OKTA_CA_FILE). */
export async function startOkta(env: Record<string, string> = {}): Promise<OktaHarness> {
  const keys = await new KeyServer().start();
  const jira = await new FakeJira().start();
  const okta = await new FakeOkta().start();
  const app = await startTestApp({
    keys,
    env: {
      ATLASSIAN_API_URL: jira.url,
      SYNC_DEBOUNCE_MS: '1',
      OKTA_CA_FILE: okta.certFile,
      OKTA_MAX_ATTEMPTS: '4',
      ...env,
    },
  });
  await jira.install(app.url, keys);
  await storeSiteToken(app, jira);
  const sa = okta.addServiceApp();
  const auth = () => jwtHeader(jira.contextJwt(jira.admin.accountId));
  const connectionBody = (over: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
    name: `Okta ${Math.random().toString(16).slice(2, 8)}`,
    kind: 'okta',
    oktaCredential: sa.privateKey,
    ...extra,
    // null leaves a field out (an API token's connection has no client ID)
    okta: Object.fromEntries(
      Object.entries({ orgUrl: okta.url, clientId: sa.clientId, scheduleMinutes: 0, ...over }).filter(
        ([, v]) => v !== null,
      ),
    ),
  });
  const waitRun = (runId: string) => waitForRun(app, auth(), runId);
  const h: OktaHarness = {
    app,
    jira,
    keys,
    okta,
    clientId: sa.clientId,
    privateKey: sa.privateKey,
    auth,
    connectionBody,
    waitRun,
    async createConnection(over = {}, extra = {}) {
      const res = await request(app.url).post('/api/v1/connections').set(auth()).send(connectionBody(over, extra));
      if (res.status !== 201)
        throw new Error(`creating an Okta connection failed: ${res.status} ${JSON.stringify(res.body)}`);
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
      await okta.stop();
      await jira.stop();
      await keys.stop();
    },
  };
  return h;
}
