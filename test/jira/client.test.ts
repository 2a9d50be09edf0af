import { isAlreadyMember } from '../../src/jira/client';
import { JiraError } from '../../src/jira/errors';
import { collect } from '../../src/jira/paging';
import { createJwtTransport } from '../../src/jira/transport';
import { startTestApp, type TestApp } from '../support/app';
import { VirtualClock } from '../support/clock';
import { FakeJira } from '../support/fakeJira';
import { KeyServer } from '../support/keyServer';

let keys: KeyServer;
let app: TestApp;
let jira: FakeJira;
let clock: VirtualClock;
const ORG_KEY = 'org-key-for-tests';

beforeAll(async () => {
  keys = await new KeyServer().start();
});
beforeEach(async () => {
  jira = await new FakeJira().start();
  clock = new VirtualClock();
  app = await startTestApp({
    keys,
    clock,
    env: {
      ATLASSIAN_API_URL: jira.url,
      JIRA_MAX_ATTEMPTS: '3',
      JIRA_TIMEOUT_MS: '400',
      JIRA_CONCURRENCY_PER_TENANT: '3',
      JIRA_BACKOFF_BASE_MS: '100',
      JIRA_BACKOFF_MAX_MS: '1000',
      JIRA_MAX_RETRY_WAIT_MS: '60000',
    },
  });
  await jira.install(app.url, keys);
  jira.setOrgApiKey(ORG_KEY);
  jira.calls.length = 0;
});
afterEach(async () => {
  await app.close();
  await jira.stop();
});
afterAll(() => keys.stop());

const client = () => app.jira.forTenant(jira.clientKey);
const storeToken = () =>
  app.credentials.save(jira.clientKey, {
    email: jira.admin.emailAddress,
    apiToken: jira.adminToken,
    tokenAccountId: jira.admin.accountId,
    orgId: 'org-1',
    orgApiKey: ORG_KEY,
    updatedBy: 'test',
  });
const rejection = async (p: Promise<unknown>): Promise<JiraError> => {
  try {
    await p;
  } catch (err) {
    if (err instanceof JiraError) return err;
    throw err;
  }
  throw new Error('expected the call to fail');
};

