/**
 * Okta pull benchmark: USERS users and GROUPS groups (each user in 3 groups) in the fake Okta
 * (HTTPS, an API service app with private_key_jwt and DPoP, Okta's rate-limit headers), read by
 * the compiled server in its own process: a full read, the same again with nothing changed, then an
 * incremental read of CHANGES changes from the System Log. Reports users/s, Okta calls per read
 * against the floor of the page sizes, the incremental read's time and calls, peak RSS; and Okta's
 * Node SDK (`@okta/okta-sdk-nodejs`) against the app's plain HTTPS client listing the same users
 * (the SDK would be used unless it costs more than 10 %).
 * Usage: npm run bench:okta [-- --users 100000 --groups 5000 --changes 100] [-- --compare-only 1 --rounds 7]
 */
import https from 'node:https';
import fs from 'node:fs';
import { Client as OktaSdk, RequestExecutor } from '@okta/okta-sdk-nodejs';
import { Client } from 'pg';
import request from 'supertest';
import { OutboundHttp } from '../../src/sources/http';
import { OktaClient, PAGE } from '../../src/sources/okta/client';
import { parseOktaCredential } from '../../src/sources/okta/credential';
import { EVERY_STATUS_FILTER } from '../../src/sources/okta/mapping';
import { OktaRates } from '../../src/sources/okta/rates';
import { jwtHeader } from '../../test/support/app';
import { FakeOkta } from '../../test/support/fakeOkta';
import {
  countingRowsWritten,
  installWithSiteToken,
  machine,
  numberArg,
  pullRead,
  runBenchmark,
  sayPullFloors,
  startBenchWorld,
  storedCounts,
} from '../support';

const USERS = numberArg('users', 100_000);
const GROUPS = numberArg('groups', 5_000);
const CHANGES = numberArg('changes', 100);
const ROUNDS = numberArg('rounds', 7);
const COMPARE_ONLY = numberArg('compare-only', 0) === 1;

function seed(o: FakeOkta) {
  const groups = Array.from({ length: GROUPS }, (_, i) => o.addGroup(`Team ${i}`, { event: false }));
  const users = [];
  for (let i = 0; i < USERS; i++) {
    const u = o.addUser(
      {
        login: `user${i}@bench.example`,
        firstName: 'User',
        lastName: String(i),
        title: 'Engineer',
        department: `dept-${i % 50}`,
        employeeNumber: String(i),
      },
      { event: false },
    );
    users.push(u);
    for (const k of new Set([i % GROUPS, (i * 7 + 3) % GROUPS, (i * 13 + 5) % GROUPS]))
      o.addMember(groups[k].id, u.id, { event: false });
  }
  o.logs.length = 0; // the org's history before the first read
  const yesterday = new Date(Date.now() - 86_400_000).toISOString();
  for (const u of o.users.values()) u.lastUpdated = yesterday;
  for (const g of o.groups.values()) g.lastUpdated = g.lastMembershipUpdated = yesterday;
  return { users, groups };
}

/** Lists every user through Okta's SDK and through the app's client (plain HTTPS), ROUNDS times each, alternated: the median ms of each. */
async function sdkAgainstHttps(o: FakeOkta): Promise<{ sdkMs: number; httpsMs: number }> {
  const token = o.addApiToken();
  const ca = fs.readFileSync(o.certFile, 'utf8');
  const agent = new https.Agent({ keepAlive: true, ca });
  // The SDK's own executor (node-fetch) with the fake's CA; its cache and retries off.
  class WithCa extends RequestExecutor {
    override fetch(req: { agent?: https.Agent }) {
      req.agent = agent;
      return super.fetch(req);
    }
  }
  const sdk = new OktaSdk({
    orgUrl: o.url,
    token,
    cacheMiddleware: null,
    requestExecutor: new WithCa(),
  });
  const http = new OutboundHttp({ caPem: ca, timeoutMs: 60_000, maxAttempts: 3 });
  const cred = parseOktaCredential(token);
  if (typeof cred === 'string') throw new Error(cred);
  const mine = new OktaClient(o.url, cred, { http, rates: new OktaRates(0.1), maxAttempts: 3 });
  const times = { sdk: [] as number[], https: [] as number[] };
  for (let round = 0; round < ROUNDS; round++) {
    let t = Date.now();
    let n = 0;
    const users = await sdk.userApi.listUsers({ limit: PAGE.users, filter: EVERY_STATUS_FILTER });
    for await (const u of users) if (u?.profile?.login) n++;
    times.sdk.push(Date.now() - t);
    t = Date.now();
    let m = 0;
    for await (const page of mine.users(EVERY_STATUS_FILTER)) for (const u of page) if (u.profile.login) m++;
    times.https.push(Date.now() - t);
    if (n !== m) throw new Error(`the two listings differ: ${n} and ${m}`);
  }
  http.close();
  agent.destroy();
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return { sdkMs: median(times.sdk), httpsMs: median(times.https) };
}

