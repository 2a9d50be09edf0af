/**
 * Entra ID pull benchmark: USERS users and GROUPS groups (each user in 3 groups) in the fake Entra
 * ID (HTTPS, Graph paging and delta), read by the compiled server in its own process into the
 * directory store: a full read, the same full read again with nothing changed (rows written: none),
 * then an incremental read of CHANGES changes. Reports users/s of the full reads, the rows they
 * wrote, the incremental read's time, the server's event-loop delay and its peak RSS.
 * Usage: npm run bench:entra [-- --users 100000 --groups 5000 --changes 100]
 */
import crypto from 'node:crypto';
import { Client } from 'pg';
import request from 'supertest';
import { jwtHeader } from '../../test/support/app';
import { FakeEntra } from '../../test/support/fakeEntra';
import {
  installWithSiteToken,
  machine,
  numberArg,
  pullRead,
  countingRowsWritten,
  storedCounts,
  runBenchmark,
  startBenchWorld,
} from '../support';

const USERS = numberArg('users', 100_000);
const GROUPS = numberArg('groups', 5_000);
const CHANGES = numberArg('changes', 100);

type Obj = Record<string, unknown>;

function seed(entra: FakeEntra): { users: Obj[]; groups: Array<{ id: string }> } {
  const groups = Array.from({ length: GROUPS }, (_, g) => entra.addGroup(`team-${g}`, `Team ${g}`));
  const users: Obj[] = [];
  for (let i = 0; i < USERS; i++) {
    const u = entra.addUser({
      userPrincipalName: `user${i}@bench.example`,
      displayName: `User ${i}`,
      givenName: 'User',
      surname: String(i),
      department: `dept-${i % 50}`,
      jobTitle: 'Engineer',
    });
    users.push(u);
    for (const g of new Set([i % GROUPS, (i * 7 + 3) % GROUPS, (i * 13 + 5) % GROUPS]))
      entra.addMember(groups[g].id, u.id as string);
  }
  return { users, groups };
}

async function main(): Promise<void> {
  const entra = await new FakeEntra().start();
  entra.deltaPageSize = 200;
  const t0 = Date.now();
  const { users, groups } = seed(entra);
  const memberships = [...entra.groups.values()].reduce((n, g) => n + g.members.size, 0);
  console.log(
    `fake Entra ID: ${USERS} users, ${GROUPS} groups, ${memberships} memberships (seeded in ${((Date.now() - t0) / 1000).toFixed(1)} s)`,
  );
  const world = await startBenchWorld({
    ENTRA_CA_FILE: entra.certFile,
    SYNC_POLL_MS: '200',
    SCHEDULER_ENABLED: 'false',
  });
  const { base, jira } = world;
  const admin = () => jwtHeader(jira.contextJwt(jira.admin.accountId));
  const app = entra.addApp({
    tenantId: crypto.randomUUID(),
    clientId: crypto.randomUUID(),
    secret: crypto.randomBytes(16).toString('hex'),
    roles: ['User.Read.All', 'GroupMember.Read.All'],
  });
  const db = new Client({ connectionString: world.dbUrl });
  await db.connect();
  try {
    await installWithSiteToken(world);
    const conn = (
      await request(base)
        .post('/api/v1/connections')
        .set(admin())
        .send({
          name: 'Bench Entra',
          kind: 'entra',
          importUsers: false,
          importGroups: false,
          clientSecret: app.secret,
          entra: {
            tenantId: app.tenantId,
            clientId: app.clientId,
            cloud: 'custom',
            authorityHost: entra.url,
            graphUrl: entra.url,
            attributes: ['department', 'jobTitle'],
            scheduleMinutes: 0,
          },
        })
        .expect(201)
    ).body;

    /** A read through the server, with the Graph calls it made (BENCH_DEBUG: each, with its time). */
    const readOnce = async (label: string, mode: 'full' | 'incremental') => {
      const calls = entra.graphCalls().length;
      const started = Date.now();
      const figures = await pullRead(world, db, conn.id, mode, label);
      const mine = entra.graphCalls().slice(calls);
      if (process.env.BENCH_DEBUG)
        console.log(
          mine
            .map((c, i) => `${decodeURIComponent(c.path).slice(7, 40)} +${c.at - (i ? mine[i - 1].at : started)}ms`)
            .join('\n'),
        );
      return { ...figures, graphCalls: mine.length };
    };

    const full = await readOnce('full read', 'full');
    const stored = await storedCounts(db, conn.id);

    // The same directory read in full again: nothing changed, so nothing is written (counted by the
    // database, from each row's xmin, as well as by the run).
    const stable = await countingRowsWritten(db, conn.id, () => readOnce('full read, nothing changed', 'full'));

    // CHANGES changes: 40% attribute updates, 25% joins, 20% leaves, 10% new users (each in a group), 5% deleted users.
    const n = (share: number) => Math.round(CHANGES * share);
    for (let i = 0; i < n(0.4); i++)
      entra.updateUser(users[i * 7].id as string, { department: 'moved', jobTitle: 'Lead' });
    for (let i = 0; i < n(0.25); i++)
      entra.addMember(groups[(i * 11 + 1) % GROUPS].id, users[(i * 101 + 17) % USERS].id as string);
    for (const g of [...entra.groups.values()].slice(0, n(0.2))) {
      const m = [...g.members][0];
      if (m) entra.removeMember(g.id, m);
    }
    for (let i = 0; i < n(0.1); i++) {
      const u = entra.addUser({ userPrincipalName: `new${i}@bench.example`, displayName: `New ${i}` });
      entra.addMember(groups[i].id, u.id as string);
    }
    for (let i = 0; i < n(0.05); i++) entra.deleteUser(users[USERS - 1 - i].id as string);
    const incremental = await readOnce('incremental read', 'incremental');
    const after = await storedCounts(db, conn.id);

    const expected = { users: USERS + n(0.1) - n(0.05) };
    const result = {
      machine: machine(),
      users: USERS,
      groups: GROUPS,
      memberships,
      changes: CHANGES,
      full: { ...full, stored },
      unchangedFull: stable,
      incremental: { ...incremental, stored: after, expectedUsers: expected.users },
    };
    console.log(JSON.stringify(result, null, 2));
    const ok =
      stored.users === USERS &&
      stored.groups === GROUPS &&
      stored.memberships === memberships &&
      full.usersPerSecond >= 5000 &&
      stable.rowsWritten === 0 &&
      stable.rowsWrittenByXmin === 0 &&
      stable.usersPerSecond >= 20_000 &&
      after.users === expected.users &&
      incremental.readSeconds < 2 &&
      Math.max(full.peakRssMb, stable.peakRssMb, incremental.peakRssMb) < 400;
    console.log(
      `floors (everything stored, full read ≥ 5,000 users/s, a full read of the unchanged directory writes no row at ≥ 20,000 users/s, incremental read < 2 s, peak RSS < 400 MB): ${ok ? 'MET' : 'NOT MET'}`,
    );
    process.exitCode = ok ? 0 : 1;
  } finally {
    await db.end();
    await world.stop();
    await entra.stop();
  }
}

runBenchmark(main);
