import fc from 'fast-check';
import request from 'supertest';
import { jwtHeader } from '../support/app';
import { configureFuzz } from '../support/fuzz';
import { startScim, type ScimHarness } from '../support/scim';

/**
 * Hostile input on every route of SCIM and the admin API: random path parameters (bad
 * percent-encodings, NUL, over-long, unicode), query parameters (repeated, wrong types) and bodies
 * with a number, boolean, null, array, object or deep JSON where a string belongs. Every answer is
 * below 500 and, when an error, in the protocol's own format; nothing is stored by a refused request.
 */
jest.setTimeout(300_000);

let s: ScimHarness;
let userId: string;
let groupId: string;
beforeAll(async () => {
  s = await startScim('generic');
  await s.storeSiteToken();
  userId = (await s.post('/Users', { userName: 'keep@example.com', emails: [{ value: 'keep@example.com' }] })).body.id;
  groupId = (await s.post('/Groups', { displayName: 'Keepers', members: [{ value: userId }] })).body.id;
});
afterAll(() => s.close());

const RUNS = configureFuzz(20261201);

/** JSON text nested `depth` deep: {"a":{"a":…}} or [[…]] (kept as text: fast-check would recurse into it). */
const deep = (depth: number, array: boolean) =>
  array ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);

/** What may arrive where a string, a boolean or a list belongs, as JSON text. */
const hostileValue: fc.Arbitrary<string> = fc.oneof(
  fc
    .oneof(
      fc.string(),
      fc.string({ unit: 'grapheme', maxLength: 40 }),
      fc.constantFrom('', ' ', '\u0000', 'a\u0000b', '%ff', '\ud800', '💥'.repeat(50), 'x'.repeat(70_000)),
      fc.string({ minLength: 600, maxLength: 3000, unit: 'binary' }), // long, and not compressible
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.array(fc.oneof(fc.string(), fc.integer(), fc.constant(null)), { maxLength: 4 }),
      fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.string(), fc.integer()), { maxKeys: 3 }),
    )
    .map((v) => JSON.stringify(v)),
  fc.constantFrom(50, 1000, 5000).chain((d) => fc.boolean().map((arr) => deep(d, arr))),
);

/** A path segment as a client might send it, already encoded (or malformed on purpose). */
const hostileSegment: fc.Arbitrary<string> = fc.oneof(
  fc.uuid(),
  fc.string({ maxLength: 20 }).map(encodeURIComponent),
  fc.constantFrom('%ff', '%00', '%E0%A4%A', '%', '%%', '..', '%2e%2e', '%2F', 'a%20b', ';', '~', 'x'.repeat(600)),
  fc.string({ unit: 'grapheme', maxLength: 10 }).map(encodeURIComponent),
);

/** A query string: known and unknown keys, repeated keys (which Express parses as arrays), odd values. */
const hostileQuery = (keys: string[]): fc.Arbitrary<string> =>
  fc
    .array(
      fc.tuple(
        fc.constantFrom(...keys, 'x', 'filter[]', 'count[a]'),
        fc.oneof(
          fc.string({ maxLength: 30 }).map(encodeURIComponent),
          fc.constantFrom('-1', '0', '1e9', 'NaN', '1.5', 'true', '%ff', '', '99999999999999999999', '%00'),
        ),
      ),
      { maxLength: 5 },
    )
    .map((pairs) => (pairs.length ? '?' + pairs.map(([k, v]) => `${k}=${v}`).join('&') : ''));

/**
 * A body (JSON text) for a route: its own fields with hostile values, a hostile value as the whole
 * body, or (for resources) a valid one with one field made hostile, so the value reaches the store.
 */
