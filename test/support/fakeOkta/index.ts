import crypto from 'node:crypto';
import type https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { calculateJwkThumbprint, decodeProtectedHeader, EmbeddedJWK, jwtVerify, type JWK } from 'jose';
import { selfSignedCert } from '../fakeEntra/cert';
import { closeServer, failOnUnknownCalls, listenHttps } from '../strictFake';
import {
  GROUP_FILTER,
  groupJson,
  invalid,
  LOG_FILTER,
  notFound,
  oktaError,
  OktaHttpError,
  oktaId,
  parseFilter,
  USER_FILTER,
  userJson,
  type FakeOktaApp,
  type FakeOktaGroup,
  type FakeOktaUser,
  type Obj,
} from './model';

export type { FakeOktaApp, FakeOktaGroup, FakeOktaUser } from './model';

export const ALL_SCOPES = ['okta.users.read', 'okta.groups.read', 'okta.apps.read', 'okta.logs.read'];
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

interface ServiceApp {
  clientId: string;
  keys: Map<string, crypto.KeyObject>;
  scopes: Set<string>;
  /** An admin role assigned to the app (Read-only Administrator): without one every call is 403 E0000006. */
  adminRole: boolean;
  /** Require DPoP-bound tokens (the default for API service apps since 2024). */
  dpop: boolean;
}
interface Token {
  clientId: string;
  scopes: Set<string>;
  expires: number;
  jkt?: string;
}
export interface OktaCall {
  method: string;
  path: string;
  query: Record<string, string>;
  status: number;
  at: number;
}

/** Okta's rate-limit buckets (per org, per minute; Workforce Identity), by path. */
const BUCKETS: Array<[RegExp, string, number]> = [
  [/^\/oauth2\/v1\/token$/, '/oauth2/v1/token', 600],
  [/^\/api\/v1\/users$/, '/api/v1/users', 600],
  [/^\/api\/v1\/users\/[^/]+(\/groups)?$/, '/api/v1/users/{id}', 2000],
  [/^\/api\/v1\/groups$/, '/api/v1/groups', 500],
  [/^\/api\/v1\/groups\/[^/]+(\/users)?$/, '/api/v1/groups/{id}', 1000],
  [/^\/api\/v1\/apps(\/.*)?$/, '/api/v1/apps', 100],
  [/^\/api\/v1\/logs$/, '/api/v1/logs', 120],
];

/**
 * A fake Okta org over real HTTPS (self-signed certificate), as strict as Okta's documentation:
 * API tokens (`SSWS`; an admin's, or a non-admin's refused 403 E0000006) and API service apps —
 * client credentials with a `private_key_jwt` assertion (signature against the app's registered
 * keys by `kid`, audience = the token URL, issuer = subject = client id, at most an hour, `jti`
 * never reused), scopes granted to the app (`invalid_scope`), an admin role (403 E0000006 without),
 * DPoP when the app requires it (`invalid_dpop_proof`, then `use_dpop_nonce` with a `DPoP-Nonce`;
 * calls with `Authorization: DPoP` and a proof bound to the token: `htm`, `htu`, `ath`, the key's
 * thumbprint), tokens that expire (401 E0000011); a token without the route's scope 403 with an
 * empty body and `WWW-Authenticate … insufficient_scope`. Users (a plain listing hides
 * DEPROVISIONED; `filter` with Okta's properties and operators), groups (`q`, `filter`), members,
 * app assignments, the System Log (bounded and polling requests, 90 days). Paging by `Link`
 * headers with opaque `after` cursors, limits clamped to each route's maximum. Every answer carries
 * `X-Rate-Limit-*` for its bucket; over a bucket or 75 requests in flight, 429 E0000047. Unknown
 * routes and parameters fail the test at `stop()`.
 */
