import https from 'node:https';
import fs from 'node:fs';
import { FakeEntra } from '../support/fakeEntra';
import { FakeJira } from '../support/fakeJira';

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

it('stops quietly when every call had a route', async () => {
  const jira = await new FakeJira().start();
  await fetch(`${jira.url}/rest/api/3/myself`); // a known route (401 without credentials)
  await expect(jira.stop()).resolves.toBeUndefined();
});
