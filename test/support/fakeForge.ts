import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type KeyLike } from 'jose';
import { buildRemoteManifest, type ConnectDescriptor, type ForgeRemoteManifest } from '../../src/forge/manifest';
import { PROJECT_ROOT } from '../../src/config';
import fs from 'node:fs';
import path from 'node:path';
import type { FakeJira } from './fakeJira';

/**
 * What a Forge Invocation Token says; the fake fills the rest as Forge does. `ui` marks an
 * invocation from the UI (the admin page's invokeRemote): only those carry a `context` (site URL,
 * cloud id, module) — backend invocations (lifecycle, product events, scheduled triggers,
 * preUninstall) carry "no context", only the installation and its contexts.
 */
export interface InvocationClaims {
  installationId: string;
  principal?: string;
  apiBaseUrl?: string;
  cloudId?: string;
  siteUrl?: string;
  ui?: boolean;
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
    const cloudId = claims.cloudId ?? crypto.randomUUID();
    const apiBaseUrl = claims.apiBaseUrl ?? `https://api.atlassian.com/ex/jira/${cloudId}`;
    return new SignJWT({
      app: {
        id: this.appId,
        installationId: claims.installationId,
        apiBaseUrl,
        environment: { type: 'PRODUCTION', id: crypto.randomUUID() },
        module: { type: claims.ui ? 'jira:adminPage' : 'core:endpoint', key: 'remote' },
        installation: { id: claims.installationId, contexts: [{ cloudId, apiBaseUrl }] },
      },
      ...(claims.ui
        ? {
            context: {
              cloudId,
              siteUrl: claims.siteUrl,
              localId: crypto.randomUUID(),
              moduleKey: 'idp-sync-admin',
              extension: { type: 'jira:adminPage' },
            },
          }
        : {}),
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
    opts: {
      method?: string;
      body?: unknown;
      appSystemToken?: string;
      appUserToken?: string;
      headers?: Record<string, string>;
      timeoutMs?: number;
    } = {},
  ): Promise<Response> {
    const method = opts.method ?? 'POST';
    return fetch(url, {
      method,
      signal: opts.timeoutMs ? AbortSignal.timeout(opts.timeoutMs) : undefined,
      redirect: 'manual', // Forge does not follow the remote's redirects
      headers: {
        Authorization: `Bearer ${await this.token(claims)}`,
        'Content-Type': 'application/json',
        'x-b3-traceid': crypto.randomBytes(8).toString('hex'),
        'x-b3-spanid': crypto.randomBytes(8).toString('hex'),
        ...(opts.appSystemToken ? { 'x-forge-oauth-system': opts.appSystemToken } : {}),
        ...(opts.appUserToken ? { 'x-forge-oauth-user': opts.appUserToken } : {}),
        ...opts.headers,
      },
      body: method === 'GET' || method === 'DELETE' ? undefined : JSON.stringify(opts.body ?? {}),
    });
  }

  // --- app system tokens ----------------------------------------------------------------------

  private readonly systemTokens = new Map<string, { installationId: string; exp: number }>();
  /** Every app system token issued, whatever became of it (tests check none was logged or stored in the clear). */
  get issuedSystemTokens(): string[] {
    return [...this.systemTokens.keys()];
  }
  private systemKey?: KeyLike;

  /** An app system token for an installation (a JWT of about 4 hours, as Forge's), known to `checkSystemToken`. */
  async issueSystemToken(installationId: string, lifetimeSec = 4 * 3600): Promise<string> {
    this.systemKey ??= (await generateKeyPair('RS256')).privateKey;
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ installationId, appId: this.appId })
      .setProtectedHeader({ alg: 'RS256' })
      .setIssuer('forge/app-system-token')
      .setSubject(this.appId)
      .setIssuedAt(now)
      .setExpirationTime(now + lifetimeSec)
      .setJti(crypto.randomUUID())
      .sign(this.systemKey);
    this.systemTokens.set(token, { installationId, exp: now + lifetimeSec });
    return token;
  }

  /** What Atlassian's API gateway makes of a bearer token on an installation's site (the fake Jira asks this). */
  checkSystemToken(token: string, installationId: string): 'valid' | 'expired' | 'unknown' {
    const t = this.systemTokens.get(token);
    if (!t || t.installationId !== installationId) return 'unknown';
    return t.exp > Date.now() / 1000 ? 'valid' : 'expired';
  }

  // --- installing the app on a site -------------------------------------------------------------

  /** The app as deployed: our generated Forge Remote manifest, with the remote at `remoteUrl`. */
  deploy(remoteUrl: string): ForgeRemoteManifest {
    const descriptor = JSON.parse(
      fs.readFileSync(path.join(PROJECT_ROOT, 'atlassian-connect.json'), 'utf8'),
    ) as ConnectDescriptor;
    return buildRemoteManifest(descriptor, { appId: this.appId, baseUrl: remoteUrl, adminBundlePath: 'static/admin' });
  }

  /**
   * Installs the deployed app on a fake Jira site: Forge names the installation, lets its system
   * tokens through the site's API gateway, and (unless `silent`) sends `avi:forge:installed:app`.
   */
  async install(
    jira: FakeJira,
    remoteUrl: string,
    opts: { installationId?: string; silent?: boolean } = {},
  ): Promise<ForgeInstallation> {
    const inst = new ForgeInstallation(this, this.deploy(remoteUrl), jira, opts.installationId ?? crypto.randomUUID());
    jira.trustForge((token) => this.checkSystemToken(token, inst.ari));
    if (!opts.silent) await inst.lifecycle('avi:forge:installed:app');
    return inst;
  }
}