export class FakeOkta {
  readonly users = new Map<string, FakeOktaUser>();
  readonly groups = new Map<string, FakeOktaGroup>();
  readonly apps = new Map<string, FakeOktaApp>();
  readonly logs: Obj[] = [];
  readonly calls: OktaCall[] = [];
  readonly unrouted: string[] = [];
  readonly apiTokens = new Map<string, { admin: boolean }>();
  readonly serviceApps = new Map<string, ServiceApp>();
  /** A token's lifetime, seconds (Okta's org authorization server: an hour, fixed). */
  tokenLifetime = 3600;
  /** The rate-limit window (a minute at Okta; a test may shorten it). */
  rateWindowMs = 60_000;
  /** Multiplies every bucket's limit (the benchmark raises them with the server's reserve). */
  rateScale = 1;
  maxConcurrent = 75;
  /** Events younger than this are not in the System Log yet (it is eventually consistent). */
  logLagMs = 0;
  readonly retentionMs = 90 * 24 * 3600_000;
  /** Told of every call as it is answered (a test changes the org mid-read). */
  afterCall?: (call: OktaCall) => void;
  url = '';
  readonly certFile: string;
  private readonly tokens = new Map<string, Token>();
  private readonly usedJti = new Set<string>();
  private readonly cursors = new Map<string, { key: string; offset: number; list: unknown[] }>();
  private readonly counts = new Map<string, { window: number; n: number }>();
  private nonce = crypto.randomBytes(16).toString('base64url');
  private inFlight = 0;
  private failures: number[] = [];
  private tokenFailures: number[] = [];
  private everyone!: FakeOktaGroup;
  private server?: https.Server;
  private readonly tls: { key: string; cert: string };

  constructor() {
    const { key, cert, certFile } = selfSignedCert();
    this.tls = { key, cert };
    this.certFile = certFile;
    this.everyone = this.addGroup('Everyone', { type: 'BUILT_IN', event: false });
  }

  async start(): Promise<this> {
    ({ server: this.server, url: this.url } = await listenHttps(this.tls, (req, res) => void this.handle(req, res)));
    return this;
  }

  async stop(): Promise<void> {
    await closeServer(this.server);
    failOnUnknownCalls('Okta', this.unrouted);
  }

  // ---- credentials ---------------------------------------------------------------------------

  /** An API token created by an admin (or, `admin: false`, by a user without an admin role). */
  addApiToken(admin = true): string {
    const token = `00${crypto.randomBytes(30).toString('base64url').slice(0, 40)}`;
    this.apiTokens.set(token, { admin });
    return token;
  }

  /**
   * An API service app with a key pair registered (Okta's console generates it: the private key
   * as JSON with its `kid`, or PEM): its client id and private key as the admin pastes them.
   */
  addServiceApp(
    o: { dpop?: boolean; scopes?: string[]; adminRole?: boolean; format?: 'jwk' | 'pem'; keyType?: 'rsa' | 'ec' } = {},
  ): { clientId: string; privateKey: string; kid: string } {
    const { privateKey, publicKey } =
      o.keyType === 'ec'
        ? crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
        : crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    const clientId = oktaId('0oa');
    const kid = crypto.randomBytes(12).toString('base64url');
    this.serviceApps.set(clientId, {
      clientId,
      keys: new Map([[kid, publicKey]]),
      scopes: new Set(o.scopes ?? ALL_SCOPES),
      adminRole: o.adminRole ?? true,
      dpop: o.dpop ?? true,
    });
    const text =
      o.format === 'pem'
        ? (privateKey.export({ type: 'pkcs8', format: 'pem' }) as string)
        : JSON.stringify({ ...(privateKey.export({ format: 'jwk' }) as Obj), kid });
    return { clientId, privateKey: text, kid };
  }

  /** The next `n` Management API calls (or token requests) answer this status (an outage). */
  failNext(n: number, status: number, at: 'api' | 'token' = 'api'): void {
    for (let i = 0; i < n; i++) (at === 'api' ? this.failures : this.tokenFailures).push(status);
  }

  /** Every answer a redirect elsewhere (a URL that is not the org's). */
  redirect = false;

  /** Registers another public key on a service app. */
  addAppKey(clientId: string, publicKey: crypto.KeyObject | JWK, kid: string): void {
    const key =
      publicKey instanceof crypto.KeyObject
        ? publicKey
        : crypto.createPublicKey({ key: publicKey as crypto.JsonWebKey, format: 'jwk' });
    this.serviceApps.get(clientId)!.keys.set(kid, key);
  }

  /** Another client of the org uses up a bucket's window (`/api/v1/users`, `/api/v1/groups/{id}` …). */
  useUp(bucket: string): void {
    const b = BUCKETS.find(([, name]) => name === bucket)!;
    this.counts.set(bucket, {
      window: Math.floor(Date.now() / this.rateWindowMs),
      n: Math.round(b[2] * this.rateScale),
    });
  }

  /** Expires every token issued so far (as an hour passing would). */
  expireTokens(): void {
    for (const t of this.tokens.values()) t.expires = 0;
  }

  // ---- the org -------------------------------------------------------------------------------

