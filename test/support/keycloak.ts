import request from 'supertest';
import { jwtHeader, startTestApp, storeSiteToken, waitForRun, type TestApp } from './app';
import type { ApiBody } from './entra';
import { FakeKeycloak } from './fakeKeycloak';
import { FakeJira } from './fakeJira';
import { KeyServer } from './keyServer';

export interface KeycloakHarness {
  app: TestApp;
  jira: FakeJira;
  keys: KeyServer;
  kc: FakeKeycloak;
  /** The realm read (admin events recorded) and the confidential client the connection uses (view-users, view-events). */
  realm: string;
  clientId: string;
  secret: string;
  auth(): Record<string, string>;
  connectionBody(keycloak?: Record<string, unknown>, extra?: Record<string, unknown>): Record<string, unknown>;
  createConnection(keycloak?: Record<string, unknown>, extra?: Record<string, unknown>): Promise<string>;
  syncAndWait(connectionId: string, body?: object): Promise<ApiBody>;
  /** One scheduled tick of a connection (its slot freed first): its run, finished. */
  scheduled(connectionId: string): Promise<ApiBody>;
  waitRun(runId: string): Promise<ApiBody>;
  close(): Promise<void>;
}

/** An installed app with its site-admin token, a fake Jira, and a fake Keycloak whose certificate the operator trusts (KEYCLOAK_CA_FILE). */
export async function startKeycloak(env: Record<string, string> = {}): Promise<KeycloakHarness> {
  const keys = await new KeyServer().start();
  const jira = await new FakeJira().start();
  const kc = await new FakeKeycloak().start();
  const app = await startTestApp({
    keys,
    env: {
      ATLASSIAN_API_URL: jira.url,
      SYNC_DEBOUNCE_MS: '1',
      KEYCLOAK_CA_FILE: kc.certFile,
      KEYCLOAK_MAX_ATTEMPTS: '3',
      ...env,
    },
  });
  await jira.install(app.url, keys);
  await storeSiteToken(app, jira);
  const realm = 'acme';
  kc.addRealm(realm, { adminEvents: true });
  const secret = kc.addClient(realm, 'jira-sync');
  const auth = () => jwtHeader(jira.contextJwt(jira.admin.accountId));
  const connectionBody = (over: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
    name: `Keycloak ${Math.random().toString(16).slice(2, 8)}`,
    kind: 'keycloak',
    keycloakClientSecret: secret,
    ...extra,
    keycloak: Object.fromEntries(
      Object.entries({ serverUrl: kc.url, realm, clientId: 'jira-sync', scheduleMinutes: 0, ...over }).filter(
        ([, v]) => v !== null,
      ),
    ),
  });
  const waitRun = (runId: string) => waitForRun(app, auth(), runId);
  const h: KeycloakHarness = {
    app,
    jira,
    keys,
    kc,
    realm,
    clientId: 'jira-sync',
    secret,
    auth,
    connectionBody,
    waitRun,
    async createConnection(over = {}, extra = {}) {
      const res = await request(app.url).post('/api/v1/connections').set(auth()).send(connectionBody(over, extra));
      if (res.status !== 201)
        throw new Error(`creating a Keycloak connection failed: ${res.status} ${JSON.stringify(res.body)}`);
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
      await kc.stop();
      await jira.stop();
      await keys.stop();
    },
  };
  return h;
}