const hostileBody = (fields: string[]): fc.Arbitrary<string> =>
  fc.oneof(
    hostileValue,
    fc
      .tuple(fc.constantFrom(...fields), hostileValue, fc.uuid())
      .map(
        ([field, value, id]) =>
          `{"userName":"${id}@fuzz.example","displayName":"g-${id}","emails":[{"value":"${id}@fuzz.example"}],${JSON.stringify(field)}:${value}}`,
      ),
    fc
      .uniqueArray(fc.tuple(fc.constantFrom(...fields, 'schemas', 'id', '__proto__', 'constructor'), hostileValue), {
        maxLength: 4,
        selector: ([k]) => k,
      })
      .map((entries) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`),
  );

type Route = { method: 'get' | 'post' | 'put' | 'patch' | 'delete'; path: (seg: string) => string; fields?: string[] };

const SCIM_QUERY = ['filter', 'count', 'startIndex', 'attributes', 'excludedAttributes', 'sortBy', 'sortOrder'];
const USER_FIELDS = ['userName', 'name', 'displayName', 'emails', 'active', 'externalId', 'phoneNumbers', 'title'];
const GROUP_FIELDS = ['displayName', 'members', 'externalId'];
const PATCH_FIELDS = ['Operations', 'op', 'path', 'value'];
const SEARCH_FIELDS = SCIM_QUERY;

const scimRoutes: Route[] = [
  { method: 'get', path: () => '/Users' },
  { method: 'post', path: () => '/Users', fields: USER_FIELDS },
  { method: 'post', path: () => '/Users/.search', fields: SEARCH_FIELDS },
  { method: 'get', path: (x) => `/Users/${x}` },
  { method: 'put', path: (x) => `/Users/${x}`, fields: USER_FIELDS },
  { method: 'patch', path: (x) => `/Users/${x}`, fields: PATCH_FIELDS },
  { method: 'delete', path: (x) => `/Users/${x}` },
  { method: 'put', path: () => `/Users/${userId}`, fields: USER_FIELDS },
  { method: 'patch', path: () => `/Users/${userId}`, fields: PATCH_FIELDS },
  { method: 'get', path: () => '/Groups' },
  { method: 'post', path: () => '/Groups', fields: GROUP_FIELDS },
  { method: 'post', path: () => '/Groups/.search', fields: SEARCH_FIELDS },
  { method: 'get', path: (x) => `/Groups/${x}` },
  { method: 'put', path: (x) => `/Groups/${x}`, fields: GROUP_FIELDS },
  { method: 'patch', path: (x) => `/Groups/${x}`, fields: PATCH_FIELDS },
  { method: 'delete', path: (x) => `/Groups/${x}` },
  { method: 'put', path: () => `/Groups/${groupId}`, fields: GROUP_FIELDS },
  { method: 'patch', path: () => `/Groups/${groupId}`, fields: PATCH_FIELDS },
  { method: 'get', path: () => '/ServiceProviderConfig' },
  { method: 'get', path: () => '/Schemas' },
  { method: 'get', path: (x) => `/Schemas/${x}` },
  { method: 'get', path: () => '/ResourceTypes' },
  { method: 'get', path: (x) => `/ResourceTypes/${x}` },
  { method: 'get', path: (x) => `/${x}` },
  { method: 'post', path: (x) => `/${x}`, fields: USER_FIELDS },
];

const CONNECTION_FIELDS = [
  'name',
  'kind',
  'provider',
  'target',
  'importUsers',
  'importGroups',
  'entra',
  'ldap',
  'schedule',
];
const RULES_FIELDS = ['users', 'groups', 'attributes', 'deprovision', 'customers', 'defaults', 'projects'];
const ADMIN_QUERY = [
  'status',
  'limit',
  'after',
  'start',
  'dryRun',
  'mode',
  'before',
  'kind',
  'actor',
  'connectionId',
  'format',
];

/** Every admin API route; destructive ones (delete, token rotation) only on ids that are not the test's connection. */
const adminRoutes = (): Route[] => [
  { method: 'get', path: () => '/site-credentials' },
  { method: 'put', path: () => '/site-credentials', fields: ['email', 'apiToken', 'orgId', 'orgApiKey'] },
  { method: 'get', path: () => '/connections' },
  { method: 'post', path: () => '/connections', fields: CONNECTION_FIELDS },
  { method: 'get', path: (x) => `/connections/${x}` },
  { method: 'patch', path: (x) => `/connections/${x}`, fields: CONNECTION_FIELDS },
  { method: 'patch', path: () => `/connections/${s.connectionId}`, fields: CONNECTION_FIELDS },
  { method: 'delete', path: (x) => `/connections/${x}` },
  { method: 'post', path: (x) => `/connections/${x}/token` },
  { method: 'post', path: () => `/connections/${s.connectionId}/test`, fields: ['entra', 'ldap'] },
  { method: 'post', path: () => `/connections/${s.connectionId}/test-user`, fields: ['user', 'username'] },
  { method: 'get', path: (x) => `/connections/${x}/rules` },
  { method: 'put', path: () => `/connections/${s.connectionId}/rules`, fields: RULES_FIELDS },
  { method: 'post', path: () => `/connections/${s.connectionId}/rules/preview`, fields: ['samples', 'rules'] },
  { method: 'post', path: () => `/connections/${s.connectionId}/sync`, fields: ['dryRun', 'mode'] },
  { method: 'get', path: (x) => `/connections/${x}/runs` },
  { method: 'get', path: (x) => `/runs/${x}` },
  { method: 'post', path: (x) => `/runs/${x}/retry` },
  { method: 'get', path: () => '/jsm/service-desks' },
  { method: 'get', path: () => '/jsm/organizations' },
  { method: 'get', path: () => '/audit' },
  { method: 'get', path: () => '/audit/export' },
  { method: 'get', path: () => '/api-tokens' },
  { method: 'post', path: () => '/api-tokens', fields: ['name', 'access', 'expiresInDays'] },
  { method: 'delete', path: (x) => `/api-tokens/${x}` },
  { method: 'get', path: (x) => `/${x}` },
];

/** A route and a body made for its fields. */
const withBody = (routes: Route[], fallback: string[]) =>
  fc.constantFrom(...routes).chain((r) => hostileBody(r.fields ?? fallback).map((b) => [r, b] as const));

function send(base: string, route: Route, seg: string, query: string, body: string, headers: Record<string, string>) {
  const agent = request(s.app.url);
  const t = agent[route.method](base + route.path(seg) + query).set(headers);
  return route.method === 'get' || route.method === 'delete' ? t : t.set('Content-Type', 'application/json').send(body);
}

/** FUZZ_STATS=1: how many answers of each status (to see that the fuzz reaches the handlers, not only the 404s). */
const stats: Record<string, number> = {};
afterAll(() => process.env.FUZZ_STATS && console.log(JSON.stringify(stats)));

/** Fails (with the request) on a 5xx or an error not in the protocol's format. */
function check(what: string, res: request.Response, scim: boolean): boolean {
  const fail = (why: string) => {
    throw new Error(`${what} → ${res.status} ${why}: ${res.text.slice(0, 300)}`);
  };
  if (process.env.FUZZ_STATS)
    stats[`${scim ? 'scim' : 'admin'} ${res.status}`] = (stats[`${scim ? 'scim' : 'admin'} ${res.status}`] ?? 0) + 1;
  if (res.status >= 500) fail('a server error');
  if (res.status >= 400 && res.status !== 431) {
    const b = res.body as Record<string, unknown>;
    if (scim) {
      if (!Array.isArray(b?.schemas) || b.schemas[0] !== 'urn:ietf:params:scim:api:messages:2.0:Error')
        fail('not a SCIM error');
      if (b.status !== String(res.status)) fail('SCIM error status differs');
    } else if (typeof b?.error !== 'string' || typeof b?.message !== 'string') fail('not {error, message}');
  }
  return true;
}

it(`SCIM: ${RUNS} requests with hostile paths, queries and bodies answer 4xx or 2xx in SCIM's format`, async () => {
  const auth = { Authorization: `Bearer ${s.token}` };
  await fc.assert(
    fc.asyncProperty(
      withBody(scimRoutes, USER_FIELDS),
      hostileSegment,
      hostileQuery(SCIM_QUERY),
      async ([route, body], seg, query) => {
        const res = await send(s.base, route, seg, query, body, auth);
        return check(`${route.method.toUpperCase()} ${route.path(seg)}${query} ${body.slice(0, 200)}`, res, true);
      },
    ),
    { numRuns: RUNS },
  );
  // What was refused left nothing behind: the two resources made above, and whatever valid bodies created.
  const kept = await s.get(`/Users/${userId}`);
  expect(kept.status).toBe(200);
});

