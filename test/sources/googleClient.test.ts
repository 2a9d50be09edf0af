import fs from 'node:fs';
import { GoogleClient, GoogleError } from '../../src/sources/google/client';
import { waitPhase } from '../../src/sources/google/service';
import { parseServiceAccountKey, type ServiceAccountKey } from '../../src/sources/google/key';
import { GOOGLE_SCOPES } from '../../src/sources/google/settings';
import { GoogleTransport } from '../../src/sources/google/transport';
import { FakeGoogle } from '../support/fakeGoogle';

/** The Google client and its transport against the strict fake: paging at Google's maxima, and how refusals are waited out. */
let google: FakeGoogle;
let key: ServiceAccountKey;
const waits: Array<{ reason: string; waitMs: number }> = [];
const slept: number[] = [];
let transport: GoogleTransport;

beforeEach(async () => {
  google = await new FakeGoogle().start();
  const sa = google.addServiceAccount();
  google.delegate(sa.clientId, GOOGLE_SCOPES);
  google.addUser({ primaryEmail: 'admin@example.com', isAdmin: true }, { event: false });
  key = parseServiceAccountKey(sa.key) as ServiceAccountKey;
  waits.length = 0;
  slept.length = 0;
  transport = new GoogleTransport({
    apiUrl: google.url,
    tokenUrl: google.tokenUrl,
    caPem: fs.readFileSync(google.certFile, 'utf8'),
    timeoutMs: 5_000,
    maxAttempts: 4,
    sleep: (ms) => {
      slept.push(ms);
      return Promise.resolve();
    },
    onWait: ({ reason, waitMs }) => waits.push({ reason, waitMs }),
  });
});
afterEach(async () => {
  transport.close();
  await google.stop();
});

const client = (subject = 'admin@example.com') => new GoogleClient(key, subject, transport, 1_000_000, 'my_customer');

describe('GoogleClient', () => {
  it("pages users at Google's maximum of 500 and groups' members at 200: the fewest calls", async () => {
    for (let i = 0; i < 1_200; i++) google.addUser({ primaryEmail: `u${i}@example.com` }, { event: false });
    const g = google.addGroup('All');
    for (const u of [...google.users.values()].slice(0, 450)) google.addMember(g.id, u.id, false);
    const c = client();
    let users = 0;
    for await (const page of c.users({ projection: 'basic' })) users += page.length;
    let members = 0;
    for await (const page of c.members(g.id)) members += page.length;
    expect([users, members]).toEqual([1_201, 450]);
    const lists = google.calls
      .filter((x) => x.path !== '/token')
      .map((x) => `${x.path.split('/').pop()} ${x.query.maxResults}`);
    expect(lists).toEqual(['users 500', 'users 500', 'users 500', 'members 200', 'members 200', 'members 200']);
  });

  it("waits out 403 userRateLimitExceeded, 429 and 5xx with backoff, and a 403 quotaExceeded until the quota's next minute", async () => {
    google.failNext(1, 403, 'userRateLimitExceeded');
    google.failNext(1, 429, 'rateLimitExceeded');
    google.failNext(1, 503, 'backendError');
    const before = Date.now();
    expect(await client().user('admin@example.com')).toMatchObject({ primaryEmail: 'admin@example.com' });
    expect(waits.map((w) => w.reason)).toEqual(['userRateLimitExceeded', 'rateLimitExceeded', '503']);
    expect(slept).toHaveLength(3);
    google.failNext(1, 403, 'quotaExceeded');
    waits.length = 0;
    expect(await client().user('admin@example.com')).toBeTruthy();
    expect(waits).toHaveLength(1);
    expect(waits[0].reason).toBe('quotaExceeded');
    const untilMinute = 60_000 - (before % 60_000);
    expect(waits[0].waitMs).toBeGreaterThan(Math.min(untilMinute, 60_000) - 2_000);
    expect(waits[0].waitMs).toBeLessThanOrEqual(61_000);
  });

  it('says a refusal that asking again will not change at once, as a GoogleError naming its reason', async () => {
    const plain = google.addUser({ primaryEmail: 'plain@example.com' }, { event: false });
    await expect(client(plain.primaryEmail).user('admin@example.com')).rejects.toMatchObject({
      status: 403,
      reason: 'forbidden',
    });
    google.delegate(key.clientId, [GOOGLE_SCOPES[0]]);
    const refused = await client()
      .token()
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(GoogleError);
    expect(refused).toMatchObject({ at: 'token', oauthError: 'unauthorized_client', status: 401 });
    expect(waits).toEqual([]);
  });

  it('tells a read of each wait, which it shows as its phase: a quota paused until it resets, a throttled request', async () => {
    const heard: string[] = [];
    const c = new GoogleClient(key, 'admin@example.com', transport, 1_000_000, 'my_customer', (w) =>
      heard.push(waitPhase(w, Date.parse('2026-12-04T10:30:20Z'))),
    );
    google.failNext(1, 403, 'userRateLimitExceeded');
    expect(await c.user('admin@example.com')).toBeTruthy();
    expect(heard).toEqual([
      expect.stringMatching(/^waiting \d+ s: Google asked to slow down \(userRateLimitExceeded\)$/),
    ]);
    expect(waitPhase({ reason: 'quotaExceeded', waitMs: 41_000 }, Date.parse('2026-12-04T10:30:20Z'))).toBe(
      "paused until 10:31:01 UTC: Google's quota for the Admin SDK is used up and resets each minute",
    );
  });

  it("keeps under Google's per-user quota by pacing, where an unpaced client is refused", async () => {
    google.quotaWindowMs = 1_000; // the fake's minute, shortened: 5 queries a second
    google.queriesPerMinute = 5;
    const paced = new GoogleClient(key, 'admin@example.com', transport, 240, 'my_customer'); // 4 a second
    for (let i = 0; i < 10; i++) expect(await paced.user('admin@example.com')).toBeTruthy();
    expect(google.calls.filter((c) => c.status === 403)).toEqual([]);
    const unpaced = client();
    for (let i = 0; i < 10; i++) await unpaced.user('admin@example.com').catch(() => undefined); // its retries need no sleep here
    expect(google.calls.filter((c) => c.status === 403).length).toBeGreaterThan(0); // refused, then asked again
  });

  it('a refusal still there after the last attempt is said, not asked again', async () => {
    google.failNext(4, 429, 'rateLimitExceeded');
    await expect(client().user('admin@example.com')).rejects.toMatchObject({
      status: 429,
      reason: 'rateLimitExceeded',
    });
    expect(google.calls.filter((c) => c.status === 429)).toHaveLength(4);
  });
});
