/**
 * Google Workspace pull benchmark: USERS users and GROUPS groups (each user in 3 groups) in the fake
 * Google (HTTPS, JWT-bearer tokens, Directory and Reports APIs), read by the compiled server in its
 * own process: a full read, the same again with nothing changed, then an incremental read of
 * CHANGES changes from the Admin console's events. Reports users/s, Google calls per read against
 * the floor of Google's page maxima, the incremental read's time and calls, peak RSS; and the Admin
 * SDK library against plain HTTPS listing the same users (`@googleapis/admin` is kept unless it
 * costs more than 10 %).
 * Usage: npm run bench:google [-- --users 100000 --groups 5000 --changes 100]
 */
import fs from 'node:fs';
import https from 'node:https';
import { Client } from 'pg';
import request from 'supertest';
import { GoogleClient } from '../../src/sources/google/client';
import { parseServiceAccountKey, type ServiceAccountKey } from '../../src/sources/google/key';
import { GOOGLE_SCOPES } from '../../src/sources/google/settings';
import { GoogleTransport } from '../../src/sources/google/transport';
import { jwtHeader } from '../../test/support/app';
import { FakeGoogle } from '../../test/support/fakeGoogle';
import {
  countingRowsWritten,
  storedCounts,
  installWithSiteToken,
  machine,
  numberArg,
  pullRead,
  runBenchmark,
  sayPullFloors,
  startBenchWorld,
} from '../support';

const USERS = numberArg('users', 100_000);
const GROUPS = numberArg('groups', 5_000);
const CHANGES = numberArg('changes', 100);
/** Rounds of the library-against-HTTPS listing, alternated; the medians are compared. */
const ROUNDS = numberArg('rounds', 7);
/** Only the listing comparison (`--compare-only 1`): no server, no reads. */
const COMPARE_ONLY = numberArg('compare-only', 0) === 1;

function seed(g: FakeGoogle) {
  const groups = Array.from({ length: GROUPS }, (_, i) => g.addGroup(`Team ${i}`, `team-${i}@bench.example`));
  const users = [];
  for (let i = 0; i < USERS; i++) {
    const u = g.addUser(
      {
        primaryEmail: `user${i}@bench.example`,
        name: { givenName: 'User', familyName: String(i), fullName: `User ${i}` },
        organizations: [{ title: 'Engineer', department: `dept-${i % 50}`, primary: true }],
      },
      { event: false },
    );
    users.push(u);
    for (const k of new Set([i % GROUPS, (i * 7 + 3) % GROUPS, (i * 13 + 5) % GROUPS]))
      g.addMember(groups[k].id, u.id, false);
  }
  g.activities.length = 0; // the groups' creation is history before the first read
  return { users, groups };
}

/** Lists every user through @googleapis/admin and by plain HTTPS with the same token, ROUNDS times each, alternated: the median ms of each. */
async function libraryAgainstHttps(
  g: FakeGoogle,
  key: ServiceAccountKey,
): Promise<{ libraryMs: number; httpsMs: number }> {
  const ca = fs.readFileSync(g.certFile, 'utf8');
  const transport = new GoogleTransport({
    apiUrl: g.url,
    tokenUrl: g.tokenUrl,
    caPem: ca,
    timeoutMs: 60_000,
    maxAttempts: 3,
  });
  const client = new GoogleClient(key, 'admin@bench.example', transport, 10_000_000, 'my_customer');
  await client.token();
  const token = g.lastToken!;
  const agent = new https.Agent({ keepAlive: true, ca });
  const get = (path: string) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      https
        .get(`${g.url}${path}`, { agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>));
        })
        .on('error', reject);
    });
  const times = { library: [] as number[], https: [] as number[] };
  for (let round = 0; round < ROUNDS; round++) {
    let t = Date.now();
    let n = 0;
    for await (const page of client.users({ projection: 'basic' })) n += page.length;
    times.library.push(Date.now() - t);
    t = Date.now();
    let m = 0;
    let pageToken: string | undefined;
    do {
      const page = await get(
        `/admin/directory/v1/users?customer=my_customer&maxResults=500&projection=basic${pageToken ? `&pageToken=${pageToken}` : ''}`,
      );
      m += (page.users as unknown[] | undefined)?.length ?? 0;
      pageToken = page.nextPageToken as string | undefined;
    } while (pageToken);
    times.https.push(Date.now() - t);
    if (n !== m) throw new Error(`the two listings differ: ${n} and ${m}`);
  }
  transport.close();
  agent.destroy();
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return { libraryMs: median(times.library), httpsMs: median(times.https) };
}