it(`admin API: ${RUNS} requests with hostile paths, queries and bodies answer 4xx or 2xx as {error, message}`, async () => {
  const admin = jwtHeader(s.jira.contextJwt(s.jira.admin.accountId));
  const routes = adminRoutes();
  await fc.assert(
    fc.asyncProperty(
      withBody(routes, CONNECTION_FIELDS),
      hostileSegment,
      hostileQuery(ADMIN_QUERY),
      async ([route, body], seg, query) => {
        if (seg === s.connectionId) return true;
        const res = await send('/api/v1', route, seg, query, body, admin);
        return check(`${route.method.toUpperCase()} ${route.path(seg)}${query} ${body.slice(0, 200)}`, res, false);
      },
    ),
    { numRuns: RUNS },
  );
  expect((await s.get(`/Users/${userId}`)).status).toBe(200);
});

it('over-long URLs get 414 in the protocol format (431 from Node past its header limit); over-large headers 431', async () => {
  const long = 'x'.repeat(9000);
  const scim = await s.get(`/Users?filter=${long}`);
  expect(scim.status).toBe(414);
  expect(scim.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '414' });
  const admin = await request(s.app.url)
    .get(`/api/v1/connections?x=${long}`)
    .set(jwtHeader(s.jira.contextJwt(s.jira.admin.accountId)));
  expect(admin.status).toBe(414);
  expect(admin.body).toMatchObject({ error: 'uri_too_long' });
  const huge = await fetch(`${s.app.url}${s.base}/Users?filter=${'x'.repeat(20_000)}`);
  expect(huge.status).toBe(431);
  const header = await fetch(`${s.app.url}${s.base}/Users`, { headers: { 'X-Big': 'y'.repeat(20_000) } });
  expect(header.status).toBe(431);
});

it('a malformed percent-encoding in the connection id of a SCIM URL → 400 in SCIM format', async () => {
  for (const bad of ['%ff', '%E0%A4%A', '%']) {
    const res = await request(s.app.url).get(`/scim/v2/${bad}/Users`).set('Authorization', `Bearer ${s.token}`);
    expect([res.status, res.body.schemas]).toEqual([400, ['urn:ietf:params:scim:api:messages:2.0:Error']]);
  }
});
