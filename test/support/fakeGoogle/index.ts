import crypto from 'node:crypto';
import type https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { selfSignedCert } from '../fakeEntra/cert';
import { closeServer, failOnUnknownCalls, listenHttps } from '../strictFake';
import {
  activity,
  apiError,
  GoogleHttpError,
  groupJson,
  invalid,
  notFound,
  userJson,
  userQuery,
  type FakeGoogleGroup,
  type FakeGoogleUser,
  type Obj,
} from './model';

export type { FakeGoogleGroup, FakeGoogleUser } from './model';

const S = 'https://www.googleapis.com/auth/';
const USER_READ = [`${S}admin.directory.user.readonly`, `${S}admin.directory.user`];
const GROUP_READ = [`${S}admin.directory.group.readonly`, `${S}admin.directory.group`];
const MEMBER_READ = [...GROUP_READ, `${S}admin.directory.group.member.readonly`, `${S}admin.directory.group.member`];
const AUDIT_READ = [`${S}admin.reports.audit.readonly`];
/** The audience Google signs assertions for: google-auth-library always uses it, whatever URL it posts to. */
const AUDIENCE = 'https://oauth2.googleapis.com/token';
/** Parameters every Google API takes (the discovery documents' `parameters`); `fields` is left out: the fake does not filter. */
const SYSTEM_PARAMS = ['$.xgafv', 'alt', 'prettyPrint', 'quotaUser'];
export const CUSTOMER_ID = 'C0fake42x';

interface ServiceAccount {
  clientEmail: string;
  clientId: string;
  publicKey: crypto.KeyObject;
  revoked: boolean;
}
interface Token {
  sub?: string;
  scopes: string[];
  clientId: string;
  expires: number;
}
interface PageCursor {
  key: string;
  offset: number;
  expires: number;
}
export interface GoogleCall {
  method: string;
  path: string;
  query: Record<string, string>;
  status: number;
  sub?: string;
  /** When it was answered (ms since the epoch). */
  at: number;
}

/**
 * A fake Google Workspace over real HTTPS (self-signed certificate), as strict as Google's
 * documentation: the OAuth token endpoint with the JWT-bearer grant (RS256 signatures checked
 * against the service account's key, the audience, a lifetime of at most an hour) and domain-wide
 * delegation (`unauthorized_client` when a scope is not delegated to the client id); the Admin
 * SDK's Directory API (users, groups, members: required parameters, page maxima clamped, opaque
 * page tokens bound to their query and valid three days, projections, the search syntax) and
 * Reports API (admin activity, newest first, `startTime`/`endTime` checked); a token without the
 * method's scope 403 `insufficientPermissions`, a non-admin subject 403 `forbidden`, the per-user
 * quota 403 `userRateLimitExceeded`, the account's concurrency 429. Unknown routes and parameters
 * are answered 400/404 and fail the test at `stop()`.
 */
export class FakeGoogle {
  readonly users = new Map<string, FakeGoogleUser>();
  readonly groups = new Map<string, FakeGoogleGroup>();
  readonly activities: Obj[] = [];
  readonly calls: GoogleCall[] = [];
  /** Bumped by every change to a user (the lookup index follows it). */
  private changes = 0;
  readonly unrouted: string[] = [];
  /** Client id → the scopes delegated to it (Admin console → Security → API controls → Domain-wide delegation). */
  readonly delegation = new Map<string, Set<string>>();
  /** Service accounts whose project has the Admin SDK API turned off. */
  readonly apiDisabled = new Set<string>();
  /** Queries per user per project per quota window: Google's default, 2,400 a minute. */
  queriesPerMinute = 2_400;
  /** The quota's window (a minute at Google; a test may shorten it to see pacing in seconds). */
  quotaWindowMs = 60_000;
  /** Requests of one account at once before 429 rateLimitExceeded. */
  maxConcurrent = Infinity;
  /** A token's lifetime, seconds. */
  tokenLifetime = 3599;
  /** Added to every Directory and Reports answer. */
  latencyMs = 0;
  /** Events younger than this do not show in the Reports API yet (Google: minutes, sometimes more). */
  reportsLagMs = 0;
  url = '';
  readonly certFile: string;
  private readonly accounts = new Map<string, ServiceAccount>();
  private readonly tokens = new Map<string, Token>();
  private readonly cursors = new Map<string, PageCursor>();
  private readonly recent = new Map<string, number[]>();
  private inFlight = 0;
  private failures: Array<{ status: number; reason: string; message: string }> = [];
  private server?: https.Server;
  private readonly tls: { key: string; cert: string };

