import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type KeyLike } from 'jose';

/** What a Forge Invocation Token says; the fake fills the rest as Forge does. */
export interface InvocationClaims {
  installationId: string;
  principal?: string;
  apiBaseUrl?: string;
  cloudId?: string;
  siteUrl?: string;
}

/**
 * The Forge platform as our remote sees it: it signs Forge Invocation Tokens (RS256, `iss`
 * `forge/invocation-token`, `aud` the app id, 25 s of life, a `jti`) with a local key, publishes the
 * public key as a JWKS over HTTP (the remote's `FORGE_JWKS_URL`), and calls the remote's endpoints
 * with Forge's headers. Keys can be rotated, and tokens spoiled, to test the refusals.
 */
export class FakeForge {
  readonly appId = `ari:cloud:ecosystem::app/${crypto.randomUUID()}`;
  jwksUrl = '';
  /** How many times the JWKS was fetched (a verifier caches it). */
  jwksFetches = 0;
  private server?: http.Server;
  private keys: Array<{ kid: string; privateKey: KeyLike; jwk: Record<string, unknown> }> = [];

  async start(): Promise<this> {
    await this.rotate();
    this.server = http.createServer((req, res) => {
      if (req.method === 'GET' && req.url === '/.well-known/jwks.json') {
        this.jwksFetches++;
        res.writeHead(200, { 'Content-Type': 'application/json' });
        return void res.end(JSON.stringify({ keys: this.keys.map((k) => k.jwk) }));
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.jwksUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/.well-known/jwks.json`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  /** Signs with a new key from now on; the JWKS publishes only the new one unless `keepOld`. */
  async rotate(keepOld = false): Promise<void> {
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    const kid = crypto.randomUUID();
    const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
    this.keys = [...(keepOld ? this.keys : []), { kid, privateKey, jwk }];
  }

  /** A Forge Invocation Token; `spoil` makes it wrong in one way (for the refusals). */
  async token(
    claims: InvocationClaims,
    spoil: {
      audience?: string;
      issuer?: string;
      expiresInSec?: number;
      /** Signed by a key the JWKS does not publish, under a kid it does publish. */
      foreignKey?: boolean;
    } = {},
  ): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const key = this.keys[this.keys.length - 1];
    const signing = spoil.foreignKey ? (await generateKeyPair('RS256')).privateKey : key.privateKey;
    return new SignJWT({
      app: {
        id: this.appId,
        installationId: claims.installationId,
        apiBaseUrl: claims.apiBaseUrl ?? 'https://api.atlassian.com/ex/jira/' + (claims.cloudId ?? 'cloud'),
        environment: { type: 'PRODUCTION', id: crypto.randomUUID() },
        module: { type: 'xen:macro', key: 'remote' },
      },
      context: { cloudId: claims.cloudId ?? crypto.randomUUID(), siteUrl: claims.siteUrl },
      ...(claims.principal ? { principal: claims.principal } : {}),
    })
      .setProtectedHeader({ alg: 'RS256', kid: key.kid })
      .setIssuer(spoil.issuer ?? 'forge/invocation-token')
      .setAudience(spoil.audience ?? this.appId)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + (spoil.expiresInSec ?? 25))
      .setJti(crypto.randomUUID())
      .sign(signing);
  }

  /** Calls a remote endpoint as Forge does: the invocation token, the OAuth tokens asked for, trace headers. */
  async invoke(
    url: string,
    claims: InvocationClaims,
    opts: { body?: unknown; appSystemToken?: string; appUserToken?: string } = {},
  ): Promise<Response> {
    return fetch(url, {
      method: 'POST',
      redirect: 'manual', // Forge does not follow the remote's redirects
      headers: {
        Authorization: `Bearer ${await this.token(claims)}`,
        'Content-Type': 'application/json',
        'x-b3-traceid': crypto.randomBytes(8).toString('hex'),
        'x-b3-spanid': crypto.randomBytes(8).toString('hex'),
        ...(opts.appSystemToken ? { 'x-forge-oauth-system': opts.appSystemToken } : {}),
        ...(opts.appUserToken ? { 'x-forge-oauth-user': opts.appUserToken } : {}),
      },
      body: JSON.stringify(opts.body ?? {}),
    });
  }
}