async function main(): Promise<void> {
  const o = await new FakeOkta().start();
  o.rateScale = 1_000; // an org with raised limits (the reads' pacing is tested elsewhere)
  const t0 = Date.now();
  const { users, groups } = seed(o);
  const memberships = [...o.groups.values()]
    .filter((g) => g.type !== 'BUILT_IN')
    .reduce((n, x) => n + x.members.size, 0);
  if (COMPARE_ONLY) {
    const cmp = await sdkAgainstHttps(o);
    console.log(
      JSON.stringify({
        machine: machine(),
        users: USERS,
        ...cmp,
        sdkCostPercent: Math.round(((cmp.sdkMs - cmp.httpsMs) / cmp.httpsMs) * 100),
      }),
    );
    await o.stop();
    return;
  }
  console.log(
    `fake Okta: ${USERS} users, ${GROUPS} groups, ${memberships} memberships (seeded in ${((Date.now() - t0) / 1000).toFixed(1)} s)`,
  );
  const sa = o.addServiceApp();
  const world = await startBenchWorld({
    OKTA_CA_FILE: o.certFile,
    OUTBOUND_ALLOW: '127.0.0.0/8',
    SYNC_POLL_MS: '200',
    SCHEDULER_ENABLED: 'false',
  });
  const { base, jira } = world;
  const db = new Client({ connectionString: world.dbUrl });
  await db.connect();
  try {
    await installWithSiteToken(world);
    const conn = (
      await request(base)
        .post('/api/v1/connections')
        .set(jwtHeader(jira.contextJwt(jira.admin.accountId)))
        .send({
          name: 'Bench Okta',
          kind: 'okta',
          importUsers: false,
          importGroups: false,
          oktaCredential: sa.privateKey,
          okta: { orgUrl: o.url, clientId: sa.clientId, scheduleMinutes: 0 },
        })
        .expect(201)
    ).body;
    const readOnce = async (label: string, mode: 'full' | 'incremental') => {
      const before = o.calls.length;
      const figures = await pullRead(world, db, conn.id, mode, label);
      const mine = o.calls.slice(before);
      return { ...figures, oktaCalls: mine.length, refused429: mine.filter((c) => c.status === 429).length };
    };
    const full = await readOnce('full read', 'full');
    const floor =
      2 + // the token: refused once for its DPoP nonce, then issued
      Math.ceil(USERS / PAGE.users) +
      Math.ceil((GROUPS + 1) / PAGE.groups) + // Everyone is listed too (and left out)
      groups.reduce((n, g) => n + Math.max(1, Math.ceil(g.members.size / PAGE.groupUsers)), 0);
    const stored = await storedCounts(db, conn.id);
    const stable = await countingRowsWritten(db, conn.id, () => readOnce('full read, nothing changed', 'full'));

    // CHANGES changes as Okta logs them: 40% profile edits, 25% joins, 20% leaves, 10% new users, 5% deactivated and deleted.
    const n = (share: number) => Math.round(CHANGES * share);
    for (let i = 0; i < n(0.4); i++) o.updateProfile(users[i * 7].id, { lastName: `Renamed ${i}` });
    for (let i = 0; i < n(0.25); i++) o.addMember(groups[(i * 11 + 1) % GROUPS].id, users[(i * 101 + 17) % USERS].id);
    for (const g of groups.slice(0, n(0.2))) {
      const m = [...g.members][0];
      if (m) o.removeMember(g.id, m);
    }
    for (let i = 0; i < n(0.1); i++) o.addMember(groups[i].id, o.addUser({ login: `new${i}@bench.example` }).id);
    for (let i = 0; i < n(0.05); i++) {
      o.setStatus(users[USERS - 1 - i].id, 'DEPROVISIONED');
      o.deleteUser(users[USERS - 1 - i].id);
    }
    const incremental = await readOnce('incremental read', 'incremental');
    const after = await storedCounts(db, conn.id);
    const cmp = await sdkAgainstHttps(o);
    const expectedUsers = USERS + n(0.1) - n(0.05);
    console.log(
      JSON.stringify(
        {
          machine: machine(),
          users: USERS,
          groups: GROUPS,
          memberships,
          changes: CHANGES,
          full: { ...full, stored, callFloor: floor },
          unchangedFull: stable,
          incremental: { ...incremental, stored: after, expectedUsers },
          listingAllUsers: { ...cmp, sdkCostPercent: Math.round(((cmp.sdkMs - cmp.httpsMs) / cmp.httpsMs) * 100) },
        },
        null,
        2,
      ),
    );
    sayPullFloors({
      stored,
      wanted: { users: USERS, groups: GROUPS, memberships },
      full,
      unchanged: stable,
      incremental,
      after,
      afterWanted: { users: expectedUsers },
    });
  } finally {
    await db.end();
    await world.stop();
    await o.stop();
  }
}

runBenchmark(main);
