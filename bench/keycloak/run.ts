/**
 * Keycloak pull benchmark: USERS users and GROUPS groups (a fifth top-level, each with four
 * subgroups; each user in 3 groups) in the fake Keycloak (HTTPS, client credentials, the Admin REST
 * API's paging, admin events recorded), read by the compiled server in its own process: a full read,
 * the same again with nothing changed, then an incremental read of CHANGES changes from the admin
 * events. Reports users/s, Keycloak calls per read against the floor of the page sizes, the
 * incremental read's time and calls, peak RSS; and `@keycloak/keycloak-admin-client` against plain
 * HTTPS listing the same users (the client is used unless it costs more than 10 %).
 * Usage: npm run bench:keycloak [-- --users 100000 --groups 5000 --changes 100] [-- --compare-only 1 --rounds 7]
 */
import fs from 'node:fs';
import tls from 'node:tls';
import { Client } from 'pg';
import request from 'supertest';
import { Agent } from 'undici';
import { OutboundHttp } from '../../src/sources/http';
import { KeycloakClient, PAGE } from '../../src/sources/keycloak/client';
import { keycloakSettingsSchema } from '../../src/sources/keycloak/settings';
import { jwtHeader } from '../../test/support/app';
import { FakeKeycloak, type FakeKeycloakGroup } from '../../test/support/fakeKeycloak';
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
const REALM = 'bench';

function seed(k: FakeKeycloak) {
  k.addRealm(REALM, { adminEvents: true });
  const tops = Math.ceil(GROUPS / 5);
  const groups: FakeKeycloakGroup[] = [];
  for (let t = 0; t < tops && groups.length < GROUPS; t++) {
    const top = k.addGroup(REALM, `Team ${t}`, undefined, { event: false });
    groups.push(top);
    for (let c = 0; c < 4 && groups.length < GROUPS; c++)
      groups.push(k.addGroup(REALM, `Team ${t}.${c}`, top.id, { event: false }));
  }
  const users = [];
  for (let i = 0; i < USERS; i++) {
    const u = k.addUser(
      REALM,
      {
        username: `user${i}`,
        email: `user${i}@bench.example`,
        firstName: 'User',
        lastName: String(i),
        attributes: { department: [`dept-${i % 50}`], employeeNumber: [String(i)] },
      },
      { event: false },
    );
    users.push(u);
    for (const g of new Set([i % GROUPS, (i * 7 + 3) % GROUPS, (i * 13 + 5) % GROUPS]))
      k.addMember(REALM, groups[g].id, u.id, { event: false });
  }
  return { users, groups };
}

/** Each group's subgroups. */
function childrenOf(groups: FakeKeycloakGroup[]): Map<string, FakeKeycloakGroup[]> {
  const out = new Map<string, FakeKeycloakGroup[]>();
  for (const g of groups) if (g.parentId) out.set(g.parentId, [...(out.get(g.parentId) ?? []), g]);
  return out;
}

/** Memberships as the store keeps them: a subgroup's members are its parent's too (the benchmark's groups nest one level). */
function flattenedMemberships(groups: FakeKeycloakGroup[]): number {
  const children = childrenOf(groups);
  let n = 0;
  for (const g of groups) {
    const members = new Set(g.members);
    for (const c of children.get(g.id) ?? []) for (const u of c.members) members.add(u);
    n += members.size;
  }
  return n;
}

