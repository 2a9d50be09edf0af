import request from 'supertest';
import { FakeJira } from './fakeJira';
import { KeyServer } from './keyServer';
import { jwtHeader, startTestApp, storeSiteToken, type TestApp } from './app';
import { FakeForge, type ForgeInstallation } from './fakeForge';

/** Which host the app is installed through: Connect (descriptor, JWTs) or Forge (Forge Remote). */
export type Host = 'connect' | 'forge';

/** An admin API answer, whichever host carried it. */
export interface AdminAnswer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the tests assert on the JSON
  body: any;
}

/** An installed add-on with one SCIM connection, and helpers to call its SCIM endpoint. */
export interface ScimHarness {
  app: TestApp;
  jira: FakeJira;
  keys: KeyServer;
  host: Host;
  /** The site's key in the app (Connect's clientKey, or the Forge installation's ARI). */
  clientKey: string;
  /** Under Forge: the fake platform and this site's installation. */
  forge?: FakeForge;
  installation?: ForgeInstallation;
  /** Calls the admin API as the site admin through the host (Connect's context JWT, or Forge's invokeRemote). */
  adminApi(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: object): Promise<AdminAnswer>;
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
  /** Saves the connection's rules through the admin API, as the site admin; fails the test unless 200. */
  saveRules(rules: Record<string, unknown>): Promise<void>;
  /** Lets the SCIM outbox start its (coalesced) run and works it off; fails the test if it does not end. */
  settle(): Promise<void>;
  /** Lets the SCIM outbox take its changes up (a run created, or held for its next try), without working the run off. */
  takeUp(): Promise<void>;
  /** Creates another connection on the same site (its base and token). */
  newConnection(
    name: string,
    provider?: string,
    target?: 'users' | 'customers',
  ): Promise<{ id: string; base: string; token: string }>;
  close(): Promise<void>;
}

export async function startScim(
  provider = 'entra',
  env: Record<string, string> = {},
  opts: { host?: Host } = {},
): Promise<ScimHarness> {
  const host = opts.host ?? 'connect';
  const keys = await new KeyServer().start();
  const jira = await new FakeJira().start();
  const forge = host === 'forge' ? await new FakeForge().start() : undefined;
  const app = await startTestApp({
    keys,
    env: {
      ATLASSIAN_API_URL: jira.url,
      SYNC_DEBOUNCE_MS: '1',
      ...(forge ? { FORGE_APP_ID: forge.appId, FORGE_JWKS_URL: forge.jwksUrl } : {}),
      ...env,
    },
  });
  let installation: ForgeInstallation | undefined;
  if (forge) {
    installation = await forge.install(jira, app.url);
    if (installation.calls.at(-1)?.status !== 204) throw new Error('the Forge install was not accepted');
  } else await jira.install(app.url, keys);
  const clientKey = installation?.ari ?? jira.clientKey;
  const adminApi: ScimHarness['adminApi'] = async (method, path, body) => {
    if (installation) {
      const answer = await installation.invokeRemote(
        { path: `/forge/api/v1${path}`, method, body, headers: { Accept: 'application/json' } },
        jira.admin.accountId,
      );
      if (!answer.success) throw new Error(`invokeRemote rejected: ${answer.error.message}`);
      return { status: answer.payload.status, body: answer.payload.body ?? {} };
    }
    const verb = method.toLowerCase() as 'get' | 'post' | 'put' | 'patch' | 'delete';
    const agent = request(app.url);
    const res = await agent[verb](`/api/v1${path}`)
      .set(jwtHeader(jira.contextJwt(jira.admin.accountId)))
      .send(body);
    return { status: res.status, body: res.body };
  };
  const newConnection = async (name: string, p = provider, target: 'users' | 'customers' = 'users') => {
    const res = await adminApi('POST', '/connections', {
      name,
      kind: 'scim',
      provider: p,
      target,
      importUsers: true,
      importGroups: true,
    });
    if (res.status !== 201) throw new Error(`creating a connection failed: ${res.status} ${JSON.stringify(res.body)}`);
    return {
      id: res.body.id as string,
      base: new URL(res.body.scim.baseUrl).pathname,
      token: res.body.scim.token as string,
    };
  };
  /** Requests no run has taken up, but those of a connection whose last run waits for its next try (they wait with it, by design). */
  const pending = async () => {
    const [rows] = (await app.db.sequelize.query(
      `SELECT count(*)::int AS n FROM sync_requests q WHERE q.processed_at IS NULL AND NOT EXISTS (
         SELECT 1 FROM sync_runs r WHERE r.connection_id = q.connection_id AND r.next_try_at > now()
           AND r.started_at = (SELECT max(started_at) FROM sync_runs WHERE connection_id = q.connection_id))`,
    )) as [Array<{ n: number }>, unknown];
    return rows[0].n;
  };
  /**
   * Looks at the outbox as its trigger does (then `after`), again until no request is left for a run
   * to take up: a change younger than the 1 ms debounce, or one that waited for a run just closing,
   * is taken up at the next look. After two seconds the test fails saying what the runs were doing,
   * rather than let a later assertion guess.
   */
  const untilTakenUp = async (name: string, after: () => Promise<void>) => {
    for (let i = 0; i < 100; i++) {
      await app.outbox.drain();
      await app.outbox.settled();
      await after();
      if ((await pending()) === 0) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    const [runs] = await app.db.sequelize.query(
      `SELECT status, stage, trigger, next_try_at, error, counts FROM sync_runs ORDER BY started_at DESC LIMIT 3`,
    );
    const [requests] = await app.db.sequelize.query(
      'SELECT subject_type, change, trigger, created_at FROM sync_requests WHERE processed_at IS NULL',
    );
    throw new Error(
      `${name}: the outbox still holds unprocessed requests after 2 s: ${JSON.stringify(requests)}; the latest runs: ${JSON.stringify(runs)}`,
    );
  };
  const c = await newConnection('Test IdP');
  const auth = (t: request.Test) => t.set('Authorization', `Bearer ${c.token}`);
  const json = (t: request.Test, body: unknown) =>
    auth(t).set('Content-Type', 'application/scim+json').send(JSON.stringify(body));
  return {
    app,
    jira,
    keys,
    host,
    clientKey,
    forge,
    installation,
    adminApi,
    connectionId: c.id,
    base: c.base,
    token: c.token,
    get: (path) => auth(request(app.url).get(c.base + path)),
    post: (path, body) => json(request(app.url).post(c.base + path), body),
    put: (path, body) => json(request(app.url).put(c.base + path), body),
    patch: (path, body) => json(request(app.url).patch(c.base + path), body),
    del: (path) => auth(request(app.url).delete(c.base + path)),
    newConnection,
    storeSiteToken: () => storeSiteToken(app, jira, clientKey),
    async saveRules(rules) {
      const res = await adminApi('PUT', `/connections/${c.id}/rules`, rules);
      if (res.status !== 200) throw new Error(`saving rules failed: ${res.status} ${JSON.stringify(res.body)}`);
    },
    takeUp: () => untilTakenUp('takeUp()', async () => {}),
    settle: () =>
      untilTakenUp('settle()', async () => {
        expect(await app.engine.drain(30_000)).toBe(true);
      }),
    async close() {
      await app.close();
      await jira.stop();
      await keys.stop();
      await forge?.stop();
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
