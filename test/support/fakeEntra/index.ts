import crypto from 'node:crypto';
import type https from 'node:https';
import { closeServer, failOnUnknownCalls, listenHttps } from '../strictFake';
import { selfSignedCert } from './cert';
import { FilterError, parseFilter } from './odataFilter';

type Obj = Record<string, unknown>;

export interface FakeApp {
  tenantId: string;
  clientId: string;
  secret: string;
  /** Application permissions granted with admin consent (User.Read.All, GroupMember.Read.All, Directory.Read.All, Application.Read.All). */
  roles: string[];
  secretExpired?: boolean;
}

export interface GraphCall {
  method: string;
  path: string;
  status: number;
  headers: Record<string, string | string[] | undefined>;
  at: number;
}

interface Group {
  id: string;
  displayName: string;
  description: string | null;
  members: Set<string>;
}
interface Assignment {
  id: string;
  principalType: 'User' | 'Group';
  principalId: string;
}
interface ServicePrincipal {
  id: string;
  appId: string;
  assignments: Assignment[];
}
interface GroupChange {
  seq: number;
  groupId: string;
  kind: 'props' | 'add' | 'remove' | 'deleted';
  memberId?: string;
}
interface Cursor {
  items: Obj[];
  offset: number;
  pageSize: number;
  deltaLink?: string;
  expires: number;
}

const USER_PROPS = [
  'id',
  'userPrincipalName',
  'mail',
  'mailNickname',
  'displayName',
  'givenName',
  'surname',
  'accountEnabled',
  'department',
  'jobTitle',
  'employeeId',
  'onPremisesSamAccountName',
  'onPremisesExtensionAttributes',
  'otherMails',
  'businessPhones',
  'mobilePhone',
  'officeLocation',
  'companyName',
];

const graphError = (code: string, message: string) => ({
  error: {
    code,
    message,
    innerError: {
      date: new Date().toISOString(),
      'request-id': crypto.randomUUID(),
      'client-request-id': crypto.randomUUID(),
    },
  },
});
const aadError = (status: number, error: string, code: number, description: string) => ({
  status,
  body: {
    error,
    error_description: `AADSTS${code}: ${description}\r\nTrace ID: ${crypto.randomUUID()}\r\nTimestamp: ${new Date().toISOString()}`,
    error_codes: [code],
    timestamp: new Date().toISOString(),
  },
});

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(`HTTP ${status}`);
  }
}

/**
 * A fake Microsoft Entra ID over real HTTPS (self-signed certificate): the v2.0 token endpoint and
 * its OpenID metadata, and the slice of Microsoft Graph v1.0 that a directory sync reads — users,
 * groups, members and transitive members, app role assignments, memberOf, and users/groups delta
 * with `members@delta` split over pages, `@removed`, `$deltatoken=latest` and expired tokens (410).
 * Paging follows Graph ($top 1–999, default 100, absolute `@odata.nextLink`), errors are Graph's
 * and AAD's bodies, and 429s carry Retry-After. Everything it is asked is in `calls`.
 */
export class FakeEntra {
  readonly users = new Map<string, Obj>();
  readonly groups = new Map<string, Group>();
  readonly servicePrincipals = new Map<string, ServicePrincipal>();
  readonly apps: FakeApp[] = [];
  readonly tenants = new Set<string>();
  readonly calls: GraphCall[] = [];
  /** Objects per delta page, and members of one group per delta entry (Graph splits big groups over pages). */
  deltaPageSize = 100;
  membersPerDeltaEntry = 50;
  /** Added to every Graph answer (to watch a long read's progress). */
  latencyMs = 0;
  private seq = 0;
  private readonly userChanges = new Map<string, number>();
  private readonly groupChanges: GroupChange[] = [];
  private readonly tokens = new Map<string, { app: FakeApp; expires: number }>();
  private readonly cursors = new Map<string, Cursor>();
  private minDeltaSeq = 0;
  private throttles: Array<{ target: 'graph' | 'token'; retryAfter: number; status: number }> = [];
  private redirects: Array<{ target: 'graph' | 'token'; location: string }> = [];
  private server?: https.Server;
  url = '';
  readonly certFile: string;
  private readonly tls: { key: string; cert: string };

  constructor() {
    const { key, cert, certFile } = selfSignedCert();
    this.tls = { key, cert };
    this.certFile = certFile;
  }