/** Lists every user through the admin client (the product's KeycloakClient) and by plain HTTPS with the same token, ROUNDS times each, alternated. */
async function clientAgainstHttps(k: FakeKeycloak, secret: string): Promise<{ clientMs: number; httpsMs: number }> {
  const ca = fs.readFileSync(k.certFile, 'utf8');
  const dispatcher = new Agent({
    connect: { secureContext: tls.createSecureContext({ ca: [...tls.rootCertificates, ca] }) },
  });
  const s = keycloakSettingsSchema.parse({ serverUrl: k.url, realm: REALM, clientId: 'jira-sync', scheduleMinutes: 0 });
  const client = new KeycloakClient(s, secret, { dispatcher, timeoutMs: 60_000, maxAttempts: 3 });
  const http = new OutboundHttp({ caPem: ca, timeoutMs: 60_000, maxAttempts: 3 });
  const tokenRes = await http.request(
    'POST',
    `${k.url}/realms/${REALM}/protocol/openid-connect/token`,
    {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`jira-sync:${secret}`).toString('base64')}`,
    },
    'grant_type=client_credentials',
  );
  const token = (JSON.parse(tokenRes.text) as { access_token: string }).access_token;
  const times = { client: [] as number[], https: [] as number[] };
  for (let round = 0; round < ROUNDS; round++) {
    let t = Date.now();
    let n = 0;
    for await (const page of client.users()) n += page.length;
    times.client.push(Date.now() - t);
    t = Date.now();
    let m = 0;
    for (let first = 0; ; first += PAGE.users) {
      const res = await http.request(
        'GET',
        `${k.url}/admin/realms/${REALM}/users?first=${first}&max=${PAGE.users}&briefRepresentation=false`,
        { authorization: `Bearer ${token}`, accept: 'application/json' },
      );
      const page = JSON.parse(res.text) as unknown[];
      m += page.length;
      if (page.length < PAGE.users) break;
    }
    times.https.push(Date.now() - t);
    if (n !== m) throw new Error(`the two listings differ: ${n} and ${m}`);
  }
  http.close();
  await dispatcher.close();
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return { clientMs: median(times.client), httpsMs: median(times.https) };
}

async function main(): Promise<void> {
  const k = await new FakeKeycloak().start();
  k.tokenLifespan = 3600; // a realm with hour-long tokens: the token fetched once per read (renewal is tested)
  const t0 = Date.now();
  const { users, groups } = seed(k);
  const secret = k.addClient(REALM, 'jira-sync');
  const memberships = flattenedMemberships(groups);
  if (COMPARE_ONLY) {
    const cmp = await clientAgainstHttps(k, secret);
    console.log(
      JSON.stringify({
        machine: machine(),
        users: USERS,
        ...cmp,
        clientCostPercent: Math.round(((cmp.clientMs - cmp.httpsMs) / cmp.httpsMs) * 100),
      }),
    );
    await k.stop();
    return;
  }
  console.log(
    `fake Keycloak: ${USERS} users, ${GROUPS} groups, ${memberships} memberships with subgroups' (seeded in ${((Date.now() - t0) / 1000).toFixed(1)} s)`,
  );
  const world = await startBenchWorld({
    KEYCLOAK_CA_FILE: k.certFile,
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
          name: 'Bench Keycloak',
          kind: 'keycloak',
          importUsers: false,
          importGroups: false,
          keycloakClientSecret: secret,
          keycloak: { serverUrl: k.url, realm: REALM, clientId: 'jira-sync', scheduleMinutes: 0 },
        })
        .expect(201)
    ).body;
    const readOnce = async (label: string, mode: 'full' | 'incremental') => {
      const before = k.calls.length;
      const figures = await pullRead(world, db, conn.id, mode, label);
      if (process.env.BENCH_DEBUG) {
        const kinds = new Map<string, number>();
        for (const c of k.calls.slice(before)) {
          const kind = c.path.replace(/[0-9a-f-]{36}/g, '{id}');
          kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
        }
        console.log(label, Object.fromEntries(kinds));
      }
      return { ...figures, keycloakCalls: k.calls.length - before };
    };
    const full = await readOnce('full read', 'full');
    const realm = k.realms.get(REALM)!;
    const tops = groups.filter((g) => !g.parentId);
    const children = childrenOf(groups);
    const childCount = (g: FakeKeycloakGroup) => children.get(g.id)?.length ?? 0;
    // Offset paging has no total: a list ends with a page shorter than `max` (an empty one after a full last page).
    const pages = (n: number, size: number) => Math.floor(n / size) + 1;
    const floor =
      1 + // the token
      pages(USERS, PAGE.users) +
      pages(tops.length, PAGE.groups) +
      groups.reduce((sum, g) => sum + pages(g.members.size, PAGE.members), 0) +
      groups.reduce((sum, g) => sum + (childCount(g) ? pages(childCount(g), PAGE.groups) : 0), 0);
    const stored = await storedCounts(db, conn.id);
    const stable = await countingRowsWritten(db, conn.id, () => readOnce('full read, nothing changed', 'full'));

    // CHANGES changes as admin events: 40% profile edits, 25% joins, 20% leaves, 10% new users each in a group, 5% deletions.
    const n = (share: number) => Math.round(CHANGES * share);
    for (let i = 0; i < n(0.4); i++) k.updateUser(REALM, users[i * 7].id, { lastName: `Renamed ${i}` });
    for (let i = 0; i < n(0.25); i++)
      k.addMember(REALM, groups[(i * 11 + 1) % GROUPS].id, users[(i * 101 + 17) % USERS].id);
    for (const g of groups.slice(0, n(0.2))) {
      const m = [...g.members][0];
      if (m) k.removeMember(REALM, g.id, m);
    }
    for (let i = 0; i < n(0.1); i++) {
      const u = k.addUser(REALM, { username: `new${i}`, email: `new${i}@bench.example` });
      k.addMember(REALM, groups[i].id, u.id);
    }
    for (let i = 0; i < n(0.05); i++) k.deleteUser(REALM, users[USERS - 1 - i].id);
    const incremental = await readOnce('incremental read', 'incremental');
    const after = await storedCounts(db, conn.id);
    const cmp = await clientAgainstHttps(k, secret);
    const expectedUsers = USERS + n(0.1) - n(0.05);
    const expectedMemberships = flattenedMemberships([...realm.groups.values()]);
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
          incremental: {
            ...incremental,
            stored: after,
            expectedUsers,
            expectedMemberships,
          },
          listingAllUsers: {
            ...cmp,
            clientCostPercent: Math.round(((cmp.clientMs - cmp.httpsMs) / cmp.httpsMs) * 100),
          },
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
      afterWanted: { users: expectedUsers, memberships: expectedMemberships },
    });
  } finally {
    await db.end();
    await world.stop();
    await k.stop();
  }
}

runBenchmark(main);
