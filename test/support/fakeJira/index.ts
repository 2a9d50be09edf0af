import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as jwt from 'atlassian-jwt';
import type { KeyServer } from '../keyServer';
import { failOnUnknownCalls } from '../strictFake';
import { authenticate, type AuthConfig, type Principal } from './auth';
import { routes, type Reply } from './routes';
import { FakeJiraState, jiraError, type FakeUser } from './state';

export { FakeJiraState } from './state';

/** One call the fake received, as tests assert on it. */
export interface CallRecord {
  method: string;
  path: string;
  query: string;
  auth: Principal['kind'];
  status: number | 'hang';
  body?: unknown;
  at: number;
  /** Who called: the app sends `idp-user-group-sync/<version> (instance <id>)`. */
  userAgent?: string;
  /** The W3C trace context the call carried (the app sends one when tracing is on). */
  traceparent?: string;
}

/** Failures to inject on a share of calls (0..1 each), decided by a seeded PRNG so runs repeat. */
export interface Faults {
  rateLimitShare?: number;
  retryAfterSeconds?: number;
  serverErrorShare?: number;
  /** Of the server errors, the share that happen after the call took effect (as a real timeout can). */
  serverErrorAfterEffectShare?: number;
  hangShare?: number;
  seed?: number;
}

type Planned = { status: number; headers?: Record<string, string>; body?: unknown } | 'hang';

const APP_KEY = 'idp-user-group-sync';

/**
 * A Jira Cloud site over real HTTP, faithful to what the add-on relies on (see
 * docs/jira.md): Connect JWT and API-token auth, JWT refused (403) where Jira
 * closes an endpoint to apps, Jira's paging and error bodies, 429 + Retry-After, 5xx and hangs on
 * demand. It is also the Connect host: it installs the app with a signed (RS256) lifecycle call.
 */
export class FakeJira {
  readonly state = new FakeJiraState();
  readonly calls: CallRecord[] = [];
  readonly clientKey = `fake-jira-${crypto.randomUUID()}`;
  readonly appKey: string;
  readonly admin: FakeUser;
  readonly adminToken = `ATATT${crypto.randomBytes(24).toString('hex')}`;
  sharedSecret?: string;
  url = '';
  private readonly auth: AuthConfig;
  private server?: http.Server;
  private faults: Faults = {};
  private random = mulberry32(1);
  private planned: Planned[] = [];
  private plannedByPath = new Map<string, Planned[]>();
  /** Burst limits: requests per second for each endpoint and method (Jira's are per site, endpoint and method). */
  private rate?: { perSecond: number; buckets: Map<string, { windowStart: number; count: number }> };
  /** The hourly quota on app (JWT) traffic: calls per window, and the window. */
  private quota?: { calls: number; windowMs: number; windowStart: number; count: number };
  private latencyMs = 0;
  private inFlight = 0;
  /** The most calls the fake was serving at once (to check the client's concurrency bound). */
  maxInFlight = 0;

  constructor(opts: { appKey?: string } = {}) {
    this.appKey = opts.appKey ?? APP_KEY;
    this.admin = this.state.addUser({ emailAddress: 'site-admin@example.com', displayName: 'Site Admin' });
    this.state.administrators.add(this.admin.accountId);
    this.state.siteAdmins.add(this.admin.accountId);
    this.auth = {
      appKey: this.appKey,
      apiTokens: new Map([[this.admin.emailAddress, { token: this.adminToken, accountId: this.admin.accountId }]]),
    };
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /**
   * Stops the fake. A call it had no route for fails the test that made it, here: the product called
   * something of Jira's that this fake does not know, so a green test would prove nothing about it.
   */
  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
    failOnUnknownCalls('Jira', this.unrouted);
  }

  /** Calls that matched no route of the fake (each fails the test at stop()). */
  readonly unrouted: string[] = [];

  // --- arranging ---------------------------------------------------------------------------

  /** Gives a user an API token (email + token basic auth). */
  issueApiToken(user: FakeUser): string {
    const token = `ATATT${crypto.randomBytes(24).toString('hex')}`;
    this.auth.apiTokens.set(user.emailAddress.toLowerCase(), { token, accountId: user.accountId });
    return token;
  }

  /** Revokes a user's API token (Jira then answers 401 to calls made with it, as for a wrong one). */
  revokeApiToken(user: FakeUser): void {
    this.auth.apiTokens.delete(user.emailAddress.toLowerCase());
  }

  /** Sets the organization API key the org endpoints accept. */
  setOrgApiKey(key: string): void {
    this.auth.orgApiKey = key;
  }

  /** The next calls (to /rest and the org API) get these answers instead of the real ones. */
  failNext(...answers: Planned[]): void {
    this.planned.push(...answers);
  }

