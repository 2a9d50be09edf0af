import https from 'node:https';
import fs from 'node:fs';
import { FakeEntra } from '../support/fakeEntra';
import { FakeForge } from '../support/fakeForge';
import { FakeGoogle } from '../support/fakeGoogle';
import { FakeJira } from '../support/fakeJira';
import { FakeKeycloak } from '../support/fakeKeycloak';
import { FakeOkta } from '../support/fakeOkta';

/**
 * The fakes fail loudly: a call that a fake has no route for fails the test that made it (at the
 * fake's stop()), instead of answering a quiet 404 that a product could take for Jira's or Graph's.
 */
it('fails the test when the fake Jira is called on a route it does not know', async () => {
  const jira = await new FakeJira().start();
  const res = await fetch(`${jira.url}/rest/api/3/no-such-resource?x=1`);
  expect(res.status).toBe(404); // what Jira answers, so the product's own handling is exercised too
  await expect(jira.stop()).rejects.toThrow(
    'The fake Jira was called on routes it does not know: GET /rest/api/3/no-such-resource',
  );
});

it('fails the test when the fake Entra ID is called on a route it does not know', async () => {
  const entra = await new FakeEntra().start();
  const tenantId = '9b1f0d4e-2c3a-4f5b-8e6d-7a8b9c0d1e2f';
  entra.addApp({ tenantId, clientId: 'c', secret: 's', roles: [] });
  const ca = fs.readFileSync(entra.certFile);
  const status = await new Promise<number>((resolve, reject) => {
    https
      .get(`${entra.url}/${tenantId}/no-such-endpoint`, { ca }, (res) => resolve(res.statusCode ?? 0))
      .on('error', reject);
  });
  expect(status).toBe(404);
  await expect(entra.stop()).rejects.toThrow(
    `The fake Entra ID was called on routes it does not know: GET /${tenantId}/no-such-endpoint`,
  );
});

it('fails the test when the fake Google is called on a route, or with a parameter, it does not know', async () => {
  const google = await new FakeGoogle().start();
  const ca = fs.readFileSync(google.certFile);
  const get = (path: string) =>
    new Promise<number>((resolve, reject) => {
      https.get(`${google.url}${path}`, { ca }, (res) => resolve(res.statusCode ?? 0)).on('error', reject);
    });
  expect(await get('/admin/directory/v1/no-such-resource')).toBe(401); // no token: Google's answer before any route
  expect(await get('/no-such-api')).toBe(404);
  await expect(google.stop()).rejects.toThrow(
    'The fake Google was called on routes it does not know: GET /no-such-api',
  );
});

it('fails the test when the fake Okta is called on a route, or with a parameter, it does not know', async () => {
  const okta = await new FakeOkta().start();
  const token = okta.addApiToken();
  const ca = fs.readFileSync(okta.certFile);
  const get = (path: string) =>
    new Promise<number>((resolve, reject) => {
      https
        .get(`${okta.url}${path}`, { ca, headers: { authorization: `SSWS ${token}` } }, (res) =>
          resolve(res.statusCode ?? 0),
        )
        .on('error', reject);
    });
  expect(await get('/api/v1/users?search=profile.login%20sw%20%22a%22')).toBe(400); // search: not what the app uses
  expect(await get('/api/v1/no-such-resource')).toBe(404);
  await expect(okta.stop()).rejects.toThrow(
    'The fake Okta was called on routes it does not know: GET /api/v1/users?search, GET /api/v1/no-such-resource',
  );
});

it('fails the test when the fake Keycloak is called on a route, or with a parameter, it does not know', async () => {
  const kc = await new FakeKeycloak().start();
  const ca = fs.readFileSync(kc.certFile);
  const get = (path: string) =>
    new Promise<number>((resolve, reject) => {
      https.get(`${kc.url}${path}`, { ca }, (res) => resolve(res.statusCode ?? 0)).on('error', reject);
    });
  expect(await get('/admin/realms/master/users')).toBe(401); // no token: Keycloak's answer before any route
  expect(await get('/auth/realms/master')).toBe(404);
  await expect(kc.stop()).rejects.toThrow(
    'The fake Keycloak was called on routes it does not know: GET /auth/realms/master',
  );
});

it('stops quietly when every call had a route', async () => {
  const jira = await new FakeJira().start();
  await fetch(`${jira.url}/rest/api/3/myself`); // a known route (401 without credentials)
  await expect(jira.stop()).resolves.toBeUndefined();
});

it("the fake Jira takes Forge's app system token only through its API gateway, and refuses it where Jira refuses apps", async () => {
  const jira = await new FakeJira().start();
  const forge = await new FakeForge().start();
  try {
    const inst = await forge.install(jira, 'http://127.0.0.1:9', { silent: true });
    const token = await inst.refreshSystemToken();
    const bearer = (t: string) => ({ Authorization: `Bearer ${t}` });
    expect((await fetch(`${jira.apiBaseUrl}/rest/api/3/myself`, { headers: bearer(token) })).status).toBe(200);
    // At the site's own URL a bearer token is an org API key, which this is not.
    expect((await fetch(`${jira.url}/rest/api/3/myself`, { headers: bearer(token) })).status).toBe(401);
    // An unknown or expired token, or none, at the gateway.
    expect((await fetch(`${jira.apiBaseUrl}/rest/api/3/myself`, { headers: bearer('nope') })).status).toBe(401);
    const stale = await forge.issueSystemToken(inst.ari, -1);
    const expired = await fetch(`${jira.apiBaseUrl}/rest/api/3/myself`, { headers: bearer(stale) });
    expect(expired.status).toBe(401);
    expect(await expired.json()).toMatchObject({ errorMessages: ['The access token expired'] });
    // Creating users and group writes: "This API does not support Forge apps".
    const create = await fetch(`${jira.apiBaseUrl}/rest/api/3/user`, {
      method: 'POST',
      headers: { ...bearer(token), 'Content-Type': 'application/json' },
      body: JSON.stringify({ emailAddress: 'x@example.com', products: ['jira-software'] }),
    });
    expect(create.status).toBe(403);
    expect(jira.calls.filter((c) => c.auth === 'forge')).toHaveLength(2);
  } finally {
    await jira.stop();
    await forge.stop();
  }
});