describe('transports', () => {
  it('reads with the Connect JWT, which the fake verifies (issuer, expiry, qsh over path and query)', async () => {
    const me = await client().myself();
    expect(me.accountType).toBe('app');
    const user = jira.state.addUser({ emailAddress: 'ann@example.com', displayName: 'Ann Example' });
    expect(await client().searchUsers('ann')).toEqual([expect.objectContaining({ accountId: user.accountId })]);
    expect(jira.calls.map((c) => [c.path, c.auth, c.status])).toEqual([
      ['/rest/api/3/myself', 'jwt', 200],
      ['/rest/api/3/user/search', 'jwt', 200],
    ]);
  });

  it('the fake refuses the JWT (403) on endpoints closed to Connect apps', async () => {
    const res = await createJwtTransport(app.addon, jira.clientKey, 2000).send({
      method: 'POST',
      path: '/rest/api/3/group',
      body: { name: 'g' },
    });
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ errorMessages: ['Connect apps cannot access this REST resource.'] });
  });

  it('writes users and groups with the site-admin token', async () => {
    await storeToken();
    const group = await client().createGroup('engineering');
    const user = await client().createUser('new.person@example.com', ['jira-software']);
    await client().addUserToGroup(group.groupId, user.accountId);
    expect(jira.state.groupsOf(user.accountId)).toEqual(['engineering']);
    expect(jira.calls.every((c) => c.auth === 'token')).toBe(true);
  });

  it('says which credential is missing instead of calling Jira without it', async () => {
    const err = await rejection(client().createGroup('x'));
    expect(err).toMatchObject({ kind: 'needs-credentials', retryable: false, details: { needs: 'site-admin-token' } });
    expect(err.message).toMatch(/needs a site-admin API token/);
    const org = await rejection(client().disableAccount('someone'));
    expect(org.details.needs).toBe('org-api-key');
    expect(jira.calls).toHaveLength(0);
  });

  it('deactivates managed accounts with the org API key', async () => {
    await storeToken();
    const user = jira.state.addUser({ emailAddress: 'leaver@example.com' });
    jira.state.managedAccounts.set(user.accountId, { active: true, profile: {} });
    await client().disableAccount(user.accountId);
    expect(jira.state.users.get(user.accountId)!.active).toBe(false);
    expect(jira.calls.at(-1)).toMatchObject({ auth: 'org', status: 204 });
  });

  it('updates a managed profile with the org key; Jira answers `{"account": …}` and refuses unknown fields and unmanaged accounts', async () => {
    await storeToken();
    const user = jira.state.addUser({ emailAddress: 'pat@example.com' });
    jira.state.managedAccounts.set(user.accountId, { active: true, profile: {} });
    await client().updateManagedProfile(user.accountId, {
      name: 'Pat Doe',
      extended_profile: { job_title: 'Engineer', department: 'R&D' },
    });
    expect(jira.state.users.get(user.accountId)!.displayName).toBe('Pat Doe');
    expect(jira.state.managedAccounts.get(user.accountId)!.extended).toEqual({
      job_title: 'Engineer',
      department: 'R&D',
    });
    const bad = await rejection(client().updateManagedProfile(user.accountId, { title: 'x' } as never));
    expect(bad.status).toBe(400);
    const other = jira.state.addUser({ emailAddress: 'other@elsewhere.example' });
    expect((await rejection(client().updateManagedProfile(other.accountId, { name: 'X' }))).status).toBe(404);
  });

  it("finds accounts in the organization's directory by exact email, hidden or not; nothing without an org key", async () => {
    const hidden = jira.state.addUser({ emailAddress: 'quiet@example.com', emailHidden: true, products: [] });
    expect(await client().orgAccountsByEmail('quiet@example.com')).toBeUndefined(); // no key stored yet
    await storeToken();
    expect(await client().orgAccountsByEmail('QUIET@example.com')).toEqual([
      expect.objectContaining({ accountId: hidden.accountId, claimStatus: 'unmanaged' }),
    ]);
    expect(jira.calls.at(-1)).toMatchObject({
      method: 'POST',
      path: '/admin/v2/orgs/org-1/directories/-/users/search',
      auth: 'org',
      status: 200,
    });
  });

  it("sends JSM's experimental opt-in header where Jira needs it; the fake does not process the call without", async () => {
    await storeToken();
    jira.state.addServiceDesk('1', 'HELP', 'Help');
    const cust = jira.state.addUser({ emailAddress: 'c@example.com', accountType: 'customer', products: [] });
    await client().addCustomersToServiceDesk('1', [cust.accountId]);
    expect((await client().serviceDeskCustomers('1')).values).toEqual([
      expect.objectContaining({ accountId: cust.accountId }),
    ]);
    await client().removeCustomersFromServiceDesk('1', [cust.accountId]);
    expect(jira.state.serviceDesks.get('1')!.customers.size).toBe(0);
    const { createTokenTransport } = await import('../../src/jira/transport');
    const raw = createTokenTransport(jira.url, jira.admin.emailAddress, jira.adminToken, 2000);
    const res = await raw.send({
      method: 'DELETE',
      path: '/rest/servicedeskapi/servicedesk/1/customer',
      body: { accountIds: [cust.accountId] },
    });
    expect(res.status).toBe(412);
  });

  it('writes user properties with the JWT and reads them back', async () => {
    const user = jira.state.addUser({ emailAddress: 'p@example.com' });
    await client().setUserProperty(user.accountId, 'idp.department', { value: 'R&D' });
    expect(await client().getUserProperty(user.accountId, 'idp.department')).toEqual({ value: 'R&D' });
    expect(await client().getUserProperty(user.accountId, 'unset')).toBeUndefined();
    expect(jira.calls.every((c) => c.auth === 'jwt')).toBe(true);
  });
});

describe('retry policy', () => {
  it('waits exactly the Retry-After Jira asked for on 429, then succeeds', async () => {
    jira.failNext({ status: 429, headers: { 'Retry-After': '7' }, body: { errorMessages: ['Rate limit exceeded.'] } });
    await client().myself();
    expect(clock.sleeps).toContain(7000);
    expect(jira.calls.map((c) => c.status)).toEqual([429, 200]);
  });

  it('honours Retry-After on 503 too', async () => {
    jira.failNext({ status: 503, headers: { 'Retry-After': '3' } });
    await client().myself();
    expect(clock.sleeps).toEqual([3000]);
  });

  it('retries 5xx with exponential backoff and jitter, within the cap', async () => {
    jira.failNext({ status: 500 }, { status: 502 });
    await client().myself();
    expect(jira.calls.map((c) => c.status)).toEqual([500, 502, 200]);
    // base 100 ms, equal jitter at random() = 0.5: 75 then 150
    expect(clock.sleeps).toEqual([75, 150]);
  });

  it('gives up after the last attempt with a retryable error', async () => {
    jira.failNext({ status: 503 }, { status: 503 }, { status: 503 }, { status: 503 });
    const err = await rejection(client().myself());
    expect(err).toMatchObject({ kind: 'http', retryable: true, status: 503 });
    expect(jira.calls).toHaveLength(3);
  });

  it('does not sleep through a Retry-After longer than the configured maximum; the caller gets the reset time', async () => {
    jira.failNext({ status: 429, headers: { 'Retry-After': '3600' } });
    const err = await rejection(client().myself());
    expect(err.retryAfterMs).toBe(3_600_000);
    expect(jira.calls).toHaveLength(1);
    expect(clock.sleeps).toEqual([]);
  });

  it("surfaces non-retryable errors at once, with Jira's messages", async () => {
    const err = await rejection(client().groupMembers('no-such-group'));
    expect(err).toMatchObject({
      retryable: false,
      status: 404,
      details: { errorMessages: ['Specified group does not exist.'] },
    });
    expect(jira.calls).toHaveLength(1);
    expect(await client().getUser('no-such-account')).toBeUndefined();
  });

  it('recognises "already a member" so an add can be idempotent', async () => {
    await storeToken();
    const group = jira.state.addGroup('g');
    const user = jira.state.addUser({ emailAddress: 'm@example.com' });
    await client().addUserToGroup(group.groupId, user.accountId);
    const err = await rejection(client().addUserToGroup(group.groupId, user.accountId));
    expect(isAlreadyMember(err)).toBe(true);
    expect(jira.callsTo('POST', '/rest/api/3/group/user')).toHaveLength(2);
  });

  it('times out a hanging call and retries it, on both transports', async () => {
    jira.failNext('hang');
    await client().myself();
    expect(jira.calls.map((c) => c.status)).toEqual(['hang', 200]);
    await storeToken();
    jira.failNext('hang');
    await client().tokenOwner();
    expect(jira.calls.slice(-2).map((c) => c.status)).toEqual(['hang', 200]);
  });
});

