import type { HttpResponse, OutboundHttp } from '../../src/sources/http';
import { bucketOf, nextLink, OktaClient, OktaError } from '../../src/sources/okta/client';
import { parseOktaCredential } from '../../src/sources/okta/credential';
import { ALL_STATUSES, storeId, toPulledUser } from '../../src/sources/okta/mapping';
import { OktaRates } from '../../src/sources/okta/rates';
import type { OktaSettings } from '../../src/sources/okta/settings';
import type { OktaUser } from '../../src/sources/okta/types';

/** An HTTPS client that answers from a script (the paging and rate logic, without a server). */
function scripted(answers: Array<Partial<HttpResponse>>): OutboundHttp & { urls: string[] } {
  const urls: string[] = [];
  return {
    urls,
    request: (_m: string, url: string) => {
      urls.push(url);
      const a = answers.shift() ?? { status: 500, text: 'script ended' };
      return Promise.resolve({ status: 200, headers: {}, text: '[]', ...a });
    },
  } as unknown as OutboundHttp & { urls: string[] };
}
/** A clock the rate book's waits move forward (no test waits for Okta's minute). */
let offset = 0;
const realNow = Date.now.bind(Date);
beforeEach(() => {
  offset = 0;
  jest.spyOn(Date, 'now').mockImplementation(() => realNow() + offset);
});
afterEach(() => jest.restoreAllMocks());
const waited = (waits: number[]) => (ms: number) => {
  waits.push(ms);
  offset += ms;
  return Promise.resolve();
};

const token = parseOktaCredential('00abcdefghijklmnopqrstuvwxyz0123456789AB');
const client = (http: OutboundHttp, rates = new OktaRates(0.1)) =>
  new OktaClient('https://acme.okta.com', token as Exclude<typeof token, string>, { http, rates, maxAttempts: 3 });

it('reads the Link header and names rate buckets by their templates', () => {
  expect(
    nextLink(
      '<https://acme.okta.com/api/v1/users?limit=200>; rel="self", <https://acme.okta.com/api/v1/users?after=00u1&limit=200>; rel="next"',
    ),
  ).toBe('https://acme.okta.com/api/v1/users?after=00u1&limit=200');
  expect(nextLink('<https://acme.okta.com/api/v1/users>; rel="self"')).toBeUndefined();
  expect(bucketOf('/api/v1/groups/00g1a2b3c4d5e6f7g8h9/users')).toBe('/api/v1/groups/*/users');
  expect(bucketOf('/api/v1/apps/0oa1a2b3c4d5e6f7g8h9/users/00u1a2b3c4d5e6f7g8h9')).toBe('/api/v1/apps/*/users/*');
});

it('follows next links on the org only: a link to another host is refused, never followed', async () => {
  const http = scripted([
    { text: '[{"id":"00u1"}]', headers: { link: '<https://evil.example/api/v1/users?after=x>; rel="next"' } },
  ]);
  const pages = client(http).users();
  expect(await pages.next()).toMatchObject({ value: [{ id: '00u1' }] });
  await expect(pages.next()).rejects.toThrow(/next page is on another host \(evil.example\)/);
  expect(http.urls).toEqual(['https://acme.okta.com/api/v1/users?limit=200']);
});

it('asks a 429 again after the bucket resets (X-Rate-Limit-Reset against Date), and gives up after its attempts', async () => {
  const now = Date.now();
  const reset = String(Math.ceil(now / 1000) + 1);
  const rate = {
    'x-rate-limit-limit': '600',
    'x-rate-limit-remaining': '0',
    'x-rate-limit-reset': reset,
    date: new Date(now).toUTCString(),
  };
  const waits: number[] = [];
  const rates = new OktaRates(0.1, waited(waits));
  const http = scripted([{ status: 429, headers: rate, text: '{"errorCode":"E0000047"}' }, { text: '{"id":"00u1"}' }]);
  expect(await client(http, rates).user('00u1')).toEqual({ id: '00u1' });
  expect(waits).toHaveLength(1);
  expect(waits[0]).toBeGreaterThan(900); // until the reset, and a second more

  const refused = scripted(
    Array.from({ length: 3 }, () => ({
      status: 429,
      headers: rate,
      text: '{"errorCode":"E0000047","errorSummary":"API call exceeded rate limit due to too many requests."}',
    })),
  );
  await expect(client(refused, rates).user('00u1')).rejects.toMatchObject({ status: 429, code: 'E0000047' });
  expect(refused.urls).toHaveLength(3);
});

