import crypto from 'node:crypto';
import type https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { selfSignedCert } from '../fakeEntra/cert';
import { closeServer, failOnUnknownCalls, listenHttps } from '../strictFake';

type Obj = Record<string, unknown>;

export interface FakeKeycloakUser {
  id: string;
  username: string;
  email?: string;
  firstName?: string;
  lastName?: string;
  enabled: boolean;
  emailVerified: boolean;
  createdTimestamp: number;
  attributes: Record<string, string[]>;
  /** A client's service-account user (unlisted in /users). */
  serviceAccountClientId?: string;
}
export interface FakeKeycloakGroup {
  id: string;
  name: string;
  parentId?: string;
  members: Set<string>;
  attributes: Record<string, string[]>;
}
interface FakeClient {
  clientId: string;
  secret: string;
  serviceAccountsEnabled: boolean;
  /** realm-management roles of its service account (composites expanded when a token is issued). */
  roles: Set<string>;
}
interface Realm {
  name: string;
  users: Map<string, FakeKeycloakUser>;
  groups: Map<string, FakeKeycloakGroup>;
  clients: Map<string, FakeClient>;
  adminEventsEnabled: boolean;
  adminEvents: Obj[];
}
export interface KeycloakCall {
  method: string;
  path: string;
  query: Record<string, string>;
  status: number;
  at: number;
}

class KcHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(`Keycloak ${status}`);
  }
}
const forbidden = () => new KcHttpError(403, { error: 'unknown_error' });
const notFound = (what: string) => new KcHttpError(404, { error: what });

/** view-users holds query-users and query-groups (Keycloak's composite); manage-users holds view-users. */
function expand(roles: Set<string>): string[] {
  const out = new Set(roles);
  if (out.has('manage-users')) out.add('view-users');
  if (out.has('view-users')) ['query-users', 'query-groups'].forEach((r) => out.add(r));
  if (out.has('manage-events')) out.add('view-events');
  return [...out];
}

/**
 * A fake Keycloak (26.x) over real HTTPS (self-signed certificate), as strict as the Admin REST API's
 * documentation: the client credentials grant (HTTP Basic or form; an unknown client or wrong
 * secret 401 `unauthorized_client`, service accounts off 401, an unknown realm 404), JWT access
 * tokens with the service account's `realm-management` roles in `resource_access`, expiring after
 * the realm's lifespan (300 s) with no refresh token; every admin call checks the token (401 with
 * `WWW-Authenticate: Bearer`) and the roles Keycloak requires — `/users` with query-users alone
 * answers `[]` (each user filtered by view rights), `/groups` with query-groups alone `[]`,
 * `/children`, `/members`, a user's groups and `/users/{id}` need view-users, events need
 * view-events (403 `unknown_error`). Paging by `first`/`max` exactly (defaults: 100; `/children`
 * 10), `/groups` top level only, `/members` direct members only, admin events newest first and only
 * when the realm records them (`dateFrom`/`dateTo` as yyyy-MM-dd or epoch ms, else 400). Unknown
 * routes and parameters fail the test at `stop()`.
 */
export class FakeKeycloak {
  readonly realms = new Map<string, Realm>();
  readonly calls: KeycloakCall[] = [];
  readonly unrouted: string[] = [];
  /** The realm's access-token lifespan, seconds (Keycloak's default: 5 minutes). */
  tokenLifespan = 300;
  afterCall?: (call: KeycloakCall) => void;
  url = '';
  readonly certFile: string;
  private key = crypto.randomBytes(32);
  private server?: https.Server;
  private readonly tls: { key: string; cert: string };

  constructor() {
    const { key, cert, certFile } = selfSignedCert();
    this.tls = { key, cert };
    this.certFile = certFile;
    this.addRealm('master');
  }

  async start(): Promise<this> {
    ({ server: this.server, url: this.url } = await listenHttps(this.tls, (req, res) => void this.handle(req, res)));
    return this;
  }

  async stop(): Promise<void> {
    await closeServer(this.server);
    failOnUnknownCalls('Keycloak', this.unrouted);
  }

  // ---- realms, clients -----------------------------------------------------------------------