  /** The next calls to this path (e.g. /rest/api/3/group/bulk) get these answers. */
  failNextOn(path: string, ...answers: Planned[]): void {
    this.plannedByPath.set(path, [...(this.plannedByPath.get(path) ?? []), ...answers]);
  }

  /** Drops the planned answers not yet given (Jira is back). */
  clearPlanned(): void {
    this.planned.length = 0;
    this.plannedByPath.clear();
  }

  /** Random failures on a share of calls. */
  setFaults(faults: Faults): void {
    this.faults = faults;
    this.random = mulberry32(faults.seed ?? 1);
  }

  /**
   * Burst limits as Jira applies them: per endpoint and HTTP method, this many calls a second each;
   * beyond, 429 with Retry-After and `RateLimit-Reason: jira-burst-based`, and
   * `X-RateLimit-NearLimit: true` once less than 20% is left. Undefined lifts them.
   */
  setRateLimit(perSecond: number | undefined): void {
    this.rate = perSecond ? { perSecond, buckets: new Map() } : undefined;
  }

  /**
   * The points-based quota on app traffic (Connect JWT): this many calls per window (an hour in
   * Jira); beyond, every app call gets 429 with `RateLimit-Reason: jira-quota-tenant-based` and a
   * Retry-After until the window's reset. API-token traffic does not count. Undefined lifts it.
   */
  setAppQuota(quota: { calls: number; windowMs?: number } | undefined): void {
    this.quota = quota && {
      calls: quota.calls,
      windowMs: quota.windowMs ?? 3_600_000,
      windowStart: Date.now(),
      count: 0,
    };
  }

  /** Every answer takes at least this long. */
  setLatency(ms: number): void {
    this.latencyMs = ms;
  }

  /** Calls that reached a route with this method and path (for assertions). */
  callsTo(method: string, path: string): CallRecord[] {
    return this.calls.filter((c) => c.method === method && c.path === path);
  }

  // --- the Connect host side ---------------------------------------------------------------

  /**
   * The install payload Jira posts to /installed (a new shared secret each install). Installed
   * through Forge ("Connect on Forge"), it also carries the installation's id.
   */
  installPayload(opts: { installationId?: string } = {}): Record<string, unknown> {
    this.sharedSecret = crypto.randomBytes(32).toString('base64url');
    this.state.connectClientKey = this.clientKey;
    this.auth.sharedSecret = this.sharedSecret;
    return {
      key: this.appKey,
      clientKey: this.clientKey,
      sharedSecret: this.sharedSecret,
      serverVersion: '100287',
      pluginsVersion: '1001.0.0-SNAPSHOT',
      baseUrl: this.url,
      displayUrl: this.url,
      productType: 'jira',
      description: 'Atlassian JIRA at ' + this.url,
      eventType: 'installed',
      cloudId: crypto.randomUUID(),
      ...(opts.installationId ? { installationId: opts.installationId } : {}),
    };
  }

  /** Installs the app as Jira does: POST {app}/installed with a signed (RS256) JWT. */
  async install(appBaseUrl: string, keys: KeyServer, opts: { installationId?: string } = {}): Promise<Response> {
    const payload = this.installPayload(opts);
    const token = keys.signLifecycle({
      method: 'POST',
      path: '/installed',
      clientKey: this.clientKey,
      audience: appBaseUrl,
    });
    return postJson(`${appBaseUrl}/installed`, token, payload);
  }

  /** Uninstalls the app: POST {app}/uninstalled, signed like the install. */
  async uninstall(appBaseUrl: string, keys: KeyServer): Promise<Response> {
    const token = keys.signLifecycle({
      method: 'POST',
      path: '/uninstalled',
      clientKey: this.clientKey,
      audience: appBaseUrl,
    });
    return postJson(`${appBaseUrl}/uninstalled`, token, {
      key: this.appKey,
      clientKey: this.clientKey,
      baseUrl: this.url,
      eventType: 'uninstalled',
    });
  }

  /** Sends enabled / disabled, signed with the shared secret (HS256 + qsh). */
  async lifecycle(event: 'enabled' | 'disabled', appBaseUrl: string): Promise<Response> {
    return postJson(`${appBaseUrl}/${event}`, this.appJwt('POST', `/${event}`), {
      key: this.appKey,
      clientKey: this.clientKey,
      baseUrl: this.url,
      eventType: event,
    });
  }