it('paces a bucket before Okta refuses: the reserve is left, requests still in flight are counted', async () => {
  const waits: number[] = [];
  const rates = new OktaRates(0.1, waited(waits));
  const reset = String(Math.ceil(Date.now() / 1000) + 30);
  const headers = (remaining: number) => ({
    'x-rate-limit-limit': '10',
    'x-rate-limit-remaining': String(remaining),
    'x-rate-limit-reset': reset,
  });
  // four requests out before Okta has said anything
  for (let i = 0; i < 4; i++) await rates.turn('o', 'b');
  rates.note('o', 'b', headers(9), false); // the first answer: 9 left, but three more are on their way
  await rates.turn('o', 'b'); // 9 - 3 = 6 → 5
  rates.note('o', 'b', headers(8), false);
  rates.note('o', 'b', headers(7), false);
  rates.note('o', 'b', headers(6), false);
  rates.note('o', 'b', headers(5), false);
  for (let i = 0; i < 5; i++) await rates.turn('o', 'b');
  expect(waits).toHaveLength(1); // Okta said 5 are left, none is out: four go, the fifth waits: only the reserve (1 of 10) is left
});

it('refuses what is neither a key nor a token, and public keys', () => {
  expect(parseOktaCredential('not a token!')).toMatch(/neither an API token/);
  expect(parseOktaCredential('-----BEGIN PUBLIC KEY-----\nAAA\n-----END PUBLIC KEY-----')).toMatch(/public key/);
  expect(parseOktaCredential('{"kty":"RSA","n":"x","e":"AQAB"}')).toMatch(/public key/);
  expect(parseOktaCredential('{"kty":"RSA","d":"x"}')).toMatch(/does not parse|not a private key/);
  expect(typeof parseOktaCredential('00abcdefghijklmnopqrstuvwxyz0123456789AB')).toBe('object');
  expect(OktaError).toBeDefined();
});

it("maps each of Okta's statuses as docs/okta.md says, and the profile into SCIM's names", () => {
  const settings = { usernameAttribute: 'login' } as OktaSettings;
  const user = (status: string, transitioningToStatus: string | null = null): OktaUser => ({
    id: '00u1',
    status,
    transitioningToStatus,
    profile: { login: 'ann@example.com', email: 'ann@example.com' },
  });
  const active = Object.fromEntries(ALL_STATUSES.map((s) => [s, toPulledUser(user(s), settings).active]));
  expect(active).toEqual({
    STAGED: false,
    PROVISIONED: true,
    ACTIVE: true,
    RECOVERY: true,
    PASSWORD_EXPIRED: true,
    LOCKED_OUT: true,
    SUSPENDED: false,
    DEPROVISIONED: false,
  });
  // a user being deactivated already is inactive
  expect(toPulledUser(user('ACTIVE', 'DEPROVISIONED'), settings).active).toBe(false);
  expect(toPulledUser(user('ACTIVE', 'ACTIVE'), settings).active).toBe(true);

  const full: OktaUser = {
    id: '00u2',
    status: 'ACTIVE',
    profile: {
      login: 'bo@corp.example',
      email: 'bo@example.com',
      firstName: 'Bo',
      lastName: 'Ek',
      title: 'Lead',
      department: 'R&D',
      employeeNumber: '42',
      organization: 'Acme',
      division: 'North',
      costCenter: 'CC-7',
      managerId: '00u9',
      manager: 'Ann Lee',
      favouriteColour: 'teal',
    },
  };
  const pulled = toPulledUser(full, settings);
  expect(pulled).toMatchObject({ userName: 'bo@corp.example', email: 'bo@example.com', displayName: 'Bo Ek' });
  expect(pulled.id).toBe(storeId('user', '00u2')); // a new login or email keeps the row
  expect(pulled.resource).toMatchObject({
    favouriteColour: 'teal', // custom attributes by their Okta names
    title: 'Lead',
    name: { givenName: 'Bo', familyName: 'Ek' },
    emails: [{ value: 'bo@example.com', primary: true }],
    'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': {
      department: 'R&D',
      employeeNumber: '42',
      organization: 'Acme',
      division: 'North',
      costCenter: 'CC-7',
      manager: { value: '00u9', displayName: 'Ann Lee' },
    },
  });
  expect(toPulledUser(full, { usernameAttribute: 'email' } as OktaSettings).userName).toBe('bo@example.com');
});