  get ca(): string {
    return this.tls.cert;
  }

  async start(): Promise<this> {
    ({ server: this.server, url: this.url } = await listenHttps(this.tls, (req, res) => void this.handle(req, res)));
    return this;
  }

  /** Calls that matched no route of the fake (each fails the test at stop()). */
  readonly unrouted: string[] = [];

  /**
   * Stops the fake. A call it had no route for fails the test that made it, here: the product called
   * something of Microsoft's that this fake does not know, so a green test would prove nothing about it.
   */
  async stop(): Promise<void> {
    await closeServer(this.server);
    failOnUnknownCalls('Entra ID', this.unrouted);
  }

  /** Where next links point (this fake's own URL unless a test sends them elsewhere, as a hostile answer would). */
  linkBase?: string;

  /** The authority and Graph URL a connection uses to reach this fake. */
  authority(tenantId: string): string {
    return `${this.url}/${tenantId}`;
  }
  get graphUrl(): string {
    return this.url;
  }

  // ---- directory state -------------------------------------------------------------------

  addApp(app: FakeApp): FakeApp {
    this.tenants.add(app.tenantId);
    this.apps.push(app);
    return app;
  }

  addUser(u: Obj & { userPrincipalName: string }): Obj {
    const user: Obj = {
      id: crypto.randomUUID(),
      displayName: u.userPrincipalName.split('@')[0],
      mail: u.userPrincipalName,
      accountEnabled: true,
      ...u,
    };
    this.users.set(user.id as string, user);
    this.touchUser(user.id as string);
    return user;
  }

  updateUser(id: string, patch: Obj): void {
    const u = this.users.get(id);
    if (!u) throw new Error(`no user ${id}`);
    Object.assign(u, patch);
    this.touchUser(id);
  }

  deleteUser(id: string): void {
    this.users.delete(id);
    this.touchUser(id);
    for (const g of this.groups.values()) if (g.members.has(id)) this.removeMember(g.id, id);
  }

  addGroup(displayName: string, description: string | null = null): Group {
    const g: Group = { id: crypto.randomUUID(), displayName, description, members: new Set() };
    this.groups.set(g.id, g);
    this.groupChanges.push({ seq: ++this.seq, groupId: g.id, kind: 'props' });
    return g;
  }

  renameGroup(id: string, displayName: string): void {
    this.groups.get(id)!.displayName = displayName;
    this.groupChanges.push({ seq: ++this.seq, groupId: id, kind: 'props' });
  }

  deleteGroup(id: string): void {
    this.groups.delete(id);
    this.groupChanges.push({ seq: ++this.seq, groupId: id, kind: 'deleted' });
    for (const g of this.groups.values()) if (g.members.has(id)) this.removeMember(g.id, id);
  }

  addMember(groupId: string, memberId: string): void {
    const g = this.groups.get(groupId)!;
    if (g.members.has(memberId)) return;
    g.members.add(memberId);
    this.groupChanges.push({ seq: ++this.seq, groupId, kind: 'add', memberId });
  }

  removeMember(groupId: string, memberId: string): void {
    const g = this.groups.get(groupId)!;
    if (!g.members.delete(memberId)) return;
    this.groupChanges.push({ seq: ++this.seq, groupId, kind: 'remove', memberId });
  }

  addServicePrincipal(appId = crypto.randomUUID()): ServicePrincipal {
    const sp: ServicePrincipal = { id: crypto.randomUUID(), appId, assignments: [] };
    this.servicePrincipals.set(sp.id, sp);
    return sp;
  }

  assign(spId: string, principalType: 'User' | 'Group', principalId: string): void {
    this.servicePrincipals
      .get(spId)!
      .assignments.push({ id: crypto.randomBytes(24).toString('base64url'), principalType, principalId });
  }

  unassign(spId: string, principalId: string): void {
    const sp = this.servicePrincipals.get(spId)!;
    sp.assignments = sp.assignments.filter((a) => a.principalId !== principalId);
  }

  /** Every delta token issued so far stops working (410), as when Graph's sync state expires. */
  expireDeltaTokens(): void {
    this.minDeltaSeq = this.seq + 1;
  }

  /** The next `count` calls to Graph (or the token endpoint) answer 429 (or `status`) with Retry-After. */
  throttle(target: 'graph' | 'token', count: number, retryAfterSeconds = 1, status = 429): void {
    for (let i = 0; i < count; i++) this.throttles.push({ target, retryAfter: retryAfterSeconds, status });
  }