  /** A context JWT as AP.context.getToken() returns it to the page (qsh "context-qsh"). */
  contextJwt(
    accountId: string | undefined,
    opts: { expiresIn?: number; qsh?: string; secret?: string; iss?: string } = {},
  ): string {
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: opts.iss ?? this.clientKey,
      iat: now,
      exp: now + (opts.expiresIn ?? 180),
      qsh: opts.qsh ?? 'context-qsh',
      ...(accountId ? { sub: accountId, context: { user: { accountId }, license: { active: true } } } : {}),
    };
    return jwt.encodeSymmetric(claims, opts.secret ?? this.requireSecret(), jwt.SymmetricAlgorithm.HS256);
  }

  /** A JWT Jira signs for one request to the app (page loads, lifecycle events, webhooks). */
  appJwt(method: string, pathWithQuery: string, accountId?: string): string {
    const now = Math.floor(Date.now() / 1000);
    const qsh = jwt.createQueryStringHash(jwt.fromMethodAndUrl(method, pathWithQuery));
    const claims = {
      iss: this.clientKey,
      iat: now,
      exp: now + 180,
      qsh,
      ...(accountId ? { sub: accountId, context: { user: { accountId } } } : {}),
    };
    return jwt.encodeSymmetric(claims, this.requireSecret(), jwt.SymmetricAlgorithm.HS256);
  }

  private requireSecret(): string {
    if (!this.sharedSecret) throw new Error('the app is not installed on this fake Jira yet');
    return this.sharedSecret;
  }

  /** Whose admin page the host script speaks for (its AP.context.getToken); the site admin unless set. */
  pageUserAccountId?: string;

  /**
   * Jira's host script for iframes, as far as an admin page uses it: AP.context.getToken hands the
   * page a context JWT (qsh "context-qsh") for the signed-in user, and AP.resize / sizeToParent exist.
   */
  private allJs(res: http.ServerResponse): void {
    const token = this.sharedSecret
      ? this.contextJwt(this.pageUserAccountId ?? this.admin.accountId, { expiresIn: 900 })
      : '';
    const script = `window.AP = { context: { getToken: function (cb) { var t = ${JSON.stringify(token)}; if (cb) cb(t); return Promise.resolve(t); } },
      resize: function () {}, sizeToParent: function () {} };`;
    res.writeHead(200, { 'Content-Type': 'application/javascript; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(script);
  }

  // --- serving -------------------------------------------------------------------------------

  /**
   * Lets Forge's app system tokens in, as Atlassian's API gateway does: calls to
   * `{url}/ex/jira/{cloudId}/rest/...` (the invocation token's `apiBaseUrl`) with a bearer token the
   * given check accepts. Returns that API base URL.
   */
  trustForge(check: (token: string) => 'valid' | 'expired' | 'unknown'): string {
    this.auth.forgeSystemToken = check;
    return this.apiBaseUrl;
  }

  /** The site's cloud id (the gateway's path names it). */
  readonly cloudId = crypto.randomUUID();

  /** Where the Forge app calls this site with its system token. */
  get apiBaseUrl(): string {
    return `${this.url}/ex/jira/${this.cloudId}`;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const method = req.method ?? 'GET';
    const gateway = `/ex/jira/${this.cloudId}/`;
    const viaGateway = url.pathname.startsWith(gateway);
    if (viaGateway) url.pathname = url.pathname.slice(gateway.length - 1);
    if (method === 'GET' && url.pathname === '/atlassian-connect/all.js') return void this.allJs(res);
    const record: CallRecord = {
      method,
      path: url.pathname,
      query: url.search,
      auth: 'none',
      status: 0,
      at: Date.now(),
      userAgent: req.headers['user-agent'],
      traceparent: req.headers.traceparent as string | undefined,
    };
    this.calls.push(record);
    this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
    const reply = (status: number, body?: unknown, headers: Record<string, string> = {}) => {
      this.inFlight--;
      record.status = status;
      res.writeHead(status, {
        ...(body === undefined ? {} : { 'Content-Type': 'application/json;charset=UTF-8' }),
        ...headers,
      });
      res.end(body === undefined ? undefined : JSON.stringify(body));
    };
    let body: unknown;
    try {
      body = await readJson(req);
    } catch {
      return reply(400, jiraError(['Unexpected character in the request body; it is not valid JSON.']));
    }
    record.body = body;
    const match = routes
      .map((r) => ({ r, m: r.method === method ? r.pattern.exec(url.pathname) : null }))
      .find((x) => x.m);
    if (!match) {
      this.unrouted.push(`${method} ${url.pathname}`);
      return reply(404, jiraError(['The fake Jira has no such resource.']));
    }
    const auth = authenticate(req, url, this.auth, Math.floor(Date.now() / 1000), viaGateway);
    if (!auth.ok) return reply(auth.status, jiraError([auth.message]));
    const principal = auth.principal;
    record.auth = principal.kind;
    const refusal = this.refuse(match.r.access, principal);
    if (refusal) return reply(refusal.status, refusal.body);

    const limited = this.limits(`${method} ${match.r.pattern.source}`, principal);
    if (limited.rejected) return reply(429, limited.rejected.body, limited.rejected.headers);
    if (this.latencyMs) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
    const fault: ReturnType<FakeJira['nextFault']> = this.plannedByPath.get(url.pathname)?.shift() ?? this.nextFault();
    if (fault === 'hang') {
      record.status = 'hang';
      return; // never answers; the socket is closed when the fake stops
    }
    if (fault && !fault.afterEffect) return reply(fault.status, fault.body, fault.headers);
    const result: Reply = match.r.handle({
      state: this.state,
      base: this.url,
      params: match.m!.slice(1),
      query: url.searchParams,
      body,
      principal,
      headers: req.headers,
    });
    if (fault) return reply(fault.status, fault.body, fault.headers);
    reply(result.status, result.body, limited.headers);
  }

  /** The burst bucket of the call's endpoint and method, and the app quota for JWT calls. */
  private limits(
    endpoint: string,
    principal: Principal,
  ): { rejected?: ReturnType<typeof rateLimited>; headers?: Record<string, string> } {
    const now = Date.now();
    const q = this.quota;
    if (q && (principal.kind === 'jwt' || principal.kind === 'forge')) {
      if (now - q.windowStart >= q.windowMs) Object.assign(q, { windowStart: now, count: 0 });
      if (++q.count > q.calls)
        return {
          rejected: rateLimited(
            Math.max(1, Math.ceil((q.windowStart + q.windowMs - now) / 1000)),
            'jira-quota-tenant-based',
            q.calls,
          ),
        };
    }
    if (!this.rate) return {};
    let bucket = this.rate.buckets.get(endpoint);
    if (!bucket) this.rate.buckets.set(endpoint, (bucket = { windowStart: now, count: 0 }));
    if (now - bucket.windowStart >= 1000) Object.assign(bucket, { windowStart: now, count: 0 });
    const limit = this.rate.perSecond;
    if (++bucket.count > limit)
      return {
        rejected: rateLimited(
          Math.max(1, Math.ceil((bucket.windowStart + 1000 - now) / 1000)),
          'jira-burst-based',
          limit,
        ),
      };
    const remaining = limit - bucket.count;
    return remaining < limit * 0.2 ? { headers: { 'X-RateLimit-NearLimit': 'true' } } : {};
  }

  private refuse(access: string, principal: Principal): Reply | undefined {
    if (access === 'anyone') return undefined;
    if (access === 'org')
      return principal.kind === 'org' ? undefined : { status: 401, body: { code: 401, message: 'Unauthorized' } };
    if (principal.kind === 'none' || principal.kind === 'org')
      return {
        status: 401,
        body: jiraError(['You are not authenticated. Authentication required to perform this operation.']),
      };
    if (
      access === 'app-or-administer' &&
      principal.kind === 'token' &&
      !this.state.administrators.has(principal.accountId)
    )
      return { status: 403, body: jiraError(['You do not have permission to perform this operation.']) };
    if (access === 'administer' || access === 'site-admin') {
      if (principal.kind === 'jwt')
        return { status: 403, body: jiraError(['Connect apps cannot access this REST resource.']) };
      if (principal.kind === 'forge')
        return { status: 403, body: jiraError(['This API does not support Forge apps.']) };
      const allowed = access === 'administer' ? this.state.administrators : this.state.siteAdmins;
      if (!allowed.has(principal.accountId))
        return { status: 403, body: jiraError(['You do not have permission to perform this operation.']) };
    }
    return undefined;
  }

  private nextFault():
    { status: number; headers?: Record<string, string>; body?: unknown; afterEffect?: boolean } | 'hang' | undefined {
    const planned = this.planned.shift();
    if (planned) return planned;
    const f = this.faults;
    const roll = this.random();
    let edge = f.rateLimitShare ?? 0;
    if (roll < edge) return rateLimited(f.retryAfterSeconds ?? 1, 'jira-quota-tenant-based');
    edge += f.serverErrorShare ?? 0;
    if (roll < edge)
      return {
        status: 503,
        body: jiraError(['Service Unavailable']),
        afterEffect: this.random() < (f.serverErrorAfterEffectShare ?? 0),
      };
    edge += f.hangShare ?? 0;
    if (roll < edge) return 'hang';
    return undefined;
  }
}

function rateLimited(retryAfterSeconds: number, reason: string, limit = 100) {
  return {
    status: 429,
    headers: {
      'Retry-After': String(retryAfterSeconds),
      'X-RateLimit-Limit': String(limit),
      'X-RateLimit-Remaining': '0',
      'X-RateLimit-Reset': new Date(Date.now() + retryAfterSeconds * 1000).toISOString(),
      'RateLimit-Reason': reason,
    },
    body: jiraError(['Rate limit exceeded.']),
  };
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : undefined;
}

async function postJson(url: string, token: string, body: unknown): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { Authorization: `JWT ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
}

/** A small seeded PRNG, so fault patterns repeat run to run. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
