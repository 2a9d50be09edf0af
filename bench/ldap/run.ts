/**
 * LDAP pull benchmark: a real OpenLDAP server on the same machine holding USERS users and GROUPS
 * groups (each user in three: ~3 × USERS memberships), loaded offline with slapadd, read by the
 * compiled server in its own process (StartTLS with the test CA) into the directory store, through
 * the admin API as an admin would start it:
 * - a full read (users/s, the server's peak RSS and event-loop delay);
 * - the same full read again, nothing changed: rows written (none) and users/s;
 * - two incremental reads, each after CHANGES changes: 40% attribute changes, 25% joins, 20% leaves,
 *   10% new users (each in a group), 5% deletions; the first finds deletions by scanning every id
 *   (the access log does not reach back before the offline load), the second in OpenLDAP's access log.
 * Usage: npm run bench:ldap [-- --users 100000 --groups 5000 --changes 100]
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Attribute, Change } from 'ldapts';
import { Client } from 'pg';
import request from 'supertest';
import { jwtHeader } from '../../test/support/app';
import { Slapd } from '../../test/support/slapd';
import {
  installWithSiteToken,
  machine,
  numberArg,
  pullRead,
  countingRowsWritten,
  runBenchmark,
  startBenchWorld,
} from '../support';

const USERS = numberArg('users', 100_000);
const GROUPS = numberArg('groups', 5_000);
const CHANGES = numberArg('changes', 100);
const FLOORS = { usersPerSecond: 5_000, unchangedUsersPerSecond: 20_000, incrementalSeconds: 2, peakRssMb: 400 };

const userDn = (i: number, base: string) => `uid=user${i},ou=people,${base}`;
const groupDn = (g: number, base: string) => `cn=team-${g},ou=groups,${base}`;
const groupsOf = (i: number) => [...new Set([i % GROUPS, (i * 7 + 3) % GROUPS, (i * 13 + 5) % GROUPS])];

/** The directory as LDIF: the base, two OUs, the users, and the groups with their member DNs. */
function writeLdif(file: string, base: string): number {
  const out = fs.openSync(file, 'w');
  const w = (s: string) => fs.writeSync(out, s);
  w(`dn: ${base}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\n`);
  w(`dn: ou=people,${base}\nobjectClass: organizationalUnit\nou: people\n\n`);
  w(`dn: ou=groups,${base}\nobjectClass: organizationalUnit\nou: groups\n\n`);
  const members: number[][] = Array.from({ length: GROUPS }, () => []);
  for (let i = 0; i < USERS; i++) {
    w(
      `dn: ${userDn(i, base)}\nobjectClass: inetOrgPerson\nuid: user${i}\ncn: User ${i}\nsn: ${i}\nmail: user${i}@bench.example\ndisplayName: User ${i}\ntitle: Engineer\nentryUUID: ${crypto.randomUUID()}\n\n`,
    );
    for (const g of groupsOf(i)) members[g].push(i);
  }
  let memberships = 0;
  members.forEach((m, g) => {
    w(`dn: ${groupDn(g, base)}\nobjectClass: groupOfNames\ncn: team-${g}\nentryUUID: ${crypto.randomUUID()}\n`);
    for (const i of m) w(`member: ${userDn(i, base)}\n`);
    if (!m.length) w(`member: ${groupDn(g, base)}\n`);
    memberships += m.length;
    w('\n');
  });
  fs.closeSync(out);
  return memberships;
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-ldap-'));
  const slapd = new Slapd();
  const base = slapd.baseDn;
  const t = Date.now();
  const memberships = writeLdif(path.join(dir, 'seed.ldif'), base);
  await slapd.start({ seedLdif: path.join(dir, 'seed.ldif') });
  console.log(
    `OpenLDAP: ${USERS} users, ${GROUPS} groups, ${memberships} memberships (loaded in ${Date.now() - t} ms)`,
  );
  const world = await startBenchWorld({ SYNC_POLL_MS: '200', SCHEDULER_ENABLED: 'false' });
  const db = new Client({ connectionString: world.dbUrl });
  await db.connect();
  try {
    await installWithSiteToken(world);
    const conn = (
      await request(world.base)
        .post('/api/v1/connections')
        .set(jwtHeader(world.jira.contextJwt(world.jira.admin.accountId)))
        .send({
          name: 'Bench LDAP',
          kind: 'ldap',
          importUsers: false,
          importGroups: false,
          bindPassword: slapd.adminPassword,
          ldap: {
            directoryType: 'openldap',
            urls: [slapd.url],
            caCertificate: slapd.caPem,
            bindName: slapd.adminDn,
            users: { baseDn: `ou=people,${base}` },
            groups: { baseDn: `ou=groups,${base}` },
            attributes: { extra: ['title'] },
            accessLogBaseDn: 'cn=accesslog',
            scheduleMinutes: 0,
          },
        })
        .expect(201)
    ).body;
    const count = async () =>
      (
        await db.query<{ users: number; groups: number; memberships: number }>(
          `SELECT (SELECT count(*) FROM directory_users WHERE connection_id = $1)::int AS users,
                  (SELECT count(*) FROM directory_groups WHERE connection_id = $1)::int AS groups,
                  (SELECT count(*) FROM directory_memberships WHERE connection_id = $1)::int AS memberships`,
          [conn.id],
        )
      ).rows[0];

    const full = await pullRead(world, db, conn.id, 'full', 'full read');
    const stored = await count();
    // The same directory read in full again: nothing changed, so nothing is written (counted by the
    // database, from each row's xmin, as well as by the run).
    const stable = await countingRowsWritten(db, conn.id, () =>
      pullRead(world, db, conn.id, 'full', 'full read, nothing changed'),
    );

    // CHANGES changes in round r: 40% attribute changes, 25% joins, 20% leaves, 10% new users (each
    // put in a group), 5% deletions; each round on other users.
    const n = (share: number) => Math.round(CHANGES * share);
    const makeChanges = (r: number) =>
      slapd.withAdmin(async (c) => {
        const change = (operation: 'add' | 'delete' | 'replace', type: string, values: string[]) =>
          new Change({ operation, modification: new Attribute({ type, values }) });
        for (let i = 0; i < n(0.4); i++)
          await c.modify(userDn(i * 7 + r, base), change('replace', 'title', [`Lead ${r}`]));
        for (let i = 0; i < n(0.25); i++) {
          const u = (i * 101 + 17 + r * 5) % USERS;
          const g = (i * 11 + 1 + r) % GROUPS;
          if (!groupsOf(u).includes(g)) await c.modify(groupDn(g, base), change('add', 'member', [userDn(u, base)]));
        }
        for (let i = 0; i < n(0.2); i++) {
          const u = i * 211 + 29 + r * 3;
          await c.modify(groupDn(groupsOf(u)[0], base), change('delete', 'member', [userDn(u, base)]));
        }
        for (let i = 0; i < n(0.1); i++) {
          const dn = `uid=new${r}-${i},ou=people,${base}`;
          await c.add(dn, {
            objectClass: 'inetOrgPerson',
            uid: `new${r}-${i}`,
            cn: `New ${r} ${i}`,
            sn: 'New',
            mail: `new${r}-${i}@bench.example`,
          });
          await c.modify(groupDn(i + r * 50, base), change('add', 'member', [dn]));
        }
        for (let i = 0; i < n(0.05); i++) await c.del(userDn(USERS - 1 - i - r * 50, base));
      });
    // A timestamp cursor looks 5 minutes back (clocks a little apart): a read within 5 minutes of the
    // last would see every entry changed since as changed again. Age it, as a later sync's would be.
    const ageCursor = async () => {
      await new Promise((r) => setTimeout(r, 2100));
      await db.query(
        `UPDATE source_state SET cursor = jsonb_set(cursor, '{since}', to_jsonb($2::text)) WHERE connection_id = $1`,
        [conn.id, new Date(Date.now() + 5 * 60_000 - 1000).toISOString()],
      );
    };
    // Round 1: the access log holds nothing older than the full read (the directory was loaded
    // offline), so this read scans every id for deletions, says so, and takes its mark in the log.
    await ageCursor();
    await makeChanges(1);
    const scanned = await pullRead(world, db, conn.id, 'incremental', 'incremental read, scan');
    const afterScan = await count();
    // Round 2: deletions from the access log.
    await ageCursor();
    await makeChanges(2);
    const logged = await pullRead(world, db, conn.id, 'incremental', 'incremental read, access log');
    const afterLog = await count();
    const expected = (rounds: number) => USERS + rounds * (n(0.1) - n(0.05));

    const result = {
      machine: machine(),
      users: USERS,
      groups: GROUPS,
      memberships,
      changes: CHANGES,
      full: { ...full, stored },
      unchangedFull: stable,
      incrementalScan: { ...scanned, stored: afterScan, expectedUsers: expected(1) },
      incrementalAccessLog: { ...logged, stored: afterLog, expectedUsers: expected(2) },
    };
    console.log(JSON.stringify(result, null, 2));
    const ok =
      stored.users === USERS &&
      stored.groups === GROUPS &&
      stored.memberships === memberships &&
      full.usersPerSecond >= FLOORS.usersPerSecond &&
      stable.rowsWritten === 0 &&
      stable.rowsWrittenByXmin === 0 &&
      stable.usersPerSecond >= FLOORS.unchangedUsersPerSecond &&
      scanned.mode === 'incremental' &&
      afterScan.users === expected(1) &&
      logged.mode === 'incremental' &&
      !logged.note &&
      afterLog.users === expected(2) &&
      Math.min(scanned.readSeconds, logged.readSeconds) < FLOORS.incrementalSeconds &&
      Math.max(full.peakRssMb, stable.peakRssMb, scanned.peakRssMb, logged.peakRssMb) < FLOORS.peakRssMb;
    console.log(
      `floors (everything stored, full read ≥ 5,000 users/s, a full read of the unchanged directory writes no row at ≥ 20,000 users/s, an incremental read < 2 s, peak RSS < 400 MB): ${ok ? 'MET' : 'NOT MET'}`,
    );
    console.log(
      `incremental reads of ${CHANGES} changes: ${scanned.readSeconds} s scanning for deletions, ${logged.readSeconds} s from the access log`,
    );
    process.exitCode = ok ? 0 : 1;
  } finally {
    await db.end();
    await world.stop();
    await slapd.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

runBenchmark(main);