async function main(): Promise<void> {
  const g = await new FakeGoogle().start();
  g.queriesPerMinute = 1_000_000; // a project with a raised quota, as the server is told below
  const sa = g.addServiceAccount();
  g.delegate(sa.clientId, GOOGLE_SCOPES);
  g.addUser({ primaryEmail: 'admin@bench.example', isAdmin: true, orgUnitPath: '/IT' }, { event: false });
  const t0 = Date.now();
  const { users, groups } = seed(g);
  const memberships = [...g.groups.values()].reduce((n, x) => n + x.members.size, 0);
  if (COMPARE_ONLY) {
    const key = parseServiceAccountKey(sa.key) as ServiceAccountKey;
    const library = await libraryAgainstHttps(g, key);
    console.log(
      JSON.stringify({
        machine: machine(),
        users: USERS + 1,
        ...library,
        libraryCostPercent: Math.round(((library.libraryMs - library.httpsMs) / library.httpsMs) * 100),
      }),
    );
    await g.stop();
    return;
  }
  console.log(
    `fake Google: ${USERS} users, ${GROUPS} groups, ${memberships} memberships (seeded in ${((Date.now() - t0) / 1000).toFixed(1)} s)`,
  );
  const world = await startBenchWorld({
    GOOGLE_API_URL: g.url,
    GOOGLE_TOKEN_URL: g.tokenUrl,
    GOOGLE_CA_FILE: g.certFile,
    GOOGLE_QUERIES_PER_MINUTE: '1000000',
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
          name: 'Bench Google',
          kind: 'google',
          importUsers: false,
          importGroups: false,
          serviceAccountKey: sa.key,
          google: { adminEmail: 'admin@bench.example', scheduleMinutes: 0 },
        })
        .expect(201)
    ).body;
    const readOnce = async (label: string, mode: 'full' | 'incremental') => {
      const before = g.calls.length;
      const started = Date.now();
      const figures = await pullRead(world, db, conn.id, mode, label);
      const mine = g.calls.slice(before);
      if (process.env.BENCH_DEBUG)
        console.log(
          mine.map((c, i) => `${c.path.slice(0, 60)} +${c.at - (i ? mine[i - 1].at : started)}ms`).join('\n'),
        );
      return { ...figures, googleCalls: mine.length };
    };
    const full = await readOnce('full read', 'full');
    const floor =
      1 +
      Math.ceil((USERS + 1) / 500) +
      Math.ceil(GROUPS / 200) +
      [...g.groups.values()].reduce((n, x) => n + Math.max(1, Math.ceil(x.members.size / 200)), 0);
    const stored = await storedCounts(db, conn.id);
    const stable = await countingRowsWritten(db, conn.id, () => readOnce('full read, nothing changed', 'full'));

    // CHANGES changes as the Admin console records them: 40% renames of a name, 25% joins, 20% leaves, 10% new users, 5% deletions.
    const n = (share: number) => Math.round(CHANGES * share);
    for (let i = 0; i < n(0.4); i++)
      g.updateUser(users[i * 7].id, {
        name: { givenName: 'Renamed', familyName: String(i), fullName: `Renamed ${i}` },
      });
    for (let i = 0; i < n(0.25); i++) g.addMember(groups[(i * 11 + 1) % GROUPS].id, users[(i * 101 + 17) % USERS].id);
    for (const grp of groups.slice(0, n(0.2))) {
      const m = [...grp.members.keys()][0];
      if (m) g.removeMember(grp.id, m);
    }
    for (let i = 0; i < n(0.1); i++) g.addMember(groups[i].id, g.addUser({ primaryEmail: `new${i}@bench.example` }).id);
    for (let i = 0; i < n(0.05); i++) g.deleteUser(users[USERS - 1 - i].id);
    const incremental = await readOnce('incremental read', 'incremental');
    const after = await storedCounts(db, conn.id);
    const key = parseServiceAccountKey(sa.key) as ServiceAccountKey;
    const library = await libraryAgainstHttps(g, key);
    const expectedUsers = USERS + 1 + n(0.1) - n(0.05);
    const result = {
      machine: machine(),
      users: USERS,
      groups: GROUPS,
      memberships,
      changes: CHANGES,
      full: { ...full, stored, callFloor: floor },
      unchangedFull: stable,
      incremental: { ...incremental, stored: after, expectedUsers },
      listingAllUsers: {
        ...library,
        libraryCostPercent: Math.round(((library.libraryMs - library.httpsMs) / library.httpsMs) * 100),
      },
    };
    console.log(JSON.stringify(result, null, 2));
    sayPullFloors({
      stored,
      wanted: { users: USERS + 1, groups: GROUPS, memberships },
      full,
      unchanged: stable,
      incremental,
      after,
      afterWanted: { users: expectedUsers },
    });
  } finally {
    await db.end();
    await world.stop();
    await g.stop();
  }
}

runBenchmark(main);