  addUser(
    p: Partial<FakeOktaUser['profile']> & { login: string },
    o: { status?: string; event?: boolean } = {},
  ): FakeOktaUser {
    const now = new Date().toISOString();
    const local = p.login.split('@')[0];
    const u: FakeOktaUser = {
      id: oktaId('00u'),
      status: o.status ?? 'ACTIVE',
      transitioningToStatus: null,
      created: now,
      activated: o.status === 'STAGED' ? null : now,
      statusChanged: now,
      lastLogin: null,
      lastUpdated: now,
      passwordChanged: null,
      type: { id: 'oty1defaultusertype' },
      profile: { firstName: local, lastName: 'Example', email: p.login, mobilePhone: null, secondEmail: null, ...p },
    };
    this.users.set(u.id, u);
    this.everyone.members.add(u.id);
    if (o.event !== false) this.log('user.lifecycle.create', [this.userTarget(u)]);
    return u;
  }

  updateProfile(id: string, change: Obj, o: { event?: boolean } = {}): void {
    const u = this.users.get(id)!;
    Object.assign(u.profile, change);
    u.lastUpdated = new Date().toISOString();
    if (o.event !== false) this.log('user.account.update_profile', [this.userTarget(u)]);
  }

  /** Moves a user to a status, with the lifecycle event Okta logs; deactivation ends its app assignments. */
  setStatus(id: string, status: string): void {
    const u = this.users.get(id)!;
    const type =
      status === 'SUSPENDED'
        ? 'user.lifecycle.suspend'
        : status === 'DEPROVISIONED'
          ? 'user.lifecycle.deactivate'
          : status === 'LOCKED_OUT'
            ? 'user.account.lock'
            : u.status === 'SUSPENDED'
              ? 'user.lifecycle.unsuspend'
              : u.status === 'LOCKED_OUT'
                ? 'user.account.unlock'
                : 'user.lifecycle.activate';
    u.status = status;
    u.statusChanged = u.lastUpdated = new Date().toISOString();
    if (status === 'DEPROVISIONED') for (const app of this.apps.values()) app.users.delete(id);
    this.log(type, [this.userTarget(u)]);
  }

  /** Deletes a user (Okta deletes only a deactivated user): gone everywhere. */
  deleteUser(id: string): void {
    const u = this.users.get(id)!;
    if (u.status !== 'DEPROVISIONED') throw new Error('Okta deletes only deactivated users: deactivate it first');
    this.users.delete(id);
    for (const g of this.groups.values()) g.members.delete(id);
    for (const app of this.apps.values()) app.users.delete(id);
    this.log('user.lifecycle.delete.initiated', [this.userTarget(u)]);
  }

  addGroup(
    name: string,
    o: { type?: FakeOktaGroup['type']; event?: boolean; description?: string } = {},
  ): FakeOktaGroup {
    const now = new Date().toISOString();
    const g: FakeOktaGroup = {
      id: oktaId('00g'),
      type: o.type ?? 'OKTA_GROUP',
      created: now,
      lastUpdated: now,
      lastMembershipUpdated: now,
      profile: { name, description: o.description ?? null },
      members: new Set(),
    };
    this.groups.set(g.id, g);
    if (o.event !== false) this.log('group.lifecycle.create', [this.groupTarget(g)]);
    return g;
  }

  renameGroup(id: string, name: string): void {
    const g = this.groups.get(id)!;
    g.profile.name = name;
    g.lastUpdated = new Date().toISOString();
    this.log('group.profile.update', [this.groupTarget(g)]);
  }

  deleteGroup(id: string): void {
    const g = this.groups.get(id)!;
    this.groups.delete(id);
    for (const app of this.apps.values())
      if (app.groups.delete(id)) for (const u of g.members) this.refreshAppUser(app, u);
    this.log('group.lifecycle.delete', [this.groupTarget(g)]);
  }

  addMember(groupId: string, userId: string, o: { event?: boolean } = {}): void {
    const g = this.groups.get(groupId)!;
    g.members.add(userId);
    g.lastMembershipUpdated = new Date().toISOString();
    if (o.event !== false)
      this.log('group.user_membership.add', [this.userTarget(this.users.get(userId)!), this.groupTarget(g)]);
    for (const app of this.apps.values()) if (app.groups.has(groupId)) this.refreshAppUser(app, userId);
  }

  removeMember(groupId: string, userId: string): void {
    const g = this.groups.get(groupId)!;
    g.members.delete(userId);
    g.lastMembershipUpdated = new Date().toISOString();
    this.log('group.user_membership.remove', [this.userTarget(this.users.get(userId)!), this.groupTarget(g)]);
    for (const app of this.apps.values()) if (app.groups.has(groupId)) this.refreshAppUser(app, userId);
  }