/** What Forge answered a delivery: each attempt's status (0: no answer within 5 s). */
export interface Delivery {
  statuses: number[];
  delivered: boolean;
}

/** What `invokeRemote` resolves with (the bridge's answer), or why it rejects. */
export type BridgeAnswer =
  | { success: true; payload: { status: number; headers: Record<string, string[]>; body?: unknown } }
  | { success: false; error: { message: string } };

/**
 * One installation of the app on one site, as Forge drives it: lifecycle and product events to the
 * endpoints the manifest names (5 s to answer, up to 4 redeliveries with `retryContext`), the
 * scheduled trigger, and the admin page's `invokeRemote` with Forge's response contract (a 401 from
 * the remote rejects; a non-2xx needs a JSON body). Every call carries a fresh invocation token and
 * the app system token the endpoint asks for.
 */
export class ForgeInstallation {
  /** The app system token Forge hands over now (a fresh one after `refreshSystemToken`). */
  systemToken?: string;
  /** Every call Forge made to the remote: endpoint key, path, status. */
  readonly calls: Array<{ endpoint: string; path: string; status: number }> = [];

  constructor(
    readonly forge: FakeForge,
    readonly manifest: ForgeRemoteManifest,
    readonly jira: FakeJira,
    /** The bare UUID (lifecycle payloads); tokens carry the ARI. */
    readonly id: string,
  ) {}

  get ari(): string {
    return `ari:cloud:ecosystem::installation/${this.id}`;
  }

  /** A backend invocation's claims (no `context`), or with `ui` the admin page's (the site's URL and cloud id in `context`). */
  claims(opts: { principal?: string; ui?: boolean } = {}): InvocationClaims {
    return {
      installationId: this.ari,
      apiBaseUrl: this.jira.apiBaseUrl,
      cloudId: this.jira.cloudId,
      ...(opts.ui ? { ui: true, siteUrl: this.jira.url } : {}),
      ...(opts.principal ? { principal: opts.principal } : {}),
    };
  }

  /** A new system token from now on (Forge hands out a fresh one once the cached one has under 2 hours left). */
  async refreshSystemToken(lifetimeSec?: number): Promise<string> {
    this.systemToken = await this.forge.issueSystemToken(this.ari, lifetimeSec);
    return this.systemToken;
  }

  private endpoint(key: string): { url: string; systemToken: boolean } {
    const e = this.manifest.modules.endpoint.find((m) => m.key === key) as
      { remote: string; route?: { path: string }; auth?: { appSystemToken?: { enabled: boolean } } } | undefined;
    if (!e) throw new Error(`the manifest has no endpoint ${key}`);
    const remote = this.manifest.remotes.find((r) => r.key === e.remote) as { baseUrl: string };
    return {
      url: new URL(e.route?.path ?? '', remote.baseUrl).toString(),
      systemToken: !!e.auth?.appSystemToken?.enabled,
    };
  }

  private async tokenFor(endpoint: { systemToken: boolean }): Promise<string | undefined> {
    if (!endpoint.systemToken) return undefined;
    return this.systemToken ?? (await this.refreshSystemToken());
  }