  addRealm(name: string, o: { adminEvents?: boolean } = {}): Realm {
    const realm: Realm = {
      name,
      users: new Map(),
      groups: new Map(),
      clients: new Map(),
      adminEventsEnabled: o.adminEvents ?? false,
      adminEvents: [],
    };
    this.realms.set(name, realm);
    return realm;
  }

  /** A confidential client with service accounts on and these realm-management roles: its secret. */
  addClient(
    realm: string,
    clientId: string,
    roles: string[] = ['view-users', 'view-events'],
    serviceAccounts = true,
  ): string {
    const secret = crypto.randomBytes(24).toString('base64url');
    const r = this.realms.get(realm)!;
    r.clients.set(clientId, { clientId, secret, serviceAccountsEnabled: serviceAccounts, roles: new Set(roles) });
    const sa = this.addUser(realm, { username: `service-account-${clientId}` }, { event: false });
    sa.serviceAccountClientId = clientId;
    return secret;
  }

  /** The next `n` admin calls answer this status (an outage); with `redirect`, every call is sent elsewhere. */
  failNext(n: number, status: number): void {
    for (let i = 0; i < n; i++) this.failures.push(status);
  }
  redirect = false;
  private failures: number[] = [];

  /** Every token issued so far stops verifying (the realm's keys rotated): the next call is 401. */
  rotateKeys(): void {
    this.key = crypto.randomBytes(32);
  }

  client(realm: string, clientId: string): FakeClient {
    return this.realms.get(realm)!.clients.get(clientId)!;
  }

  // ---- users and groups ----------------------------------------------------------------------

  addUser(
    realm: string,
    u: Partial<Omit<FakeKeycloakUser, 'attributes'>> & { username: string; attributes?: Record<string, string[]> },
    o: { event?: boolean } = {},
  ): FakeKeycloakUser {
    const user: FakeKeycloakUser = {
      id: crypto.randomUUID(),
      enabled: true,
      emailVerified: true,
      createdTimestamp: Date.now(),
      attributes: {},
      ...u,
    };
    this.realms.get(realm)!.users.set(user.id, user);
    if (o.event !== false) this.event(realm, 'CREATE', 'USER', `users/${user.id}`);
    return user;
  }

  updateUser(realm: string, id: string, change: Partial<FakeKeycloakUser>): void {
    Object.assign(this.realms.get(realm)!.users.get(id)!, change);
    this.event(realm, 'UPDATE', 'USER', `users/${id}`);
  }

  deleteUser(realm: string, id: string): void {
    const r = this.realms.get(realm)!;
    r.users.delete(id);
    for (const g of r.groups.values()) g.members.delete(id);
    this.event(realm, 'DELETE', 'USER', `users/${id}`);
  }

  addGroup(realm: string, name: string, parentId?: string, o: { event?: boolean } = {}): FakeKeycloakGroup {
    this.index.clear();
    const g: FakeKeycloakGroup = { id: crypto.randomUUID(), name, parentId, members: new Set(), attributes: {} };
    this.realms.get(realm)!.groups.set(g.id, g);
    if (o.event !== false)
      this.event(realm, 'CREATE', 'GROUP', parentId ? `groups/${parentId}/children` : `groups/${g.id}`);
    return g;
  }

  renameGroup(realm: string, id: string, name: string): void {
    this.index.clear();
    this.realms.get(realm)!.groups.get(id)!.name = name;
    this.event(realm, 'UPDATE', 'GROUP', `groups/${id}`);
  }

  /** Deletes a group and its subgroups (as Keycloak does). */
  deleteGroup(realm: string, id: string): void {
    this.index.clear();
    const r = this.realms.get(realm)!;
    const drop = (gid: string) => {
      for (const c of [...r.groups.values()].filter((g) => g.parentId === gid)) drop(c.id);
      r.groups.delete(gid);
    };
    drop(id);
    this.event(realm, 'DELETE', 'GROUP', `groups/${id}`);
  }

  addMember(realm: string, groupId: string, userId: string, o: { event?: boolean } = {}): void {
    this.realms.get(realm)!.groups.get(groupId)!.members.add(userId);
    if (o.event !== false) this.event(realm, 'CREATE', 'GROUP_MEMBERSHIP', `users/${userId}/groups/${groupId}`);
  }

