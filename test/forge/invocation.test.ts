import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT } from 'jose';
import { ForgeAuthError, InvocationVerifier } from '../../src/forge/invocation';
import { FakeForge } from '../support/fakeForge';

/** Forge Invocation Tokens checked as Forge's docs say: RS256 from the JWKS, issuer, audience, expiry. */
let forge: FakeForge;
let verifier: InvocationVerifier;
beforeEach(async () => {
  forge = await new FakeForge().start();
  verifier = new InvocationVerifier({
    appId: forge.appId,
    jwksUrl: forge.jwksUrl,
    clockToleranceSec: 0,
    refetchAfterMs: 0,
  });
});
afterEach(() => forge.stop());

const uuid = crypto.randomUUID();
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const refusal = async (headers: http.IncomingHttpHeaders): Promise<string> => {
  try {
    await verifier.verify(headers);
  } catch (err) {
    if (err instanceof ForgeAuthError) return err.message;
    throw err;
  }
  throw new Error('expected the token to be refused');
};

it('accepts a token Forge signed: the installation as its ARI, where to call Jira, and the user', async () => {
  const token = await forge.token({
    installationId: uuid,
    principal: '712020:abc',
    apiBaseUrl: 'https://api.atlassian.com/ex/jira/cloud-1',
    cloudId: 'cloud-1',
    siteUrl: 'https://example.atlassian.net',
    ui: true,
  });
  expect(await verifier.verify(bearer(token))).toEqual({
    installationId: `ari:cloud:ecosystem::installation/${uuid}`,
    apiBaseUrl: 'https://api.atlassian.com/ex/jira/cloud-1',
    cloudId: 'cloud-1',
    siteUrl: 'https://example.atlassian.net',
    principal: '712020:abc',
    appSystemToken: undefined,
    appUserToken: undefined,
  });
  // A backend invocation (event, lifecycle, scheduled trigger) carries no context: the cloud id and
  // API base URL come from the installation's contexts, and no site URL is made up.
  const backend = await forge.token({
    installationId: uuid,
    apiBaseUrl: 'https://api.atlassian.com/ex/jira/cloud-2',
    cloudId: 'cloud-2',
    siteUrl: 'https://example.atlassian.net',
  });
  const [, body] = backend.split('.');
  const claims = JSON.parse(Buffer.from(body, 'base64url').toString()) as Record<string, unknown>;
  expect(claims.context).toBeUndefined();
  expect(claims.app).toMatchObject({
    installation: { contexts: [{ cloudId: 'cloud-2', apiBaseUrl: 'https://api.atlassian.com/ex/jira/cloud-2' }] },
  });
  expect(await verifier.verify(bearer(backend))).toMatchObject({
    apiBaseUrl: 'https://api.atlassian.com/ex/jira/cloud-2',
    cloudId: 'cloud-2',
    siteUrl: undefined,
  });
  // the full ARI form is kept as it is
  const ari = await forge.token({ installationId: `ari:cloud:ecosystem::installation/${uuid}` });
  expect((await verifier.verify(bearer(ari))).installationId).toBe(`ari:cloud:ecosystem::installation/${uuid}`);
});

it('refuses, in words, a token for another app, from another issuer, expired, or not signed by a published key', async () => {
  const claims = { installationId: uuid };
  expect(await refusal({})).toMatch(/Forge invocation token .* is required/);
  expect(await refusal(bearer(await forge.token(claims, { audience: 'ari:cloud:ecosystem::app/other' })))).toMatch(
    /aud claim is wrong/,
  );
  expect(await refusal(bearer(await forge.token(claims, { issuer: 'someone' })))).toMatch(/iss claim is wrong/);
  expect(await refusal(bearer(await forge.token(claims, { expiresInSec: -1 })))).toMatch(/expired/);
  expect(await refusal(bearer(await forge.token(claims, { foreignKey: true })))).toMatch(/signature does not verify/);
  const hs256 = await new SignJWT({ app: { installationId: uuid } })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer('forge/invocation-token')
    .setAudience(forge.appId)
    .setExpirationTime('25s')
    .sign(crypto.randomBytes(32));
  expect(await refusal(bearer(hs256))).toMatch(/not signed with RS256/);
  expect(await refusal(bearer('not-a-jwt'))).toMatch(/refused/);
  const noInstallation = await forge.token({ installationId: '' });
  expect(await refusal(bearer(noInstallation))).toMatch(/names no installation/);
});

it("follows Forge's key rotation: a token under a new key id fetches the keys again", async () => {
  await verifier.verify(bearer(await forge.token({ installationId: uuid })));
  const fetched = forge.jwksFetches;
  await verifier.verify(bearer(await forge.token({ installationId: uuid })));
  expect(forge.jwksFetches).toBe(fetched); // cached
  await forge.rotate();
  await verifier.verify(bearer(await forge.token({ installationId: uuid })));
  expect(forge.jwksFetches).toBe(fetched + 1);
});

it('reads the OAuth tokens Forge sends with a call, as the remote receives them', async () => {
  const server = http.createServer((req, res) => {
    verifier.verify(req.headers).then(
      (inv) => res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(inv)),
      (err: Error) => res.writeHead(401).end(err.message),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
    const res = await forge.invoke(url, { installationId: uuid }, { appSystemToken: 'system-token' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      appSystemToken: 'system-token',
      installationId: expect.stringContaining(uuid),
    });
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});
