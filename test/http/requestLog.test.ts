import { startTestApp, type TestApp } from '../support/app';
import { FakeForge } from '../support/fakeForge';
import { FakeJira } from '../support/fakeJira';
import { KeyServer } from '../support/keyServer';
import { Writable } from 'node:stream';
import type { Request, Response } from 'express';
import { requestLog, routeOf } from '../../src/http/requestLog';
import { createLogger } from '../../src/logger';
import type { IncomingMessage } from 'node:http';

/** One log line per request, its id returned and carried by every line written while it is handled. */
let keys: KeyServer;
let forge: FakeForge;
let jira: FakeJira;
let app: TestApp;
beforeAll(async () => {
  keys = await new KeyServer().start();
  forge = await new FakeForge().start();
  jira = await new FakeJira().start();
  app = await startTestApp({ keys, env: { FORGE_APP_ID: forge.appId, FORGE_JWKS_URL: forge.jwksUrl } });
});
afterAll(async () => {
  await app.close();
  await jira.stop();
  await forge.stop();
  await keys.stop();
});

const lines = () => app.logs.map((l) => JSON.parse(l) as Record<string, unknown>);

it('logs each request once: method, route with ids replaced, status, duration and its id, which it sends back', async () => {
  const token = 'scim_secret-token-never-logged';
  const res = await fetch(
    `${app.url}/scim/v2/0b9e7c2a-5d41-4f8e-a3b6-7c1d2e3f4a5b/Users?filter=userName%20eq%20%22ann%40corp.example%22`,
    {
      headers: { Authorization: `Bearer ${token}`, 'X-Request-Id': 'idp-req-42' },
    },
  );
  expect(res.status).toBe(401);
  expect(res.headers.get('x-request-id')).toBe('idp-req-42');
  const line = lines().filter((l) => l.reqId === 'idp-req-42' && l.route);
  expect(line).toEqual([
    expect.objectContaining({
      method: 'GET',
      route: '/scim/v2/:id/Users',
      status: 401,
      durationMs: expect.any(Number),
      reqId: 'idp-req-42',
      msg: expect.stringMatching(/^GET \/scim\/v2\/:id\/Users 401 \d+ ms$/),
    }),
  ]);
  const all = app.logs.join('\n');
  expect(all).not.toContain(token);
  expect(all).not.toContain('ann');
  // Without an id of its own, a request gets a new one; an odd one is not taken.
  const fresh = await fetch(`${app.url}/healthz`, { headers: { 'X-Request-Id': 'bad id with spaces' } });
  expect(fresh.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
});

it('every line written while a request is handled carries its id', async () => {
  const inst = await forge.install(jira, app.url);
  expect(inst.calls.map((c) => c.status)).toEqual([204]);
  const created = lines().find((l) => l.msg === 'Forge installed: a new site was created for the installation');
  const request = lines().find((l) => l.route === '/forge/lifecycle/installed');
  expect(created?.reqId).toEqual(expect.any(String));
  expect(request?.reqId).toBe(created?.reqId);
});

it.each([
  ['/api/v1/connections/0b9e7c2a-5d41-4f8e-a3b6-7c1d2e3f4a5b/runs?limit=5', '/api/v1/connections/:id/runs'],
  ['/rest/x/12345', '/rest/x/:id'],
  ['/scim/v2/abc/Users/ann@corp.example', '/scim/v2/abc/Users/:id'],
  ['/', '/'],
])('%s is logged as %s', (url, route) => expect(routeOf({ url } as IncomingMessage)).toBe(route));

it('at LOG_LEVEL warn (no request line can be written) only the id is given back, at no other cost', () => {
  const middleware = requestLog(createLogger('warn', new Writable({ write: (_c, _e, done) => done() })));
  expect(middleware).toHaveLength(1);
  const headers: Record<string, string> = {};
  let called = false;
  middleware[0](
    { headers: { 'x-request-id': 'idp-req-7' } } as unknown as Request,
    { setHeader: (k: string, v: string) => (headers[k] = v) } as unknown as Response,
    () => (called = true),
  );
  expect(headers).toEqual({ 'X-Request-Id': 'idp-req-7' });
  expect(called).toBe(true);
});