  addApp(label: string): FakeOktaApp {
    const app: FakeOktaApp = { id: oktaId('0oa'), label, users: new Map(), groups: new Set() };
    this.apps.set(app.id, app);
    return app;
  }

  assignUser(appId: string, userId: string): void {
    const app = this.apps.get(appId)!;
    app.users.set(userId, 'USER');
    this.log('application.user_membership.add', [this.userTarget(this.users.get(userId)!), this.appTarget(app)]);
  }

  unassignUser(appId: string, userId: string): void {
    const app = this.apps.get(appId)!;
    app.users.delete(userId);
    this.refreshAppUser(app, userId);
    if (!app.users.has(userId))
      this.log('application.user_membership.remove', [this.userTarget(this.users.get(userId)!), this.appTarget(app)]);
  }

  /** Assigns a group to an app: its members are assigned through it. */
  assignGroup(appId: string, groupId: string): void {
    const app = this.apps.get(appId)!;
    app.groups.add(groupId);
    for (const u of this.groups.get(groupId)!.members) this.refreshAppUser(app, u);
  }

  unassignGroup(appId: string, groupId: string): void {
    const app = this.apps.get(appId)!;
    app.groups.delete(groupId);
    for (const u of this.groups.get(groupId)!.members) this.refreshAppUser(app, u);
  }

  /** A user's assignment after a group change: direct stays; through a group while in one; else none. */
  private refreshAppUser(app: FakeOktaApp, userId: string): void {
    const before = app.users.get(userId);
    if (before === 'USER') return;
    const user = this.users.get(userId);
    const viaGroup =
      user?.status !== 'DEPROVISIONED' && [...app.groups].some((g) => this.groups.get(g)?.members.has(userId));
    if (viaGroup && !before) {
      app.users.set(userId, 'GROUP');
      if (user) this.log('application.user_membership.add', [this.userTarget(user), this.appTarget(app)]);
    } else if (!viaGroup && before) {
      app.users.delete(userId);
      if (user) this.log('application.user_membership.remove', [this.userTarget(user), this.appTarget(app)]);
    }
  }

  /** Records a System Log event now (or at `at`). */
  log(eventType: string, target: Obj[], at = new Date(), result = 'SUCCESS'): Obj {
    const e = {
      uuid: crypto.randomUUID(),
      published: at.toISOString(),
      eventType,
      version: '0',
      severity: 'INFO',
      legacyEventType: null,
      displayMessage: eventType,
      actor: { id: '00uadmin0000000000', type: 'User', alternateId: 'admin@example.com', displayName: 'Admin' },
      client: null,
      outcome: { result, reason: null },
      target,
      transaction: { type: 'WEB', id: crypto.randomBytes(8).toString('hex') },
      debugContext: { debugData: {} },
    };
    this.logs.push(e);
    return e;
  }

  private userTarget(u: FakeOktaUser): Obj {
    return {
      id: u.id,
      type: 'User',
      alternateId: u.profile.login,
      displayName: `${u.profile.firstName} ${u.profile.lastName}`,
    };
  }
  private groupTarget(g: FakeOktaGroup): Obj {
    return { id: g.id, type: 'UserGroup', alternateId: 'unknown', displayName: g.profile.name };
  }
  private appTarget(a: FakeOktaApp): Obj {
    return { id: a.id, type: 'AppInstance', alternateId: a.label, displayName: a.label };
  }

