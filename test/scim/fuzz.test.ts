import fc from 'fast-check';
import { configureFuzz } from '../support/fuzz';
import { ENTERPRISE, PATCH_OP, startScim, type ScimHarness } from '../support/scim';

/**
 * Thousands of random filters, PATCH bodies and create bodies, some well-formed and many not:
 * the endpoint must always answer with a client error or success, never a 5xx.
 */
jest.setTimeout(300_000);

let s: ScimHarness;
let userId: string;
let groupId: string;
beforeAll(async () => {
  s = await startScim('generic');
  userId = (
    await s.post('/Users', {
      userName: 'fuzz@example.com',
      emails: [{ value: 'fuzz@example.com', type: 'work', primary: true }],
    })
  ).body.id;
  groupId = (await s.post('/Groups', { displayName: 'Fuzzers', members: [{ value: userId }] })).body.id;
});
afterAll(() => s.close());

const RUNS = configureFuzz(20261122);

const names = [
  'userName',
  'USERNAME',
  'displayName',
  'name',
  'name.givenName',
  'name.FamilyName',
  'emails',
  'emails.value',
  'emails.type',
  'emails.primary',
  'active',
  'externalId',
  'id',
  'meta.created',
  'meta.lastModified',
  'meta.version',
  'meta.location',
  'groups',
  'groups.value',
  'groups.display',
  'members',
  'members.value',
  'phoneNumbers',
  'addresses.locality',
  'title',
  'password',
  'x509Certificates.value',
  `${ENTERPRISE}:employeeNumber`,
  `${ENTERPRISE}:manager.value`,
  `${ENTERPRISE}:manager`,
  'urn:ietf:params:scim:schemas:core:2.0:User:userName',
  'urn:bogus:x',
  'nosuch',
  'name.nosuch',
  'a.b.c',
  '$ref',
  'urn:',
  '.',
  '',
];
const ops = [
  'eq',
  'ne',
  'co',
  'sw',
  'ew',
  'gt',
  'ge',
  'lt',
  'le',
  'pr',
  'EQ',
  'Pr',
  'xx',
  'and',
  'or',
  'not',
  '[',
  ']',
  '(',
];
const text = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  fc.constantFrom(
    '%',
    '_',
    '\\',
    "'",
    '"',
    '\\"',
    "'; DROP TABLE directory_users; --",
    '\u0000',
    'null',
    '2020-01-01T00:00:00Z',
    'yesterday',
  ),
);
const value = fc.oneof(
  text.map((t) => JSON.stringify(t)),
  text,
  fc.constantFrom(
    'true',
    'false',
    'null',
    'True',
    '1e309',
    '-0',
    '9999999999999999999999',
    '2015-10-10T14:38:21.8617979-07:00',
  ),
  fc.double().map(String),
  fc.integer().map(String),
);

const comparison = fc
  .tuple(fc.constantFrom(...names), fc.constantFrom(...ops), value)
  .map(([n, o, v]) => (o.toLowerCase() === 'pr' ? `${n} ${o}` : `${n} ${o} ${v}`));
// letrec's tie() is untyped; every arbitrary tied here is a filter string.
const filter: fc.Arbitrary<string> = fc.letrec((tieAny) => {
  const tie = (key: string) => tieAny(key) as fc.Arbitrary<string>;
  return {
    f: fc.oneof(
      { depthSize: 'small' },
      comparison,
      fc.tuple(tie('f'), fc.constantFrom('and', 'or', 'AND', 'Or'), tie('f')).map(([a, o, b]) => `${a} ${o} ${b}`),
      tie('f').map((f) => `not (${f})`),
      tie('f').map((f) => `(${f})`),
      fc
        .tuple(fc.constantFrom('emails', 'members', 'addresses', 'name', 'nosuch'), tie('f'))
        .map(([n, f]) => `${n}[${f}]`),
    ),
  };
}).f;
const anyFilter = fc.oneof(filter, fc.string(), fc.string({ unit: 'grapheme-ascii', maxLength: 200 }));

const jsonValue = fc.jsonValue({ maxDepth: 3 });
const patchOp = fc.record(
  {
    op: fc.oneof(
      fc.constantFrom('add', 'replace', 'remove', 'Add', 'Replace', 'Remove', 'REMOVE', 'move', ''),
      fc.string(),
      fc.integer(),
    ),
    path: fc.oneof(
      fc.constantFrom(...names),
      filter.map((f) => `emails[${f}].value`),
      filter.map((f) => `members[${f}]`),
      fc.string(),
      fc.constant(null),
    ),
    value: fc.oneof(
      jsonValue,
      fc.dictionary(fc.constantFrom(...names, 'schemas', 'id', 'members'), jsonValue),
      fc.array(fc.record({ value: fc.oneof(fc.constant('USER_ID'), fc.string(), jsonValue) })),
    ),
  },
  { requiredKeys: [] },
);
const patchBody = fc.oneof(
  fc.array(patchOp, { maxLength: 5 }).map((Operations) => ({ schemas: [PATCH_OP], Operations })),
  fc.record({ Operations: fc.oneof(jsonValue, fc.array(jsonValue)) }, { requiredKeys: [] }),
  jsonValue,
);
const createBody = fc.oneof(
  fc.dictionary(fc.constantFrom(...names, 'schemas', ENTERPRISE, 'members', 'roles'), jsonValue),
  fc
    .record({ userName: fc.string({ minLength: 1 }), displayName: fc.string({ minLength: 1 }) })
    .chain((base) => fc.dictionary(fc.constantFrom(...names), jsonValue).map((rest) => ({ ...rest, ...base }))),
  jsonValue,
);

/** Fails the property (with the request) on any 5xx. */
const noServerError = (what: string) => (res: { status: number; body: unknown }) => {
  if (res.status >= 500) throw new Error(`${what} → ${res.status} ${JSON.stringify(res.body)}`);
  return true;
};

it(`answers ${RUNS} random filters on /Users and /Groups without a 5xx`, async () => {
  await fc.assert(
    fc.asyncProperty(anyFilter, fc.constantFrom('Users', 'Groups'), async (f, endpoint) => {
      const res = await s.get(`/${endpoint}?filter=${encodeURIComponent(f)}&count=5`);
      expect([200, 400]).toContain(res.status);
      return noServerError(`filter ${JSON.stringify(f)}`)(res);
    }),
    { numRuns: RUNS },
  );
});

it(`applies ${RUNS} random PATCH bodies to a user and a group without a 5xx`, async () => {
  await fc.assert(
    fc.asyncProperty(patchBody, fc.boolean(), async (body, onGroup) => {
      const res = await s.patch(
        onGroup ? `/Groups/${groupId}` : `/Users/${userId}`,
        JSON.parse(JSON.stringify(body ?? null).replaceAll('USER_ID', userId)),
      );
      return noServerError(`PATCH ${JSON.stringify(body)}`)(res);
    }),
    { numRuns: RUNS },
  );
});

it(`takes ${Math.round(RUNS / 3)} random create bodies without a 5xx`, async () => {
  await fc.assert(
    fc.asyncProperty(createBody, fc.constantFrom('Users', 'Groups'), async (body, endpoint) => {
      const res = await s.post(`/${endpoint}`, body);
      return noServerError(`POST /${endpoint} ${JSON.stringify(body)}`)(res);
    }),
    { numRuns: Math.round(RUNS / 3) },
  );
});