  removeMember(realm: string, groupId: string, userId: string): void {
    this.realms.get(realm)!.groups.get(groupId)!.members.delete(userId);
    this.event(realm, 'DELETE', 'GROUP_MEMBERSHIP', `users/${userId}/groups/${groupId}`);
  }

  /** Records an admin event, when the realm records them. */
  event(realm: string, operationType: string, resourceType: string, resourcePath: string, at = Date.now()): void {
    const r = this.realms.get(realm)!;
    if (!r.adminEventsEnabled) return;
    r.adminEvents.push({
      id: crypto.randomUUID(),
      time: at,
      realmId: r.name,
      authDetails: { realmId: 'master', clientId: 'admin-cli', userId: crypto.randomUUID(), ipAddress: '10.0.0.1' },
      operationType,
      resourceType,
      resourcePath,
    });
  }

  /** Subgroups by parent, per realm: built when asked, dropped by every change to the groups (the benchmark's realms are large). */
  private readonly index = new Map<string, Map<string, FakeKeycloakGroup[]>>();
  private childrenOf(realm: Realm, id: string): FakeKeycloakGroup[] {
    let byParent = this.index.get(realm.name);
    if (!byParent) {
      byParent = new Map();
      for (const g of realm.groups.values())
        if (g.parentId) byParent.set(g.parentId, [...(byParent.get(g.parentId) ?? []), g]);
      this.index.set(realm.name, byParent);
    }
    return byParent.get(id) ?? [];
  }

  /** A group's path (/parent/child). */
  pathOf(r: Realm, g: FakeKeycloakGroup): string {
    const parent = g.parentId ? r.groups.get(g.parentId) : undefined;
    return `${parent ? this.pathOf(r, parent) : ''}/${g.name}`;
  }

  // ---- HTTP ----------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? '/', this.url);
    let status = 200;
    let body: unknown;
    let headers: Record<string, string> = {};
    try {
      if (this.redirect) throw new KcHttpError(302, undefined, { location: 'https://login.example.net/' });
      let m: RegExpExecArray | null;
      if (req.method === 'POST' && (m = /^\/realms\/([^/]+)\/protocol\/openid-connect\/token$/.exec(url.pathname)))
        body = this.token(decodeURIComponent(m[1]), req, Buffer.concat(chunks).toString('utf8'));
      else if (req.method === 'GET' && (m = /^\/admin\/realms\/([^/]+)(\/.*)?$/.exec(url.pathname))) {
        const failure = this.failures.shift();
        if (failure) throw new KcHttpError(failure, { error: 'HTTP 503 Service Unavailable' });
        body = this.admin(decodeURIComponent(m[1]), m[2] ?? '', url.searchParams, req.headers.authorization);
      } else {
        this.unrouted.push(`${req.method} ${url.pathname}`);
        throw notFound('Not Found');
      }
    } catch (err) {
      if (!(err instanceof KcHttpError)) throw err;
      [status, body, headers] = [err.status, err.body, err.headers];
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
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(body === undefined ? '' : JSON.stringify(body));
  }

