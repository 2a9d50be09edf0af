import request from 'supertest';
import { FakeJira } from './fakeJira';
import { KeyServer } from './keyServer';
import { jwtHeader, startTestApp, storeSiteToken, type TestApp } from './app';

/** An installed add-on with one SCIM connection, and helpers to call its SCIM endpoint. */
export interface ScimHarness {
  app: TestApp;
  jira: FakeJira;
  keys: KeyServer;
  connectionId: string;
  /** The SCIM base URL path, e.g. /scim/v2/<id> (query strings may follow). */
  base: string;
  token: string;
  get(path: string): request.Test;
  post(path: string, body: unknown): request.Test;
  put(path: string, body: unknown): request.Test;
  patch(path: string, body: unknown): request.Test;
  del(path: string): request.Test;
  /** Saves the site admin's email and API token as the site credentials (what Jira writes need). */
  storeSiteToken(): Promise<void>;
  /** Lets the SCIM outbox start its (coalesced) run and works it off; fails the test if it does not end. */
  settle(): Promise<void>;
  /** Creates another connection on the same site (its base and token). */
  newConnection(name: string, provider?: string): Promise<{ id: string; base: string; token: string }>;
  close(): Promise<void>;
}

export async function startScim(provider = 'entra', env: Record<string, string> = {}): Promise<ScimHarness> {
  const keys = await new KeyServer().start();
  const jira = await new FakeJira().start();
  const app = await startTestApp({ keys, env: { ATLASSIAN_API_URL: jira.url, SYNC_DEBOUNCE_MS: '1', ...env } });
  await jira.install(app.url, keys);
  const newConnection = async (name: string, p = provider) => {
    const res = await request(app.url)
      .post('/api/v1/connections')
      .set(jwtHeader(jira.contextJwt(jira.admin.accountId)))
      .send({ name, kind: 'scim', provider: p, target: 'users', importUsers: true, importGroups: true });
    if (res.status !== 201) throw new Error(`creating a connection failed: ${res.status} ${JSON.stringify(res.body)}`);
    return {
      id: res.body.id as string,
      base: new URL(res.body.scim.baseUrl).pathname,
      token: res.body.scim.token as string,
    };
  };
  const c = await newConnection('Test IdP');
  const auth = (t: request.Test) => t.set('Authorization', `Bearer ${c.token}`);
  const json = (t: request.Test, body: unknown) =>
    auth(t).set('Content-Type', 'application/scim+json').send(JSON.stringify(body));
  return {
    app,
    jira,
    keys,
    connectionId: c.id,
    base: c.base,
    token: c.token,
    get: (path) => auth(request(app.url).get(c.base + path)),
    post: (path, body) => json(request(app.url).post(c.base + path), body),
    put: (path, body) => json(request(app.url).put(c.base + path), body),
    patch: (path, body) => json(request(app.url).patch(c.base + path), body),
    del: (path) => auth(request(app.url).delete(c.base + path)),
    newConnection,
    storeSiteToken: () => storeSiteToken(app, jira),
    async settle() {
      await app.outbox.drain();
      expect(await app.engine.drain(30_000)).toBe(true);
    },
    async close() {
      await app.close();
      await jira.stop();
      await keys.stop();
    },
  };
}

export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const patchBody = (...Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations });

/** An Entra-style SCIM user whose username and work email are `<name>@contoso.com`. */
export const entraUser = (name: string) => ({
  userName: `${name}@contoso.com`,
  active: true,
  displayName: name,
  emails: [{ primary: true, type: 'work', value: `${name}@contoso.com` }],
  externalId: name,
});