  /**
   * The next call to the token endpoint or to Graph answers 302 to `location`: what a hostile or
   * hijacked custom cloud could answer, to make the server call an address of its own network.
   */
  redirectNext(target: 'graph' | 'token', location: string): void {
    this.redirects.push({ target, location });
  }

  graphCalls(): GraphCall[] {
    return this.calls.filter((c) => c.path.startsWith('/v1.0/'));
  }

  private touchUser(id: string): void {
    this.userChanges.set(id, ++this.seq);
  }

  // ---- HTTP ------------------------------------------------------------------------------

  private async handle(
    req: import('node:http').IncomingMessage,
    res: import('node:http').ServerResponse,
  ): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? '/', this.url);
    let status = 200;
    let body: unknown;
    let headers: Record<string, string> = {};
    try {
      body = this.route(req.method ?? 'GET', url, req.headers, Buffer.concat(chunks).toString('utf8'));
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      ({ status, body, headers } = err);
    }
    if (this.latencyMs && url.pathname.startsWith('/v1.0/')) await new Promise((r) => setTimeout(r, this.latencyMs));
    this.calls.push({
      method: req.method ?? 'GET',
      path: url.pathname + url.search,
      status,
      headers: req.headers,
      at: Date.now(),
    });
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'request-id': crypto.randomUUID(),
      ...headers,
    });
    res.end(JSON.stringify(body));
  }

  private route(method: string, url: URL, headers: import('node:http').IncomingHttpHeaders, raw: string): unknown {
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const redirect = this.redirects.findIndex((r) => r.target === (parts[0] === 'v1.0' ? 'graph' : 'token'));
    if (redirect >= 0) {
      const [r] = this.redirects.splice(redirect, 1);
      throw new HttpError(302, {}, { location: r.location });
    }
    if (parts[0] !== 'v1.0') return this.login(method, parts, raw);
    this.maybeThrottle('graph');
    const app = this.authenticate(headers.authorization);
    if (method !== 'GET') this.unrouted.push(`${method} ${url.pathname}`);
    if (method !== 'GET')
      throw new HttpError(
        405,
        graphError('Request_BadRequest', 'Specified HTTP method is not allowed for the request target.'),
      );
    return this.graph(app, parts.slice(1), url, headers);
  }

  private maybeThrottle(target: 'graph' | 'token'): void {
    const i = this.throttles.findIndex((t) => t.target === target);
    if (i < 0) return;
    const [t] = this.throttles.splice(i, 1);
    const body =
      target === 'graph'
        ? graphError(
            t.status === 429 ? 'TooManyRequests' : 'ServiceUnavailable',
            t.status === 429 ? 'Too many requests' : 'Service is temporarily unavailable.',
          )
        : aadError(
            t.status,
            'temporarily_unavailable',
            50196,
            'The server is temporarily too busy to handle the request.',
          ).body;
    throw new HttpError(t.status, body, { 'retry-after': String(t.retryAfter) });
  }

  // ---- login.microsoftonline.com ----------------------------------------------------------

  private login(method: string, parts: string[], raw: string): unknown {
    const [tenant, ...rest] = parts;
    const path = rest.join('/');
    if (!this.tenants.has(tenant)) {
      const e = aadError(
        400,
        'invalid_tenant',
        90002,
        `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
      );
      throw new HttpError(e.status, e.body);
    }
    if (method === 'GET' && path === 'v2.0/.well-known/openid-configuration') {
      const base = `${this.url}/${tenant}`;
      return {
        token_endpoint: `${base}/oauth2/v2.0/token`,
        token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
        jwks_uri: `${base}/discovery/v2.0/keys`,
        response_modes_supported: ['query', 'fragment', 'form_post'],
        subject_types_supported: ['pairwise'],
        id_token_signing_alg_values_supported: ['RS256'],
        response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
        scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
        issuer: `${base}/v2.0`,
        request_uri_parameter_supported: false,
        userinfo_endpoint: `${this.url}/oidc/userinfo`,
        authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
        device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
        http_logout_supported: true,
        frontchannel_logout_supported: true,
        end_session_endpoint: `${base}/oauth2/v2.0/logout`,
        claims_supported: ['sub', 'iss'],
        kerberos_endpoint: `${base}/kerberos`,
        tenant_region_scope: 'EU',
        cloud_instance_name: 'microsoftonline.com',
        cloud_graph_host_name: 'graph.windows.net',
        msgraph_host: 'graph.microsoft.com',
        rbac_url: 'https://pas.windows.net',
      };
    }
    if (method === 'POST' && path === 'oauth2/v2.0/token') {
      this.maybeThrottle('token');
      const form = new URLSearchParams(raw);
      if (form.get('grant_type') !== 'client_credentials')
        throw new HttpError(
          400,
          aadError(400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.').body,
        );
      const app = this.apps.find((a) => a.tenantId === tenant && a.clientId === form.get('client_id'));
      if (!app) {
        const e = aadError(
          400,
          'unauthorized_client',
          700016,
          `Application with identifier '${form.get('client_id')}' was not found in the directory '${tenant}'.`,
        );
        throw new HttpError(e.status, e.body);
      }
      if (form.get('client_secret') !== app.secret) {
        const e = aadError(
          401,
          'invalid_client',
          7000215,
          "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '" +
            app.clientId +
            "'.",
        );
        throw new HttpError(e.status, e.body);
      }
      if (app.secretExpired) {
        const e = aadError(
          401,
          'invalid_client',
          7000222,
          `The provided client secret keys for app '${app.clientId}' are expired.`,
        );
        throw new HttpError(e.status, e.body);
      }
      const token = crypto.randomBytes(32).toString('base64url');
      this.tokens.set(token, { app, expires: Date.now() + 3600_000 });
      return { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: token };
    }
    this.unrouted.push(`${method} /${parts.join('/')}`);
    throw new HttpError(404, aadError(404, 'not_found', 90027, 'Not found.').body);
  }

  // ---- graph.microsoft.com/v1.0 -------------------------------------------------------------

  private authenticate(authorization: string | undefined): FakeApp {
    const token = /^Bearer (.+)$/i.exec(authorization ?? '')?.[1];
    if (!token) throw new HttpError(401, graphError('InvalidAuthenticationToken', 'Access token is empty.'));
    const t = this.tokens.get(token);
    if (!t || t.expires < Date.now())
      throw new HttpError(
        401,
        graphError('InvalidAuthenticationToken', 'Access token has expired or is not yet valid.'),
      );
    return t.app;
  }

  private require(app: FakeApp, ...anyOf: string[]): void {
    if (!app.roles.some((r) => anyOf.includes(r)))
      throw new HttpError(
        403,
        graphError('Authorization_RequestDenied', 'Insufficient privileges to complete the operation.'),
      );
  }

  private graph(app: FakeApp, p: string[], url: URL, headers: import('node:http').IncomingHttpHeaders): unknown {
    const q = url.searchParams;
    const skip = q.get('$skiptoken');
    if (skip) return this.continuePage(skip);
    const eventual = String(headers.consistencylevel ?? '').toLowerCase() === 'eventual';
    const select = q
      .get('$select')
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const pageSize = this.pageSize(q.get('$top'));
    const filter = this.filterOf(q.get('$filter'), eventual);
    const count = q.get('$count') === 'true';
    const USERS = ['User.Read.All', 'Directory.Read.All'];
    const GROUPS = ['GroupMember.Read.All', 'Group.Read.All', 'Directory.Read.All'];
    const users = (ids: Iterable<string>) => [...ids].map((id) => this.users.get(id)).filter((u): u is Obj => !!u);
    const list = (items: Obj[], type: string) =>
      this.firstPage(
        items.filter(filter).map((o) => project(o, select, type)),
        pageSize,
        count && eventual,
      );

    if (p[0] === 'users' && p[1] === 'delta') {
      this.require(app, ...USERS);
      return this.usersDelta(q, select);
    }
    if (p[0] === 'groups' && p[1] === 'delta') {
      this.require(app, ...GROUPS);
      return this.groupsDelta(q, select);
    }
    if (p[0] === 'users' && p.length === 1) {
      this.require(app, ...USERS);
      return list([...this.users.values()], 'user');
    }
    if (p[0] === 'users' && p.length >= 2) {
      this.require(app, ...USERS);
      const u =
        this.users.get(p[1]) ??
        [...this.users.values()].find((x) => String(x.userPrincipalName).toLowerCase() === p[1].toLowerCase());
      if (!u) throw notFound(p[1]);
      if (p.length === 2) return project(u, select, 'user');
      const transitive = p[2] === 'transitiveMemberOf';
      if ((p[2] === 'memberOf' || transitive) && (p.length === 3 || p[3] === 'microsoft.graph.group')) {
        this.require(app, ...GROUPS);
        return list(this.memberOf(u.id as string, transitive), 'group');
      }
      throw notFound(p.join('/'));
    }
    if (p[0] === 'groups' && p.length === 1) {
      this.require(app, ...GROUPS);
      return list([...this.groups.values()].map(groupObj), 'group');
    }
    if (p[0] === 'groups' && p.length >= 2) {
      this.require(app, ...GROUPS);
      const g = this.groups.get(p[1]);
      if (!g) throw notFound(p[1]);
      if (p.length === 2) return project(groupObj(g), select, 'group');
      const transitive = p[2] === 'transitiveMembers';
      if (p[2] === 'members' || transitive) {
        if (p[3] && p[3] !== 'microsoft.graph.user') throw notFound(p.join('/'));
        if (transitive && p[3] && !eventual) {
          throw new HttpError(
            400,
            graphError(
              'Request_UnsupportedQuery',
              "The specified type cast is not supported on transitiveMembers without the 'ConsistencyLevel: eventual' header.",
            ),
          );
        }
        const ids = transitive ? this.transitiveMembers(g.id) : [...g.members];
        const members = p[3]
          ? users(ids)
          : ids
              .map((id) => this.users.get(id) ?? (this.groups.has(id) ? groupObj(this.groups.get(id)!) : undefined))
              .filter((x): x is Obj => !!x);
        return list(members, p[3] ? 'user' : 'any');
      }
      throw notFound(p.join('/'));
    }
    const spMatch = /^servicePrincipals\(appId='([^']+)'\)$/.exec(p[0]);
    if (p[0] === 'servicePrincipals' || spMatch) {
      this.require(app, 'Application.Read.All', 'Directory.Read.All');
      const spKey = spMatch ? spMatch[1] : p[1];
      const sp = [...this.servicePrincipals.values()].find((s) => (spMatch ? s.appId === spKey : s.id === spKey));
      if (!sp) throw notFound(spKey);
      const rest = spMatch ? p.slice(1) : p.slice(2);
      if (rest[0] === 'appRoleAssignedTo') {
        return this.firstPage(
          sp.assignments.map((a) => ({
            id: a.id,
            principalType: a.principalType,
            principalId: a.principalId,
            resourceId: sp.id,
            appRoleId: '00000000-0000-0000-0000-000000000000',
            principalDisplayName:
              a.principalType === 'User'
                ? (this.users.get(a.principalId)?.displayName ?? null)
                : (this.groups.get(a.principalId)?.displayName ?? null),
          })),
          pageSize,
          false,
        );
      }
      if (rest.length === 0) return { id: sp.id, appId: sp.appId };
    }
    this.unrouted.push(`GET /v1.0/${p.join('/')}`);
    throw new HttpError(400, graphError('BadRequest', `Resource not found for the segment '${p[0]}'.`));
  }

  private pageSize(top: string | null): number {
    if (top === null) return 100;
    const n = Number(top);
    if (!Number.isInteger(n) || n < 1 || n > 999)
      throw new HttpError(
        400,
        graphError('Request_BadRequest', `Invalid page size specified: '${top}'. Must be between 1 and 999 inclusive.`),
      );
    return n;
  }

  private filterOf(text: string | null, eventual: boolean): (o: Obj) => boolean {
    if (!text) return () => true;
    if (/\b(ne|not|endswith)\b/i.test(text) && !eventual) {
      throw new HttpError(
        400,
        graphError(
          'Request_UnsupportedQuery',
          "Unsupported query. This query requires the 'ConsistencyLevel: eventual' header and '$count=true'.",
        ),
      );
    }
    try {
      return parseFilter(text);
    } catch (err) {
      if (err instanceof FilterError) throw new HttpError(400, graphError('Request_UnsupportedQuery', err.message));
      throw err;
    }
  }

  private firstPage(items: Obj[], pageSize: number, withCount: boolean, deltaLink?: string): Obj {
    const cursor: Cursor = { items, offset: 0, pageSize, deltaLink, expires: Date.now() + 600_000 };
    return {
      '@odata.context': `${this.url}/v1.0/$metadata`,
      ...(withCount ? { '@odata.count': items.length } : {}),
      ...this.page(cursor),
    };
  }

  private continuePage(token: string): Obj {
    const cursor = this.cursors.get(token);
    if (!cursor || cursor.expires < Date.now())
      throw new HttpError(
        400,
        graphError(
          'Request_BadRequest',
          'The specified page token value has expired and can no longer be included in your request.',
        ),
      );
    this.cursors.delete(token);
    return { '@odata.context': `${this.url}/v1.0/$metadata`, ...this.page(cursor) };
  }

  private page(cursor: Cursor): Obj {
    const value = cursor.items.slice(cursor.offset, cursor.offset + cursor.pageSize);
    cursor.offset += cursor.pageSize;
    if (cursor.offset < cursor.items.length) {
      const token = crypto.randomBytes(18).toString('base64url');
      this.cursors.set(token, cursor);
      return { '@odata.nextLink': `${this.linkBase ?? this.url}/v1.0/page?$skiptoken=${token}`, value };
    }
    return cursor.deltaLink ? { '@odata.deltaLink': cursor.deltaLink, value } : { value };
  }

  private deltaState(
    q: URLSearchParams,
    kind: string,
  ): { since: number | undefined; filterIds?: Set<string>; select?: string[] } {
    const token = q.get('$deltatoken');
    if (token === 'latest') return { since: this.seq, select: q.get('$select')?.split(',') };
    if (token) {
      let state: { k: string; s: number; f?: string[]; sel?: string[] };
      try {
        state = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
      } catch {
        throw new HttpError(400, graphError('Request_BadRequest', 'Badly formed token.'));
      }
      if (state.k !== kind || state.s < this.minDeltaSeq)
        throw new HttpError(
          410,
          graphError(
            'SyncStateNotFound',
            'The sync state generation is not found, is invalid, or has expired. Restart the synchronization without a state token.',
          ),
        );
      return { since: state.s, filterIds: state.f && new Set(state.f), select: state.sel };
    }
    const filter = q.get('$filter');
    let filterIds: Set<string> | undefined;
    if (filter) {
      const ids = [...filter.matchAll(/id eq '([^']+)'/g)].map((m) => m[1]);
      if (ids.length === 0 || ids.length > 50 || !/^\s*id eq '[^']+'(\s+or\s+id eq '[^']+')*\s*$/.test(filter)) {
        throw new HttpError(
          400,
          graphError(
            'Request_UnsupportedQuery',
            'Delta queries accept only up to 50 id eq clauses joined by or in $filter.',
          ),
        );
      }
      filterIds = new Set(ids);
    }
    return { since: undefined, filterIds, select: q.get('$select')?.split(',') };
  }

  private deltaLink(kind: string, filterIds: Set<string> | undefined, select: string[] | undefined): string {
    const token = Buffer.from(
      JSON.stringify({ k: kind, s: this.seq, f: filterIds && [...filterIds], sel: select }),
    ).toString('base64url');
    return `${this.url}/v1.0/${kind}/delta?$deltatoken=${token}`;
  }

  private usersDelta(q: URLSearchParams, select0: string[] | undefined): Obj {
    if (q.has('$top') || q.has('$orderby') || q.has('$expand'))
      throw new HttpError(
        400,
        graphError('Request_UnsupportedQuery', 'The query parameter is not supported on delta.'),
      );
    const { since, filterIds, select } = this.deltaState(q, 'users');
    const sel = select ?? select0;
    const link = this.deltaLink('users', filterIds, sel);
    if (q.get('$deltatoken') === 'latest')
      return { '@odata.context': `${this.url}/v1.0/$metadata`, '@odata.deltaLink': link, value: [] };
    let items: Obj[];
    if (since === undefined)
      items = [...this.users.values()]
        .filter((u) => !filterIds || filterIds.has(u.id as string))
        .map((u) => project(u, sel, 'user'));
    else {
      items = [...this.userChanges.entries()]
        .filter(([id, s]) => s > since && (!filterIds || filterIds.has(id)))
        .sort((a, b) => a[1] - b[1])
        .map(([id]) => {
          const u = this.users.get(id);
          return u ? project(u, sel, 'user') : { id, '@removed': { reason: 'changed' } };
        });
    }
    return this.firstPage(items, this.deltaPageSize, false, link);
  }

  private groupsDelta(q: URLSearchParams, select0: string[] | undefined): Obj {
    if (q.has('$top') || q.has('$orderby') || q.has('$expand'))
      throw new HttpError(
        400,
        graphError('Request_UnsupportedQuery', 'The query parameter is not supported on delta.'),
      );
    const { since, filterIds, select } = this.deltaState(q, 'groups');
    const sel = select ?? select0;
    const withMembers = !sel || sel.includes('members');
    const link = this.deltaLink('groups', filterIds, sel);
    if (q.get('$deltatoken') === 'latest')
      return { '@odata.context': `${this.url}/v1.0/$metadata`, '@odata.deltaLink': link, value: [] };
    const ref = (id: string, removed: boolean) => ({
      '@odata.type': this.groups.has(id) && !this.users.has(id) ? '#microsoft.graph.group' : '#microsoft.graph.user',
      id,
      ...(removed ? { '@removed': { reason: 'deleted' } } : {}),
    });
    const entries: Obj[] = [];
    const emit = (g: Group, members: Obj[]) => {
      const base = project(
        groupObj(g),
        sel?.filter((s) => s !== 'members'),
        'group',
      );
      if (!withMembers || members.length === 0) return void entries.push(base);
      for (let i = 0; i < members.length; i += this.membersPerDeltaEntry)
        entries.push({ ...base, 'members@delta': members.slice(i, i + this.membersPerDeltaEntry) });
    };
    if (since === undefined) {
      for (const g of this.groups.values())
        if (!filterIds || filterIds.has(g.id))
          emit(
            g,
            [...g.members].map((m) => ref(m, false)),
          );
    } else {
      const byGroup = new Map<string, GroupChange[]>();
      for (const c of this.groupChanges) {
        if (c.seq <= since || (filterIds && !filterIds.has(c.groupId))) continue;
        byGroup.set(c.groupId, [...(byGroup.get(c.groupId) ?? []), c]);
      }
      for (const [groupId, changes] of byGroup) {
        const g = this.groups.get(groupId);
        if (!g) {
          entries.push({ id: groupId, '@removed': { reason: 'changed' } });
          continue;
        }
        const net = new Map<string, boolean>();
        for (const c of changes) if (c.memberId) net.set(c.memberId, c.kind === 'add');
        emit(
          g,
          [...net].map(([id, added]) => ref(id, !added)),
        );
      }
    }
    return this.firstPage(entries, this.deltaPageSize, false, link);
  }

  private memberOf(id: string, transitive: boolean): Obj[] {
    const direct = [...this.groups.values()].filter((g) => g.members.has(id));
    if (!transitive) return direct.map(groupObj);
    const seen = new Map<string, Group>();
    const walk = (gs: Group[]) => {
      for (const g of gs) {
        if (seen.has(g.id)) continue;
        seen.set(g.id, g);
        walk([...this.groups.values()].filter((p) => p.members.has(g.id)));
      }
    };
    walk(direct);
    return [...seen.values()].map(groupObj);
  }

  private transitiveMembers(groupId: string): string[] {
    const out = new Set<string>();
    const seen = new Set<string>();
    const walk = (id: string) => {
      if (seen.has(id)) return;
      seen.add(id);
      for (const m of this.groups.get(id)?.members ?? []) {
        out.add(m);
        if (this.groups.has(m)) walk(m);
      }
    };
    walk(groupId);
    return [...out];
  }
}

const groupObj = (g: Group): Obj => ({
  id: g.id,
  displayName: g.displayName,
  description: g.description,
  securityEnabled: true,
  mailEnabled: false,
});

function notFound(what: string): HttpError {
  return new HttpError(
    404,
    graphError(
      'Request_ResourceNotFound',
      `Resource '${what}' does not exist or one of its queried reference-property objects are not present.`,
    ),
  );
}

/** $select as Graph does it: id always, standard properties null when unset, extension attributes only when set. */
function project(o: Obj, select: string[] | undefined, type: string): Obj {
  const odataType =
    type === 'any'
      ? o.userPrincipalName
        ? '#microsoft.graph.user'
        : '#microsoft.graph.group'
      : `#microsoft.graph.${type}`;
  if (!select) return { '@odata.type': odataType, ...o };
  const out: Obj = { '@odata.type': odataType, id: o.id };
  for (const s of select) {
    if (s in o) out[s] = o[s];
    else if (type === 'user' && USER_PROPS.includes(s)) out[s] = null;
  }
  return out;
}