  constructor() {
    const { key, cert, certFile } = selfSignedCert();
    this.tls = { key, cert };
    this.certFile = certFile;
  }

  async start(): Promise<this> {
    ({ server: this.server, url: this.url } = await listenHttps(this.tls, (req, res) => void this.handle(req, res)));
    return this;
  }

  /** Stops; a call on a route or with a parameter the fake does not know fails the test here. */
  async stop(): Promise<void> {
    await closeServer(this.server);
    failOnUnknownCalls('Google', this.unrouted);
  }

  /** Where the app sends token requests (GOOGLE_TOKEN_URL) and Admin SDK calls (GOOGLE_API_URL). */
  get tokenUrl(): string {
    return `${this.url}/token`;
  }

  // ---- the account ---------------------------------------------------------------------------

  /** A new service account: its JSON key as Google Cloud's console downloads it. */
  addServiceAccount(name = 'idp-sync'): { key: string; clientEmail: string; clientId: string } {
    const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    const clientId = String(100_000_000_000_000_000_000n + BigInt(this.accounts.size + 1));
    const clientEmail = `${name}-${this.accounts.size + 1}@sync-project.iam.gserviceaccount.com`;
    this.accounts.set(clientEmail, { clientEmail, clientId, publicKey, revoked: false });
    const key = JSON.stringify({
      type: 'service_account',
      project_id: 'sync-project',
      private_key_id: crypto.randomBytes(20).toString('hex'),
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }),
      client_email: clientEmail,
      client_id: clientId,
      auth_uri: 'https://accounts.google.com/o/oauth2/auth',
      token_uri: 'https://oauth2.googleapis.com/token',
    });
    return { key, clientEmail, clientId };
  }

  /** Grants (or replaces) a client id's delegated scopes. */
  delegate(clientId: string, scopes: readonly string[]): void {
    this.delegation.set(clientId, new Set(scopes));
  }

  /** The key is deleted in Google Cloud: its signatures no longer verify. */
  revokeKey(clientEmail: string): void {
    this.accounts.get(clientEmail)!.revoked = true;
  }

  /** The next `n` Directory or Reports calls answer this error (a quota, an outage). */
  failNext(n: number, status: number, reason: string, message = reason): void {
    for (let i = 0; i < n; i++) this.failures.push({ status, reason, message });
  }

  // ---- the directory -------------------------------------------------------------------------

  addUser(u: Partial<FakeGoogleUser> & { primaryEmail: string }, opts: { event?: boolean } = {}): FakeGoogleUser {
    const local = u.primaryEmail.split('@')[0];
    const user: FakeGoogleUser = {
      id: String(100_000_000_000_000_000_000n + BigInt(crypto.randomInt(1, 2 ** 47))),
      name: { givenName: local, familyName: 'Example', fullName: `${local} Example` },
      suspended: false,
      archived: false,
      isAdmin: false,
      isDelegatedAdmin: false,
      orgUnitPath: '/',
      aliases: [],
      externalIds: [],
      organizations: [],
      customSchemas: {},
      creationTime: new Date().toISOString(),
      ...u,
    };
    this.users.set(user.id, user);
    if (opts.event !== false) this.event('USER_SETTINGS', 'CREATE_USER', { USER_EMAIL: user.primaryEmail });
    return user;
  }

  /** Changes a user, with the Admin console's event (unless `event` is false: Google sometimes never reports one). */
  updateUser(id: string, change: Partial<FakeGoogleUser>, eventName = 'CHANGE_FIRST_NAME', event = true): void {
    this.changes++;
    const u = this.users.get(id)!;
    const before = u.primaryEmail;
    Object.assign(u, change);
    if (!event) return;
    const params: Record<string, string> = { USER_EMAIL: before };
    if (eventName === 'RENAME_USER') params.NEW_VALUE = u.primaryEmail;
    if (eventName === 'CHANGE_USER_ORGANIZATION') params.NEW_VALUE = u.orgUnitPath;
    this.event('USER_SETTINGS', eventName, params);
  }

  /** Deletes a user: gone from lists and gets, listed with `showDeleted=true`, out of every group. */
  deleteUser(id: string): void {
    this.changes++;
    const u = this.users.get(id)!;
    u.deletionTime = new Date().toISOString();
    for (const g of this.groups.values()) g.members.delete(id);
    this.event('USER_SETTINGS', 'DELETE_USER', { USER_EMAIL: u.primaryEmail });
  }

  addGroup(name: string, email = `${name.toLowerCase().replace(/\W+/g, '-')}@example.com`): FakeGoogleGroup {
    const g: FakeGoogleGroup = {
      id: crypto.randomBytes(8).toString('hex').replace(/^./, '0'),
      email,
      name,
      description: '',
      aliases: [],
      members: new Map(),
    };
    this.groups.set(g.id, g);
    this.event('GROUP_SETTINGS', 'CREATE_GROUP', { GROUP_EMAIL: email });
    return g;
  }

  addMember(groupId: string, memberId: string, event = true): void {
    const g = this.groups.get(groupId)!;
    const isGroup = this.groups.has(memberId);
    g.members.set(memberId, { type: isGroup ? 'GROUP' : 'USER', role: 'MEMBER' });
    if (event)
      this.event('GROUP_SETTINGS', 'ADD_GROUP_MEMBER', { GROUP_EMAIL: g.email, USER_EMAIL: this.emailOf(memberId) });
  }

  removeMember(groupId: string, memberId: string): void {
    const g = this.groups.get(groupId)!;
    g.members.delete(memberId);
    this.event('GROUP_SETTINGS', 'REMOVE_GROUP_MEMBER', { GROUP_EMAIL: g.email, USER_EMAIL: this.emailOf(memberId) });
  }

  renameGroup(groupId: string, name: string): void {
    const g = this.groups.get(groupId)!;
    g.name = name;
    this.event('GROUP_SETTINGS', 'CHANGE_GROUP_NAME', { GROUP_EMAIL: g.email, NEW_VALUE: name });
  }

  deleteGroup(groupId: string): void {
    const g = this.groups.get(groupId)!;
    this.groups.delete(groupId);
    for (const other of this.groups.values()) other.members.delete(groupId);
    this.event('GROUP_SETTINGS', 'DELETE_GROUP', { GROUP_EMAIL: g.email });
  }

  /** Records an Admin console event now (or at `at`). */
  event(type: 'USER_SETTINGS' | 'GROUP_SETTINGS', name: string, params: Record<string, string>, at = new Date()): void {
    this.activities.push(activity(type, name, params, at));
  }

  private emailOf(id: string): string {
    return this.users.get(id)?.primaryEmail ?? this.groups.get(id)?.email ?? id;
  }

  // ---- HTTP ----------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? '/', this.url);
    const query = Object.fromEntries(url.searchParams);
    let status = 200;
    let body: unknown;
    let headers: Record<string, string> = {};
    let sub: string | undefined;
    const api = url.pathname.startsWith('/admin/');
    if (api) this.inFlight++;
    try {
      if (req.method === 'POST' && url.pathname === '/token') body = this.token(Buffer.concat(chunks).toString('utf8'));
      else if (api && req.method === 'GET') {
        const token = this.authorize(req.headers.authorization);
        sub = token.sub;
        if (this.latencyMs) await new Promise((r) => setTimeout(r, this.latencyMs));
        body = this.api(token, url.pathname, url.searchParams);
      } else {
        this.unrouted.push(`${req.method} ${url.pathname}`);
        throw notFound(url.pathname);
      }
    } catch (err) {
      if (!(err instanceof GoogleHttpError)) throw err;
      [status, body, headers] = [err.status, err.body, err.headers];
    } finally {
      if (api) this.inFlight--;
    }
    const call = {
      method: req.method ?? '',
      path: url.pathname,
      query,
      status,
      at: Date.now(),
      ...(sub ? { sub } : {}),
    };
    this.calls.push(call);
    this.afterCall?.(call);
    res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', ...headers });
    res.end(JSON.stringify(body));
  }

  // ---- token endpoint ------------------------------------------------------------------------

  private token(raw: string): Obj {
    const form = new URLSearchParams(raw);
    const oauth = (status: number, error: string, description: string) =>
      new GoogleHttpError(status, { error, error_description: description });
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer')
      throw oauth(400, 'unsupported_grant_type', 'Invalid grant_type: ' + (form.get('grant_type') ?? ''));
    const parts = (form.get('assertion') ?? '').split('.');
    if (parts.length !== 3) throw oauth(400, 'invalid_grant', 'Invalid JWT: Malformed.');
    let claims: Obj;
    let header: Obj;
    try {
      header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8')) as Obj;
      claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as Obj;
    } catch {
      throw oauth(400, 'invalid_grant', 'Invalid JWT: Malformed.');
    }
    const account = this.accounts.get(String(claims.iss));
    const signed = Buffer.from(`${parts[0]}.${parts[1]}`);
    if (
      header.alg !== 'RS256' ||
      !account ||
      account.revoked ||
      !crypto.verify('RSA-SHA256', signed, account.publicKey, Buffer.from(parts[2], 'base64url'))
    )
      throw oauth(400, 'invalid_grant', 'Invalid JWT Signature.');
    if (claims.aud !== AUDIENCE) throw oauth(400, 'invalid_grant', 'Invalid JWT: Failed audience check.');
    const now = Math.floor(Date.now() / 1000);
    const [iat, exp] = [Number(claims.iat), Number(claims.exp)];
    if (!(exp - iat <= 3600) || iat > now + 300 || exp < now)
      throw oauth(
        400,
        'invalid_grant',
        'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.',
      );
    const scopes = (typeof claims.scope === 'string' ? claims.scope : '').split(' ').filter(Boolean);
    if (scopes.length === 0) throw oauth(400, 'invalid_scope', 'Empty or missing scope not allowed.');
    const sub = typeof claims.sub === 'string' ? claims.sub : undefined;
    if (sub) {
      if (!this.findUser(sub)) throw oauth(400, 'invalid_grant', 'Invalid email or User ID');
      const granted = this.delegation.get(account.clientId);
      if (!granted || !scopes.every((s) => granted.has(s)))
        throw oauth(
          401,
          'unauthorized_client',
          'Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.',
        );
    }
    const accessToken = `ya29.${crypto.randomBytes(24).toString('base64url')}`;
    this.lastToken = accessToken;
    this.tokens.set(accessToken, {
      sub,
      scopes,
      clientId: account.clientId,
      expires: Date.now() + this.tokenLifetime * 1000,
    });
    return { access_token: accessToken, expires_in: this.tokenLifetime, token_type: 'Bearer' };
  }

  /** Called after each answer (a test changes the directory while a read goes on). */
  afterCall?: (call: GoogleCall) => void;

  /** The last access token issued (the benchmark calls with it directly). */
  lastToken?: string;

  /** Every token issued so far expires now (a long read must sign a new one). */
  expireTokens(): void {
    for (const t of this.tokens.values()) t.expires = 0;
  }

  private authorize(header: string | undefined): Token {
    const t = header?.startsWith('Bearer ') ? this.tokens.get(header.slice(7)) : undefined;
    if (!t || t.expires <= Date.now())
      throw apiError(
        401,
        'authError',
        'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
        { 'www-authenticate': 'Bearer realm="https://accounts.google.com/"' },
        'UNAUTHENTICATED',
      );
    return t;
  }

  // ---- Admin SDK -----------------------------------------------------------------------------

  private api(token: Token, path: string, q: URLSearchParams): unknown {
    const failure = this.failures.shift();
    if (failure) throw apiError(failure.status, failure.reason, failure.message);
    if (this.apiDisabled.has(token.clientId))
      throw apiError(
        403,
        'accessNotConfigured',
        'Admin SDK API has not been used in project 123456789012 before or it is disabled. Enable it by visiting https://console.developers.google.com/apis/api/admin.googleapis.com/overview?project=123456789012 then retry.',
        {},
        'PERMISSION_DENIED',
      );
    this.throttle(token);
    const p = path.split('/').filter(Boolean).map(decodeURIComponent);
    if (p[1] === 'directory' && p[2] === 'v1') return this.directory(token, p.slice(3), q);
    if (
      p[1] === 'reports' &&
      p[2] === 'v1' &&
      p[3] === 'activity' &&
      p[4] === 'users' &&
      p[6] === 'applications' &&
      p.length === 8
    )
      return this.reports(token, p[5], p[7], q);
    this.unrouted.push(`GET ${path}`);
    throw notFound(path);
  }

  private throttle(token: Token): void {
    if (this.inFlight > this.maxConcurrent)
      throw apiError(429, 'rateLimitExceeded', 'Rate Limit Exceeded', {}, 'RESOURCE_EXHAUSTED');
    if (!Number.isFinite(this.queriesPerMinute)) return;
    const key = `${token.clientId}/${token.sub ?? ''}`;
    const now = Date.now();
    const times = (this.recent.get(key) ?? []).filter((t) => t > now - this.quotaWindowMs);
    if (times.length >= this.queriesPerMinute) {
      this.recent.set(key, times);
      throw apiError(
        403,
        'userRateLimitExceeded',
        "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user' of service 'admin.googleapis.com'.",
      );
    }
    times.push(now);
    this.recent.set(key, times);
  }

  private need(token: Token, accepted: string[]): void {
    if (token.scopes.some((s) => accepted.includes(s))) return;
    throw apiError(
      403,
      'insufficientPermissions',
      'Request had insufficient authentication scopes.',
      {
        'www-authenticate': `Bearer realm="https://accounts.google.com/", error="insufficient_scope", scope="${accepted[0]}"`,
      },
      'PERMISSION_DENIED',
    );
  }

  /** Directory calls act as the delegated admin: none, 400 for my_customer (else 403); a non-admin, 403. */
  private actAsAdmin(token: Token, q: URLSearchParams): void {
    const sub = token.sub && this.findUser(token.sub);
    if (!token.sub && q.get('customer') === 'my_customer') throw invalid();
    if (!sub || !(sub.isAdmin || sub.isDelegatedAdmin))
      throw apiError(403, 'forbidden', 'Not Authorized to access this resource/api');
  }

  private allow(q: URLSearchParams, path: string, names: string[]): void {
    for (const k of q.keys())
      if (!names.includes(k) && !SYSTEM_PARAMS.includes(k)) {
        this.unrouted.push(`GET ${path}?${k}`);
        throw invalid(`Invalid JSON payload received. Unknown name "${k}": Cannot bind query parameter.`);
      }
  }

  private directory(token: Token, p: string[], q: URLSearchParams): unknown {
    const path = `/admin/directory/v1/${p[0]}`;
    if (p[0] === 'users' && p.length <= 2) {
      this.need(token, USER_READ);
      this.actAsAdmin(token, q);
      if (p.length === 1) return this.listUsers(q);
      this.allow(q, `${path}/{userKey}`, ['projection', 'customFieldMask', 'viewType']);
      const u = this.findUser(p[1]);
      if (!u) throw notFound('userKey');
      return userJson(u, this.projection(q), this.mask(q));
    }
    if (p[0] === 'groups' && p.length <= 2) {
      this.need(token, GROUP_READ);
      this.actAsAdmin(token, q);
      if (p.length === 2) {
        this.allow(q, `${path}/{groupKey}`, []);
        return groupJson(this.findGroup(p[1]));
      }
      return this.listGroups(q);
    }
    if (p[0] === 'groups' && p[2] === 'members' && p.length === 3) {
      this.need(token, MEMBER_READ);
      this.actAsAdmin(token, q);
      this.allow(q, `${path}/{groupKey}/members`, ['maxResults', 'pageToken', 'roles', 'includeDerivedMembership']);
      const g = this.findGroup(p[1]);
      const members = [...g.members].map(([id, m]) => ({
        kind: 'admin#directory#member',
        etag: `"${id}"`,
        id,
        email: this.emailOf(id),
        role: m.role,
        type: m.type,
        status: 'ACTIVE',
      }));
      return this.page('admin#directory#members', 'members', members, q, 200, `members/${g.id}`);
    }
    this.unrouted.push(`GET /admin/directory/v1/${p.join('/')}`);
    throw notFound(p.join('/'));
  }

  private listUsers(q: URLSearchParams): unknown {
    this.allow(q, '/admin/directory/v1/users', [
      'customer',
      'domain',
      'query',
      'showDeleted',
      'projection',
      'customFieldMask',
      'viewType',
      'maxResults',
      'pageToken',
      'orderBy',
      'sortOrder',
    ]);
    this.account(q);
    const deleted = q.get('showDeleted') === 'true';
    const matches = userQuery(q.get('query'));
    const domain = q.get('domain');
    const list = [...this.users.values()].filter(
      (u) => !!u.deletionTime === deleted && matches(u) && (!domain || u.primaryEmail.endsWith(`@${domain}`)),
    );
    const [projection, mask] = [this.projection(q), this.mask(q)];
    return this.page('admin#directory#users', 'users', list, q, 500, 'users', (u) => userJson(u, projection, mask));
  }

  private listGroups(q: URLSearchParams): unknown {
    this.allow(q, '/admin/directory/v1/groups', ['customer', 'domain', 'userKey', 'maxResults', 'pageToken']);
    const userKey = q.get('userKey');
    if (!userKey) this.account(q);
    const user = userKey ? this.findUser(userKey) : undefined;
    if (userKey && !user) throw notFound('userKey');
    const list = [...this.groups.values()].filter((g) => !user || g.members.has(user.id));
    return this.page('admin#directory#groups', 'groups', list, q, 200, 'groups', groupJson);
  }

  /** `customer` (my_customer or the account's id) or `domain`: one is required. */
  private account(q: URLSearchParams): void {
    const customer = q.get('customer');
    if (!customer && !q.get('domain')) throw apiError(400, 'badRequest', 'Bad Request');
    if (customer && customer !== 'my_customer' && customer !== CUSTOMER_ID) throw notFound('customer');
  }

  private projection(q: URLSearchParams): string {
    const projection = q.get('projection') ?? 'basic';
    if (!['basic', 'custom', 'full'].includes(projection)) throw invalid(`Invalid value for projection: ${projection}`);
    if (q.get('customFieldMask') && projection !== 'custom')
      throw invalid('customFieldMask is only valid with projection=custom');
    if (projection === 'custom' && !q.get('customFieldMask'))
      throw invalid('customFieldMask is required with projection=custom');
    return projection;
  }

  private mask(q: URLSearchParams): string[] {
    return (q.get('customFieldMask') ?? '').split(',').filter(Boolean);
  }

  /** One page of a list: `maxResults` clamped to the maximum, an opaque token bound to the query, valid three days. */
  private page<T>(
    kind: string,
    field: string,
    items: T[],
    q: URLSearchParams,
    max: number,
    route: string,
    shown: (item: T) => unknown = (i) => i,
  ): Obj {
    const asked = q.get('maxResults');
    const n = asked === null ? Math.min(100, max) : Number(asked);
    if (!Number.isInteger(n) || n < 1) throw invalid(`Invalid value for maxResults: ${asked}`);
    const size = Math.min(n, max);
    const key = `${route}?${[...q]
      .filter(([k]) => k !== 'pageToken' && k !== 'maxResults')
      .sort()
      .join('&')}`;
    let offset = 0;
    const token = q.get('pageToken');
    if (token) {
      const c = this.cursors.get(token);
      if (!c || c.key !== key || c.expires < Date.now()) throw invalid('Invalid Input: pageToken');
      offset = c.offset;
    }
    const slice = items.slice(offset, offset + size).map(shown);
    const out: Obj = { kind, etag: `"${crypto.randomBytes(6).toString('hex')}"`, [field]: slice };
    if (slice.length === 0) delete out[field];
    if (offset + size < items.length) {
      const next = crypto.randomBytes(18).toString('base64url');
      this.cursors.set(next, { key, offset: offset + size, expires: Date.now() + 3 * 24 * 3600_000 });
      out.nextPageToken = next;
    }
    return out;
  }

  /** Live users by id, primary email and alias (rebuilt when the users changed: a benchmark's 100,000 are looked up per call). */
  private index?: { stamp: string; byKey: Map<string, FakeGoogleUser> };

  private findUser(key: string): FakeGoogleUser | undefined {
    const stamp = `${this.users.size}/${this.changes}`;
    if (this.index?.stamp !== stamp) {
      const byKey = new Map<string, FakeGoogleUser>();
      for (const u of this.users.values())
        if (!u.deletionTime)
          for (const k of [u.id, u.primaryEmail.toLowerCase(), ...u.aliases.map((a) => a.toLowerCase())])
            byKey.set(k, u);
      this.index = { stamp, byKey };
    }
    return this.index.byKey.get(key) ?? this.index.byKey.get(key.toLowerCase());
  }

  private findGroup(key: string): FakeGoogleGroup {
    const byId = this.groups.get(key);
    if (byId) return byId;
    const k = key.toLowerCase();
    for (const g of this.groups.values())
      if (g.id === key || g.email.toLowerCase() === k || g.aliases.some((a) => a.toLowerCase() === k)) return g;
    throw notFound('groupKey');
  }

  // ---- Reports API ---------------------------------------------------------------------------

  private reports(token: Token, userKey: string, application: string, q: URLSearchParams): unknown {
    this.need(token, AUDIT_READ);
    this.allow(q, '/admin/reports/v1/activity/users/{userKey}/applications/{applicationName}', [
      'startTime',
      'endTime',
      'maxResults',
      'pageToken',
      'customerId',
      'eventName',
    ]);
    if (!token.sub || !this.findUser(token.sub)?.isAdmin)
      throw apiError(403, 'forbidden', 'Caller does not have access to the customers reporting data.');
    if (application !== 'admin') {
      this.unrouted.push(`GET reports application ${application}`);
      throw invalid(`Invalid value '${application}'. Values must match the following regular expression: '(admin)|…'`);
    }
    if (userKey !== 'all') throw invalid('userKey: the fake knows only "all"');
    const now = Date.now();
    const time = (name: string) => {
      const v = q.get(name);
      if (v === null) return undefined;
      const t = Date.parse(v);
      if (Number.isNaN(t) || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(v))
        throw invalid(`Invalid value for ${name}: ${v}`);
      return t;
    };
    const [start, end] = [time('startTime'), time('endTime')];
    if (start !== undefined && start > now) throw invalid('Start time can not be in the future.');
    if (start !== undefined && end !== undefined && start > end) throw invalid('Start time must be before end time.');
    if (end !== undefined && end > now + 60_000) throw invalid('End time can not be in the future.');
    const from = Math.max(start ?? 0, now - 180 * 24 * 3600_000);
    const to = end ?? now;
    const eventName = q.get('eventName');
    const items = this.activities
      .filter((a) => {
        const t = Date.parse((a.id as { time: string }).time);
        return t >= from && t <= to && t <= now - this.reportsLagMs;
      })
      .filter((a) => !eventName || (a.events as Array<{ name: string }>).some((e) => e.name === eventName))
      .sort((a, b) => Date.parse((b.id as { time: string }).time) - Date.parse((a.id as { time: string }).time));
    const asked = q.get('maxResults');
    if (asked !== null && (Number(asked) < 1 || Number(asked) > 1000))
      throw invalid(`Invalid value for maxResults: ${asked}`);
    return this.page('reports#activities', 'items', items, q, 1000, 'activities');
  }
}