  private token(realmName: string, req: IncomingMessage, raw: string): Obj {
    const realm = this.realms.get(realmName);
    if (!realm) throw new KcHttpError(404, { error: 'Realm does not exist' });
    const form = new URLSearchParams(raw);
    let [id, secret] = [form.get('client_id'), form.get('client_secret')];
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
    if (basic) {
      const [u, p] = Buffer.from(basic[1], 'base64').toString('utf8').split(':');
      const dec = (v: string) => decodeURIComponent(v.replace(/\+/g, ' '));
      [id, secret] = [dec(u), dec(p ?? '')];
    }
    const client = id ? realm.clients.get(id) : undefined;
    if (!client || client.secret !== secret)
      throw new KcHttpError(401, {
        error: 'unauthorized_client',
        error_description: 'Invalid client or Invalid client credentials',
      });
    if (form.get('grant_type') !== 'client_credentials')
      throw new KcHttpError(400, { error: 'unsupported_grant_type', error_description: 'Unsupported grant_type' });
    if (!client.serviceAccountsEnabled)
      throw new KcHttpError(401, {
        error: 'unauthorized_client',
        error_description: 'Client not enabled to retrieve service account',
      });
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      exp: now + this.tokenLifespan,
      iat: now,
      jti: crypto.randomUUID(),
      iss: `${this.url}/realms/${realmName}`,
      sub: [...realm.users.values()].find((u) => u.serviceAccountClientId === client.clientId)?.id,
      typ: 'Bearer',
      azp: client.clientId,
      resource_access: { 'realm-management': { roles: expand(client.roles) } },
    };
    const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const signing = `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc(claims)}`;
    const sig = crypto.createHmac('sha256', this.key).update(signing).digest('base64url');
    return {
      access_token: `${signing}.${sig}`,
      expires_in: this.tokenLifespan,
      refresh_expires_in: 0,
      token_type: 'Bearer',
      'not-before-policy': 0,
      scope: 'profile email',
    };
  }

  /** The roles a bearer token carries for a realm, or 401. */
  private rolesOf(realmName: string, authorization: string | undefined): Set<string> {
    const unauthorized = new KcHttpError(401, { error: 'HTTP 401 Unauthorized' }, { 'www-authenticate': 'Bearer' });
    const m = /^Bearer (.+)$/.exec(authorization ?? '');
    if (!m) throw unauthorized;
    const [h, p, s] = m[1].split('.');
    const sig = crypto.createHmac('sha256', this.key).update(`${h}.${p}`).digest('base64url');
    if (!s || sig !== s) throw unauthorized;
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as {
      exp: number;
      iss: string;
      resource_access?: Record<string, { roles: string[] }>;
    };
    if (claims.exp * 1000 <= Date.now() || claims.iss !== `${this.url}/realms/${realmName}`) throw unauthorized;
    return new Set(claims.resource_access?.['realm-management']?.roles ?? []);
  }

  private admin(realmName: string, rawPath: string, q: URLSearchParams, authorization: string | undefined): unknown {
    const path = rawPath.replace(/\/$/, ''); // Keycloak answers a collection with or without its trailing slash (the admin client sends it)
    const roles = this.rolesOf(realmName, authorization);
    const realm = this.realms.get(realmName);
    if (!realm) throw notFound('Realm not found.');
    const only = (...names: string[]) => {
      const extra = [...new Set(q.keys())].filter((k) => !names.includes(k));
      if (extra.length) {
        this.unrouted.push(`GET /admin/realms/{realm}${path}?${extra.join('&')}`);
        throw new KcHttpError(400, { error: `unknown parameter ${extra.join(', ')}` });
      }
    };
    const need = (...any: string[]) => {
      if (!any.some((r) => roles.has(r))) throw forbidden();
    };
    const paging = (dflt: number) => {
      const first = Number(q.get('first') ?? 0);
      const max = Number(q.get('max') ?? dflt);
      if (!Number.isInteger(first) || first < 0 || !Number.isInteger(max) || max < 0)
        throw new KcHttpError(400, { error: 'invalid first or max' });
      return <T>(list: T[]) => list.slice(first, first + max);
    };
    const brief = (dflt: boolean) => (q.get('briefRepresentation') ?? String(dflt)) === 'true';
    const groupJson = (g: FakeKeycloakGroup, full: boolean) => ({
      id: g.id,
      name: g.name,
      path: this.pathOf(realm, g),
      ...(g.parentId ? { parentId: g.parentId } : {}),
      subGroupCount: this.childrenOf(realm, g.id).length,
      subGroups: [],
      ...(full ? { attributes: g.attributes, realmRoles: [], clientRoles: {} } : {}),
      access: { view: true, viewMembers: true, manageMembers: false, manage: false, manageMembership: false },
    });
    let m: RegExpExecArray | null;
    if (path === '/users') {
      only('first', 'max', 'briefRepresentation', 'username', 'email', 'exact');
      need('query-users', 'view-users');
      const exact = q.get('exact') === 'true';
      const match = (v: string | undefined, want: string | null) =>
        want === null ||
        (exact ? (v ?? '').toLowerCase() === want.toLowerCase() : (v ?? '').toLowerCase().includes(want.toLowerCase()));
      const list = [...realm.users.values()].filter(
        (u) =>
          !u.serviceAccountClientId &&
          roles.has('view-users') && // query-users alone lists no one: each user is filtered by view rights
          match(u.username, q.get('username')) &&
          match(u.email, q.get('email')),
      );
      return paging(100)(list).map((u) => this.userJson(u, brief(false)));
    }
    if ((m = /^\/users\/([^/]+)$/.exec(path))) {
      only();
      need('view-users');
      const u = realm.users.get(m[1]);
      if (!u) throw notFound('User not found');
      return this.userJson(u, false);
    }
    if ((m = /^\/users\/([^/]+)\/groups$/.exec(path))) {
      only('first', 'max', 'briefRepresentation');
      need('view-users');
      if (!realm.users.has(m[1])) throw notFound('User not found');
      const list = [...realm.groups.values()].filter((g) => g.members.has(m![1]));
      return paging(100)(list).map((g) => groupJson(g, !brief(true)));
    }
    if (path === '/groups') {
      only('first', 'max', 'briefRepresentation');
      need('query-groups', 'view-users');
      if (!roles.has('view-users')) return []; // query-groups alone: listed, but no group is viewable
      const list = [...realm.groups.values()].filter((g) => !g.parentId);
      return paging(100)(list).map((g) => groupJson(g, !brief(true)));
    }
    if ((m = /^\/groups\/([^/]+)$/.exec(path))) {
      only();
      need('view-users');
      const g = realm.groups.get(m[1]);
      if (!g) throw notFound('Could not find group by id');
      return groupJson(g, true);
    }
    if ((m = /^\/groups\/([^/]+)\/children$/.exec(path))) {
      only('first', 'max', 'briefRepresentation');
      need('view-users');
      if (!realm.groups.has(m[1])) throw notFound('Could not find group by id');
      const list = this.childrenOf(realm, m[1]);
      return paging(10)(list).map((g) => groupJson(g, !brief(false)));
    }
    if ((m = /^\/groups\/([^/]+)\/members$/.exec(path))) {
      only('first', 'max', 'briefRepresentation');
      need('view-users');
      const g = realm.groups.get(m[1]);
      if (!g) throw notFound('Could not find group by id');
      const list = [...g.members].map((id) => realm.users.get(id)).filter((u): u is FakeKeycloakUser => !!u);
      return paging(100)(list).map((u) => this.userJson(u, brief(false)));
    }
    if (path === '/admin-events') {
      only('first', 'max', 'resourceTypes', 'dateFrom', 'dateTo');
      need('view-events');
      const date = (name: string, end: boolean) => {
        const v = q.get(name);
        if (v === null) return end ? Infinity : -Infinity;
        if (/^\d+$/.test(v)) return Number(v);
        if (/^\d{4}-\d{2}-\d{2}$/.test(v)) return Date.parse(`${v}T00:00:00Z`) + (end ? 86_400_000 - 1 : 0);
        throw new KcHttpError(400, {
          error: `Invalid value for '${name === 'dateFrom' ? 'Date(From)' : 'Date(To)'}', expected format is yyyy-MM-dd`,
        });
      };
      const [from, to] = [date('dateFrom', false), date('dateTo', true)];
      const types = q.getAll('resourceTypes');
      const list = realm.adminEvents
        .filter((e) => (e.time as number) >= from && (e.time as number) <= to)
        .filter((e) => types.length === 0 || types.includes(String(e.resourceType)))
        .reverse(); // newest first
      return paging(100)(list);
    }
    if (path === '/events/config') {
      only();
      need('view-events');
      return {
        eventsEnabled: false,
        eventsListeners: ['jboss-logging'],
        enabledEventTypes: [],
        adminEventsEnabled: realm.adminEventsEnabled,
        adminEventsDetailsEnabled: false,
      };
    }
    this.unrouted.push(`GET /admin/realms/{realm}${path}`);
    throw notFound('HTTP 404 Not Found');
  }

  private userJson(u: FakeKeycloakUser, brief: boolean): Obj {
    const { serviceAccountClientId: _sa, attributes, ...plain } = u;
    return {
      ...plain,
      ...(brief ? {} : { attributes, requiredActions: [], notBefore: 0, totp: false, disableableCredentialTypes: [] }),
      access: { manage: false },
    };
  }
}