  // ---- HTTP ----------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? '/', this.url);
    let status = 200;
    let body: unknown;
    let headers: Record<string, string> = {};
    this.inFlight++;
    try {
      const over = this.inFlight > this.maxConcurrent;
      const bucket = BUCKETS.find(([re]) => re.test(url.pathname));
      if (!bucket || !['GET', 'POST'].includes(req.method ?? '')) {
        this.unrouted.push(`${req.method} ${url.pathname}`);
        throw notFound(url.pathname);
      }
      headers = this.count(bucket, over);
      if (this.redirect) throw new OktaHttpError(302, undefined, { location: 'https://login.example.net/' });
      if (req.method === 'POST' && url.pathname === '/oauth2/v1/token') {
        const failure = this.tokenFailures.shift();
        if (failure) throw oktaError(failure, 'E0000009', 'Internal Server Error');
        ({ body, headers } = await this.token(req, Buffer.concat(chunks).toString('utf8'), headers));
      } else if (req.method === 'GET' && url.pathname.startsWith('/api/v1/')) {
        const scopes = await this.authorize(req, url);
        const failure = this.failures.shift();
        if (failure) throw oktaError(failure, 'E0000009', 'Internal Server Error');
        const answer = this.api(url, scopes);
        body = answer.body;
        headers = { ...headers, ...answer.headers };
      } else {
        this.unrouted.push(`${req.method} ${url.pathname}`);
        throw notFound(url.pathname);
      }
    } catch (err) {
      if (!(err instanceof OktaHttpError)) throw err;
      [status, body] = [err.status, err.body];
      headers = { ...headers, ...err.headers };
    } finally {
      this.inFlight--;
    }
    const call = {
      method: req.method ?? '',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      status,
      at: Date.now(),
    };
    this.calls.push(call);
    this.afterCall?.(call);
    res.writeHead(status, { 'content-type': 'application/json', date: new Date().toUTCString(), ...headers });
    res.end(body === undefined ? '' : JSON.stringify(body));
  }

  /** Counts a request against its bucket: the rate-limit headers, or 429 E0000047 over the limit or the concurrency. */
  private count([, name, perMinute]: [RegExp, string, number], overConcurrency: boolean): Record<string, string> {
    const limit = Math.round(perMinute * this.rateScale);
    const window = Math.floor(Date.now() / this.rateWindowMs);
    const c = this.counts.get(name);
    const n = c && c.window === window ? c.n + 1 : 1;
    this.counts.set(name, { window, n });
    const headers = {
      'x-rate-limit-limit': String(limit),
      'x-rate-limit-remaining': String(Math.max(0, limit - n)),
      'x-rate-limit-reset': String(Math.ceil(((window + 1) * this.rateWindowMs) / 1000)),
    };
    if (n > limit || overConcurrency) {
      const e = oktaError(429, 'E0000047', 'API call exceeded rate limit due to too many requests.');
      throw new OktaHttpError(429, e.body, headers);
    }
    return headers;
  }

  // ---- token endpoint ------------------------------------------------------------------------

  private async token(req: IncomingMessage, raw: string, rate: Record<string, string>) {
    const form = new URLSearchParams(raw);
    const oauth = (status: number, error: string, description: string, headers: Record<string, string> = {}) =>
      new OktaHttpError(status, { error, error_description: description }, headers);
    if (form.get('grant_type') !== 'client_credentials')
      throw oauth(
        400,
        'unsupported_grant_type',
        'The authorization grant type is not supported by the authorization server.',
      );
    if (form.get('client_assertion_type') !== ASSERTION_TYPE || !form.get('client_assertion'))
      throw oauth(
        401,
        'invalid_client',
        'Client authentication failed. Either the client or the client credentials are invalid.',
      );
    const assertion = form.get('client_assertion')!;
    const tokenUrl = `${this.url}/oauth2/v1/token`;
    let clientId: string;
    try {
      const header = decodeProtectedHeader(assertion);
      const claims = JSON.parse(Buffer.from(assertion.split('.')[1], 'base64url').toString('utf8')) as Obj;
      clientId = String(claims.iss);
      const app = this.serviceApps.get(clientId);
      if (!app) throw oauth(401, 'invalid_client', 'The client_id is not valid.');
      const key = header.kid
        ? app.keys.get(String(header.kid))
        : app.keys.size === 1
          ? [...app.keys.values()][0]
          : undefined;
      if (!key)
        throw oauth(
          401,
          'invalid_client',
          'The client_assertion token has a kid which does not identify a JWK in the client JWKS.',
        );
      const { payload } = await jwtVerify(assertion, key, {
        audience: tokenUrl,
        issuer: clientId,
        subject: clientId,
      }).catch((e: Error) => {
        throw oauth(401, 'invalid_client', `The client_assertion token is invalid: ${e.message}`);
      });
      if (!payload.exp || payload.exp - Math.floor(Date.now() / 1000) > 3600)
        throw oauth(401, 'invalid_client', 'The client_assertion token has an expiration too far in the future.');
      if (payload.jti && this.usedJti.has(payload.jti))
        throw oauth(401, 'invalid_client', 'The client_assertion token has already been used.');
      if (payload.jti) this.usedJti.add(payload.jti);
    } catch (err) {
      if (err instanceof OktaHttpError) throw err;
      throw oauth(401, 'invalid_client', 'The client_assertion token is malformed.');
    }
    const app = this.serviceApps.get(clientId)!;
    const asked = (form.get('scope') ?? '').split(' ').filter(Boolean);
    const refused = asked.filter((s) => !app.scopes.has(s));
    if (!asked.length || refused.length)
      throw oauth(
        400,
        'invalid_scope',
        `The following scopes were requested, but not granted to the client: ${refused.join(' ')}`,
      );
    let jkt: string | undefined;
    if (app.dpop) {
      const proof = req.headers.dpop;
      if (typeof proof !== 'string') throw oauth(400, 'invalid_dpop_proof', 'The DPoP proof JWT header is missing.');
      const checked = await this.checkProof(proof, 'POST', tokenUrl);
      if (typeof checked === 'string') throw oauth(400, 'invalid_dpop_proof', checked);
      if (checked.nonce !== this.nonce)
        throw oauth(400, 'use_dpop_nonce', 'Authorization server requires nonce in DPoP proof.', {
          'dpop-nonce': this.nonce,
        });
      jkt = checked.jkt;
    }
    const value = crypto.randomBytes(32).toString('base64url');
    this.tokens.set(value, {
      clientId,
      scopes: new Set(asked),
      expires: Date.now() + this.tokenLifetime * 1000,
      ...(jkt ? { jkt } : {}),
    });
    return {
      body: {
        token_type: jkt ? 'DPoP' : 'Bearer',
        expires_in: this.tokenLifetime,
        access_token: value,
        scope: asked.join(' '),
      },
      headers: rate,
    };
  }

  /** A DPoP proof's claims checked (RFC 9449): the key's thumbprint and nonce, or why it is refused. */
  private async checkProof(
    proof: string,
    htm: string,
    htu: string,
    ath?: string,
  ): Promise<{ jkt: string; nonce?: string } | string> {
    try {
      const header = decodeProtectedHeader(proof);
      if (header.typ !== 'dpop+jwt' || !header.jwk) return "The DPoP proof's typ or jwk header is wrong.";
      const { payload } = await jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt' });
      if (payload.htm !== htm || payload.htu !== htu) return "The DPoP proof's htm or htu does not match the request.";
      if (!payload.iat || Math.abs(payload.iat - Date.now() / 1000) > 60) return "The DPoP proof's iat is not recent.";
      if (!payload.jti || this.usedJti.has(payload.jti)) return 'The DPoP proof has no jti or it was used already.';
      this.usedJti.add(payload.jti);
      if (ath !== undefined && payload.ath !== ath) return "The DPoP proof's ath does not match the access token.";
      return {
        jkt: await calculateJwkThumbprint(header.jwk),
        ...(typeof payload.nonce === 'string' ? { nonce: payload.nonce } : {}),
      };
    } catch (e) {
      return `The DPoP proof is invalid: ${(e as Error).message}`;
    }
  }

  // ---- the Management API --------------------------------------------------------------------

  private async authorize(req: IncomingMessage, url: URL): Promise<Set<string>> {
    const auth = req.headers.authorization ?? '';
    const unauthorized = () => oktaError(401, 'E0000011', 'Invalid token provided');
    const [scheme, value] = [auth.split(' ')[0], auth.slice(auth.indexOf(' ') + 1)];
    if (scheme === 'SSWS') {
      const t = this.apiTokens.get(value);
      if (!t) throw unauthorized();
      if (!t.admin) throw oktaError(403, 'E0000006', 'You do not have permission to perform the requested action');
      return new Set(ALL_SCOPES);
    }
    const t = this.tokens.get(value);
    if (!t || t.expires <= Date.now() || (scheme !== 'Bearer' && scheme !== 'DPoP')) throw unauthorized();
    if (t.jkt) {
      if (scheme !== 'DPoP') throw unauthorized();
      const ath = crypto.createHash('sha256').update(value).digest('base64url');
      const proof = req.headers.dpop;
      const checked =
        typeof proof === 'string'
          ? await this.checkProof(proof, 'GET', `${url.origin}${url.pathname}`, ath)
          : 'missing';
      if (typeof checked === 'string' || checked.jkt !== t.jkt)
        throw new OktaHttpError(401, undefined, {
          'www-authenticate': 'DPoP error="invalid_dpop_proof", error_description="The DPoP proof is invalid."',
        });
    } else if (scheme !== 'Bearer') throw unauthorized();
    if (!this.serviceApps.get(t.clientId)?.adminRole)
      throw oktaError(403, 'E0000006', 'You do not have permission to perform the requested action');
    return t.scopes;
  }

  private api(url: URL, scopes: Set<string>): { body: unknown; headers: Record<string, string> } {
    const p = url.pathname;
    const q = url.searchParams;
    const need = (scope: string) => {
      if (!scopes.has(scope))
        throw new OktaHttpError(403, undefined, {
          'www-authenticate': `Bearer authorization_uri="${this.url}/oauth2/v1/authorize", realm="${this.url}", scope="${scope}", error="insufficient_scope", error_description="The access token provided does not contain the required scopes.", resource="${p}"`,
        });
    };
    const only = (...names: string[]) => {
      const extra = [...q.keys()].filter((k) => !names.includes(k));
      if (extra.length) {
        this.unrouted.push(`GET ${p}?${extra.join('&')}`);
        throw invalid(`unknown parameter ${extra.join(', ')}`);
      }
    };
    let m: RegExpExecArray | null;
    if (p === '/api/v1/users') {
      need('okta.users.read');
      only('limit', 'after', 'filter');
      const filter = q.get('filter');
      const match = filter ? parseFilter(filter, USER_FILTER) : (u: Obj) => u.status !== 'DEPROVISIONED';
      const listed = () => [...this.users.values()].filter((u) => match(u as unknown as Obj));
      return this.page(url, listed, 200, 200, false, (u) => userJson(u as FakeOktaUser, this.url));
    }
    if ((m = /^\/api\/v1\/users\/([^/]+)$/.exec(p))) {
      need('okta.users.read');
      only();
      const key = decodeURIComponent(m[1]);
      const u =
        this.users.get(key) ??
        [...this.users.values()].find((x) => x.profile.login.toLowerCase() === key.toLowerCase());
      if (!u) throw notFound(key);
      return { body: userJson(u, this.url), headers: {} };
    }
    if ((m = /^\/api\/v1\/users\/([^/]+)\/groups$/.exec(p))) {
      need('okta.users.read');
      only('limit', 'after');
      const id = decodeURIComponent(m[1]);
      if (!this.users.has(id)) throw notFound(id);
      const list = [...this.groups.values()].filter((g) => g.members.has(id));
      return this.page(
        url,
        list.map((g) => groupJson(g, this.url)),
        10_000,
        10_000,
      );
    }
    if (p === '/api/v1/groups') {
      need('okta.groups.read');
      only('limit', 'after', 'q', 'filter');
      let list = [...this.groups.values()];
      const qText = q.get('q');
      if (qText !== null) {
        if (q.has('after')) throw invalid('after: a q search is not pageable');
        list = list.filter((g) => g.profile.name.toLowerCase().startsWith(qText.toLowerCase())).slice(0, 300);
        return { body: list.map((g) => groupJson(g, this.url)), headers: { link: `<${url.toString()}>; rel="self"` } };
      }
      const filter = q.get('filter');
      if (filter) {
        const match = parseFilter(filter, GROUP_FILTER);
        list = list.filter((g) => match(g as unknown as Obj));
      }
      return this.page(
        url,
        list.map((g) => groupJson(g, this.url)),
        10_000,
        10_000,
      );
    }
    if ((m = /^\/api\/v1\/groups\/([^/]+)$/.exec(p))) {
      need('okta.groups.read');
      only();
      const g = this.groups.get(decodeURIComponent(m[1]));
      if (!g) throw notFound(m[1]);
      return { body: groupJson(g, this.url), headers: {} };
    }
    if ((m = /^\/api\/v1\/groups\/([^/]+)\/users$/.exec(p))) {
      need('okta.groups.read');
      only('limit', 'after');
      const g = this.groups.get(decodeURIComponent(m[1]));
      if (!g) throw notFound(m[1]);
      const list = [...g.members].map((id) => this.users.get(id)).filter((u): u is FakeOktaUser => !!u);
      return this.page(
        url,
        list.map((u) => userJson(u, this.url)),
        10_000,
        1000,
      );
    }
    if ((m = /^\/api\/v1\/apps\/([^/]+)\/users$/.exec(p))) {
      need('okta.apps.read');
      only('limit', 'after', 'expand');
      const app = this.apps.get(decodeURIComponent(m[1]));
      if (!app) throw notFound(m[1]);
      const expand = q.get('expand');
      if (expand !== null && expand !== 'user') throw invalid(`expand: ${expand}`);
      const list = [...app.users].map(([id, scope]) => this.appUserJson(app, id, scope, expand === 'user'));
      return this.page(url, list, 500, 50);
    }
    if ((m = /^\/api\/v1\/apps\/([^/]+)\/users\/([^/]+)$/.exec(p))) {
      need('okta.apps.read');
      only();
      const app = this.apps.get(decodeURIComponent(m[1]));
      if (!app) throw notFound(m[1]);
      const scope = app.users.get(decodeURIComponent(m[2]));
      if (!scope) throw notFound(m[2]);
      return { body: this.appUserJson(app, decodeURIComponent(m[2]), scope, false), headers: {} };
    }
    if ((m = /^\/api\/v1\/apps\/([^/]+)\/groups$/.exec(p))) {
      need('okta.apps.read');
      only('limit', 'after');
      const app = this.apps.get(decodeURIComponent(m[1]));
      if (!app) throw notFound(m[1]);
      const list = [...app.groups].map((id) => ({
        id,
        priority: 0,
        lastUpdated: new Date().toISOString(),
        profile: {},
      }));
      return this.page(url, list, 200, 20);
    }
    if (p === '/api/v1/logs') {
      need('okta.logs.read');
      only('since', 'until', 'filter', 'limit', 'after', 'sortOrder');
      return this.logPage(url);
    }
    this.unrouted.push(`GET ${p}`);
    throw notFound(p);
  }

  private appUserJson(app: FakeOktaApp, id: string, scope: string, expand: boolean): Obj {
    const u = this.users.get(id)!;
    return {
      id,
      externalId: null,
      created: u.created,
      lastUpdated: u.lastUpdated,
      scope,
      status: 'PROVISIONED',
      syncState: 'DISABLED',
      credentials: { userName: u.profile.login },
      profile: {},
      _links: { app: { href: `${this.url}/api/v1/apps/${app.id}` }, user: { href: `${this.url}/api/v1/users/${id}` } },
      ...(expand ? { _embedded: { user: userJson(u, this.url) } } : {}),
    };
  }

  /** The System Log: `since`/`until` (90 days at most back), `filter`, ascending by default; without `until`, a polling request (always a next link). */
  private logPage(url: URL) {
    const q = url.searchParams;
    const now = Date.now();
    const parse = (name: string, dflt: number) => {
      const v = q.get(name);
      if (v === null) return dflt;
      const t = Date.parse(v);
      if (Number.isNaN(t)) throw invalid(`${name}: ${v} is not a date`);
      return t;
    };
    const until = parse('until', now);
    const since = parse('since', until - 7 * 24 * 3600_000);
    if (since < now - this.retentionMs) throw invalid('since: must be within the last 90 days');
    const order = q.get('sortOrder') ?? 'ASCENDING';
    if (!['ASCENDING', 'DESCENDING'].includes(order)) throw invalid(`sortOrder: ${order}`);
    const filter = q.get('filter');
    const match = filter ? parseFilter(filter, LOG_FILTER) : () => true;
    const visible = now - this.logLagMs;
    let list = this.logs.filter((e) => {
      const t = Date.parse(String(e.published));
      return t >= since && t < until && t <= visible && match(e);
    });
    if (order === 'DESCENDING') list = [...list].reverse();
    return this.page(url, list, 1000, 100, !q.has('until'));
  }

  /** One page of a list: `limit` clamped to the route's maximum, `after` an opaque cursor this fake minted for the same request. */
  private page(
    url: URL,
    listed: unknown[] | (() => unknown[]),
    max: number,
    dflt: number,
    polling = false,
    show: (item: unknown) => unknown = (x) => x,
  ) {
    const q = url.searchParams;
    const limitText = q.get('limit');
    const limit = limitText === null ? dflt : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1) throw invalid(`limit: ${limitText}`);
    const size = Math.min(limit, max);
    const base = new URL(url.toString());
    base.searchParams.delete('after');
    const key = `${base.pathname}?${base.searchParams.toString()}`;
    let offset = 0;
    let list: unknown[] | undefined;
    const after = q.get('after');
    if (after !== null) {
      const c = this.cursors.get(after);
      if (!c || c.key !== key) throw invalid(`after: ${after} is not a cursor of this list`);
      offset = c.offset;
      list = c.list; // the list as it was when paging began (ids after the cursor, as Okta's are)
    }
    list ??= typeof listed === 'function' ? listed() : listed;
    const items = list.slice(offset, offset + size).map(show);
    let link = `<${url.toString()}>; rel="self"`;
    if (offset + size < list.length || polling) {
      const token = crypto.randomBytes(12).toString('base64url');
      this.cursors.set(token, { key, offset: offset + items.length, list });
      const next = new URL(base.toString());
      next.searchParams.set('after', token);
      link += `, <${next.toString()}>; rel="next"`;
    }
    return { body: items, headers: { link } };
  }
}