describe('paging and concurrency', () => {
  it('pages group members 50 at a time and returns every member once', async () => {
    const group = jira.state.addGroup('big');
    for (let i = 0; i < 120; i++)
      group.members.add(jira.state.addUser({ emailAddress: `u${i}@example.com` }).accountId);
    const members = await collect(client().allGroupMembers(group.groupId));
    expect(new Set(members.map((m) => m.accountId)).size).toBe(120);
    const calls = jira.callsTo('GET', '/rest/api/3/group/member');
    expect(calls).toHaveLength(3);
    expect(calls.map((c) => new URLSearchParams(c.query).get('startAt'))).toEqual(['0', '50', '100']);
    expect(calls.every((c) => new URLSearchParams(c.query).get('maxResults') === '50')).toBe(true);
  });

  it('pages through every group', async () => {
    for (let i = 0; i < 75; i++) jira.state.addGroup(`group-${String(i).padStart(3, '0')}`);
    const groups = await collect(client().allGroups());
    expect(groups).toHaveLength(75);
    expect(jira.callsTo('GET', '/rest/api/3/group/bulk')).toHaveLength(2);
  });

  it("paces per endpoint and method: one endpoint's burst limit leaves another's calls alone", async () => {
    await storeToken();
    jira.setRateLimit(5);
    // (the virtual clock waits out Retry-After at once, so a rejected search may fail for good: only statuses count here)
    await Promise.allSettled([
      ...Array.from({ length: 9 }, (_, i) => client().searchUsers(`s${i}`)),
      ...Array.from({ length: 5 }, (_, i) => client().createUser(`u${i}@example.com`, ['jira-software'])),
    ]);
    const statuses = (path: string) => jira.calls.filter((c) => c.path === path).map((c) => c.status);
    expect(statuses('/rest/api/3/user/search')).toContain(429);
    expect(statuses('/rest/api/3/user')).toEqual([201, 201, 201, 201, 201]); // its own bucket: never rejected
    const rejected = jira.calls.find((c) => c.status === 429)!;
    expect(rejected.path).toBe('/rest/api/3/user/search');
  });

  it("a spent app quota pauses the app's calls to the site until the reset; the token's calls go on", async () => {
    await storeToken();
    jira.setAppQuota({ calls: 1, windowMs: 30_000 });
    await client().myself();
    const err = await rejection(client().searchUsers('x'));
    expect(err).toMatchObject({ retryable: true, status: 429 });
    expect(err.retryAfterMs).toBeGreaterThan(25_000);
    const before = clock.offset;
    await client().createUser('new@example.com', ['jira-software']);
    expect(clock.offset).toBe(before); // not held by the app's quota
    const started = clock.offset;
    await rejection(client().getUser(jira.admin.accountId)); // another app endpoint: held until the reset first
    expect(clock.offset - started).toBeGreaterThanOrEqual(25_000);
    expect(jira.calls.filter((c) => c.status === 429).every((c) => c.auth === 'jwt')).toBe(true);
  });

  it('never has more than the configured number of calls in flight for a tenant', async () => {
    jira.setLatency(40);
    await Promise.all(Array.from({ length: 12 }, () => client().myself()));
    expect(jira.maxInFlight).toBe(3);
  });
});