  /** Delivers an event to an endpoint as Forge does: POST, 5 s to answer, redelivered up to 4 times on failure. */
  private async deliver(endpointKey: string, payload: Record<string, unknown>): Promise<Delivery> {
    const endpoint = this.endpoint(endpointKey);
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 5; attempt++) {
      const body = {
        payload:
          attempt === 0
            ? payload
            : { ...payload, retryContext: { retryCount: attempt, retryReason: 'FUNCTION_ERROR' } },
      };
      let status: number;
      try {
        const res = await this.forge.invoke(endpoint.url, this.claims(), {
          body,
          appSystemToken: await this.tokenFor(endpoint),
          timeoutMs: 5000,
        });
        status = res.status;
        await res.arrayBuffer();
      } catch {
        status = 0; // no answer within 5 s
      }
      statuses.push(status);
      this.calls.push({ endpoint: endpointKey, path: new URL(endpoint.url).pathname, status });
      if (status >= 200 && status < 300) return { statuses, delivered: true };
    }
    return { statuses, delivered: false };
  }

  /** The endpoint a trigger module sends an event to. */
  private triggerEndpoint(event: string): string {
    const t = this.manifest.modules.trigger.find((m) => (m.events as string[]).includes(event));
    if (!t) throw new Error(`the manifest has no trigger for ${event}`);
    return t.endpoint as string;
  }

  /** Sends a lifecycle event (`avi:forge:installed:app`, `avi:forge:upgraded:app`). */
  lifecycle(event: 'avi:forge:installed:app' | 'avi:forge:upgraded:app'): Promise<Delivery> {
    return this.deliver(this.triggerEndpoint(event), {
      eventType: event,
      id: this.id,
      installerAccountId: this.jira.admin.accountId,
      app: { id: this.forge.appId, version: '2.0.0' },
      environment: { id: crypto.randomUUID() },
      context: { cloudId: this.jira.cloudId },
    });
  }

  /** Sends `avi:jira:created:user` for a Jira user (UserDetails, as Jira's user events carry them). */
  userCreated(user: { accountId: string; displayName?: string; emailAddress?: string }): Promise<Delivery> {
    return this.deliver(this.triggerEndpoint('avi:jira:created:user'), {
      eventType: 'avi:jira:created:user',
      user: { accountType: 'atlassian', active: true, ...user },
    });
  }

  /** Fires the scheduled trigger once. */
  scheduled(): Promise<Delivery> {
    const t = this.manifest.modules.scheduledTrigger[0];
    return this.deliver(t.endpoint as string, { context: { cloudId: this.jira.cloudId } });
  }

  /** The app is being uninstalled: Forge calls `preUninstall`. */
  uninstall(): Promise<Delivery> {
    return this.deliver(this.manifest.modules.preUninstall[0].endpoint as string, {
      id: this.id,
      context: { cloudId: this.jira.cloudId },
    });
  }

  /**
   * The admin page's `invokeRemote` (through the admin page module's resolver endpoint), answered as
   * the bridge answers it: the path resolved against the remote's base URL (URL rules), the body
   * sent as JSON, and Forge's checks on the response.
   */
  async invokeRemote(
    input: { path: string; method: string; headers?: Record<string, string>; body?: unknown },
    principal: string,
  ): Promise<BridgeAnswer> {
    const page = this.manifest.modules['jira:adminPage'][0] as { resolver: { endpoint: string } };
    const endpoint = this.endpoint(page.resolver.endpoint);
    if (input.body !== undefined && (typeof input.body !== 'object' || input.body === null))
      return { success: false, error: { message: 'The body must be a JSON object' } };
    let res: Response;
    try {
      res = await this.forge.invoke(
        new URL(input.path, endpoint.url).toString(),
        this.claims({ principal, ui: true }),
        {
          method: input.method,
          body: input.body,
          headers: input.headers,
          appSystemToken: await this.tokenFor(endpoint),
          timeoutMs: 25_000,
        },
      );
    } catch (err) {
      return { success: false, error: { message: `Remote invocation failed: ${(err as Error).message}` } };
    }
    this.calls.push({
      endpoint: page.resolver.endpoint,
      path: new URL(input.path, endpoint.url).pathname,
      status: res.status,
    });
    const text = await res.text();
    if (res.status === 401)
      return { success: false, error: { message: 'Remote could not verify the Forge Invocation Token' } };
    const type = res.headers.get('content-type');
    const ok = res.status >= 200 && res.status < 300;
    if (!ok && type && !type.startsWith('application/json'))
      return { success: false, error: { message: 'Invalid response from remote' } };
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      return { success: false, error: { message: 'Invalid response from remote' } };
    }
    if (!ok && body === undefined) return { success: false, error: { message: 'Invalid response from remote' } };
    const headers: Record<string, string[]> = {};
    res.headers.forEach((v, k) => (headers[k] = [v]));
    return { success: true, payload: { status: res.status, headers, ...(body === undefined ? {} : { body }) } };
  }
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.woff': 'font/woff',
  '.ttf': 'font/ttf',
  '.eot': 'application/vnd.ms-fontobject',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * Forge's CDN for a Custom UI resource: the bundle's files as they are, from an origin of their own
 * (never our server's), with nothing rendered server-side, under a content security policy that
 * allows no inline script or style. A file the bundle lacks is a 404.
 */
export async function serveCustomUi(dir: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const root = path.resolve(dir);
  const server = http.createServer((req, res) => {
    const rel = decodeURIComponent(new URL(req.url ?? '/', 'http://cdn').pathname).replace(/^\/+/, '') || 'index.html';
    const file = path.resolve(root, rel);
    if (!file.startsWith(root + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile())
      return void res.writeHead(404).end();
    res.writeHead(200, {
      'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream',
      // Forge's default policy for Custom UI: the bundle's own files only, no inline script or style
      // (a manifest would have to ask for 'unsafe-inline'; ours does not).
      'Content-Security-Policy':
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'",
    });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
