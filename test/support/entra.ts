import crypto from 'node:crypto';
import request from 'supertest';
import { FakeEntra, type FakeApp } from './fakeEntra';
import { FakeJira } from './fakeJira';
import { KeyServer } from './keyServer';
import { jwtHeader, startTestApp, storeSiteToken, waitForRun, type TestApp } from './app';

export const ALL_ROLES = ['User.Read.All', 'GroupMember.Read.All', 'Application.Read.All'];

/** An installed add-on with its site-admin token stored, a fake Jira, and a fake Entra ID (HTTPS) with one app registration. */
/** An admin API answer's JSON body, as supertest hands it over (untyped: the tests assert on it). */
export type ApiBody = request.Response['body'];

export interface EntraHarness {
  app: TestApp;
  jira: FakeJira;
  keys: KeyServer;
  entra: FakeEntra;
  registration: FakeApp;
  admin(): Record<string, string>;
  /** The connection body for the fake (custom cloud pointing at it); overrides merged over `entra`. */
  connectionBody(entra?: Record<string, unknown>, extra?: Record<string, unknown>): Record<string, unknown>;
  createConnection(entra?: Record<string, unknown>, extra?: Record<string, unknown>): Promise<string>;
  sync(connectionId: string, body?: object): request.Test;
  /** Starts a sync and waits until its run is over; the run as the API shows it. */
  syncAndWait(connectionId: string, body?: object): Promise<ApiBody>;
  waitRun(runId: string, app?: TestApp): Promise<ApiBody>;
  /** Another app instance on the same database (for races). */
  secondInstance(): Promise<TestApp>;
  close(): Promise<void>;
}

export async function startEntra(env: Record<string, string> = {}): Promise<EntraHarness> {
  const keys = await new KeyServer().start();
  const jira = await new FakeJira().start();
  const entra = await new FakeEntra().start();
  const fullEnv = { ATLASSIAN_API_URL: jira.url, SYNC_DEBOUNCE_MS: '1', ENTRA_CA_FILE: entra.certFile, ...env };
  const app = await startTestApp({ keys, env: fullEnv });
  await jira.install(app.url, keys);
  await storeSiteToken(app, jira);
  const registration = entra.addApp({
    tenantId: crypto.randomUUID(),
    clientId: crypto.randomUUID(),
    secret: `s3cr3t~${crypto.randomBytes(12).toString('base64url')}`,
    roles: [...ALL_ROLES],
  });
  const others: TestApp[] = [];
  const admin = () => jwtHeader(jira.contextJwt(jira.admin.accountId));
  const connectionBody = (over: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
    name: `Entra ${crypto.randomBytes(3).toString('hex')}`,
    kind: 'entra',
    clientSecret: registration.secret,
    ...extra,
    entra: {
      tenantId: registration.tenantId,
      clientId: registration.clientId,
      cloud: 'custom',
      authorityHost: entra.url,
      graphUrl: entra.url,
      scheduleMinutes: 0,
      ...over,
    },
  });
  const waitRun = (runId: string, on: TestApp = app) => waitForRun(on, admin(), runId);
  const h: EntraHarness = {
    app,
    jira,
    keys,
    entra,
    registration,
    admin,
    connectionBody,
    waitRun,
    async createConnection(over = {}, extra = {}) {
      const res = await request(app.url).post('/api/v1/connections').set(admin()).send(connectionBody(over, extra));
      if (res.status !== 201)
        throw new Error(`creating an Entra connection failed: ${res.status} ${JSON.stringify(res.body)}`);
      // Entra group names become Jira group names (on-the-fly mapping), as most sites set it up.
      await request(app.url)
        .put(`/api/v1/connections/${res.body.id}/rules`)
        .set(admin())
        .send({ groups: { onTheFly: { enabled: true } } })
        .expect(200);
      return res.body.id as string;
    },
    sync: (id, body = {}) => request(app.url).post(`/api/v1/connections/${id}/sync`).set(admin()).send(body),
    async syncAndWait(id, body = {}) {
      const res = await h.sync(id, body);
      if (res.status !== 202) throw new Error(`sync did not start: ${res.status} ${JSON.stringify(res.body)}`);
      return waitRun(res.body.id);
    },
    async secondInstance() {
      const other = await startTestApp({ keys, env: fullEnv, db: app.db, secretKey: app.secretKey });
      others.push(other);
      return other;
    },
    async close() {
      for (const o of others) await o.close();
      await app.close();
      await entra.stop();
      await jira.stop();
      await keys.stop();
    },
  };
  return h;
}

/** Waits until `check` holds, polling every 25 ms; fails after `timeoutMs`. */
export async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * An Entra ID connection made through a site's admin API (either host): the fake Entra ID gets an
 * app registration and a group Sales with Ann in it; the rules map groups on the fly; one sync has
 * run to its end. The connection's id and the group's.
 */
export async function entraSalesConnection(
  site: {
    adminApi(method: 'GET' | 'POST' | 'PUT', path: string, body?: object): Promise<{ status: number; body: ApiBody }>;
    app: TestApp;
  },
  entra: FakeEntra,
): Promise<{ id: string; sales: string }> {
  const reg = entra.addApp({
    tenantId: crypto.randomUUID(),
    clientId: crypto.randomUUID(),
    secret: 'the-secret',
    roles: [...ALL_ROLES],
  });
  const sales = entra.addGroup('Sales');
  entra.addMember(sales.id, entra.addUser({ userPrincipalName: 'ann@contoso.com', displayName: 'Ann' }).id as string);
  const created = await site.adminApi('POST', '/connections', {
    name: 'Contoso',
    kind: 'entra',
    clientSecret: reg.secret,
    entra: {
      tenantId: reg.tenantId,
      clientId: reg.clientId,
      cloud: 'custom',
      authorityHost: entra.url,
      graphUrl: entra.url,
      scheduleMinutes: 0,
    },
  });
  if (created.status !== 201)
    throw new Error(`creating the Entra ID connection failed: ${JSON.stringify(created.body)}`);
  const id = created.body.id as string;
  const rules = await site.adminApi('PUT', `/connections/${id}/rules`, { groups: { onTheFly: { enabled: true } } });
  if (rules.status !== 200) throw new Error(`saving the rules failed: ${JSON.stringify(rules.body)}`);
  const sync = await site.adminApi('POST', `/connections/${id}/sync`, {});
  if (sync.status !== 202) throw new Error(`starting the sync failed: ${JSON.stringify(sync.body)}`);
  await waitFor(async () => {
    await site.app.engine.drain(5_000);
    return (await site.adminApi('GET', `/runs/${sync.body.id}`)).body.status !== 'running';
  }, 30_000);
  return { id, sales: sales.id };
}
