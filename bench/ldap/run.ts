/**
 * LDAP pull benchmark against a real OpenLDAP server on the same machine: USERS users and GROUPS
 * groups (each user in three groups: ~3 × USERS memberships) loaded offline with slapadd, then
 * - a full read into the directory store (users/s, the reader's peak RSS);
 * - an incremental read after CHANGES users changed (mail), and another after CHANGES changes of
 *   which a tenth are memberships (which re-reads every group's members, by design).
 * Usage: npm run bench:ldap [-- --users 100000 --groups 5000 --changes 100]
 */
import { fork } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Attribute, Change } from 'ldapts';
import { Sequelize } from 'sequelize';
import { Sql } from '../../src/db/sql';
import { PullStore } from '../../src/directory/pull';
import { openSession } from '../../src/sources/ldap/client';
import { LdapRead, type LdapCursor } from '../../src/sources/ldap/incremental';
import { ldapSettingsSchema } from '../../src/sources/ldap/settings';
import { adminQuery, buildTemplate, startTestPostgres, TEMPLATE_DB, withDatabase } from '../../test/support/postgres';
import { Slapd } from '../../test/support/slapd';
import { numberArg, procStatusKb, runBenchmark } from '../support';

const USERS = numberArg('users', 100_000);
const GROUPS = numberArg('groups', 5_000);
const CHANGES = numberArg('changes', 100);
const FLOORS = { usersPerSecond: 5_000, incrementalMs: 2_000, peakRssMb: 400 };

/** The directory as LDIF: the base, two OUs, the users, and the groups with their member DNs. */
function writeLdif(file: string, base: string): void {
  const out = fs.openSync(file, 'w');
  const w = (s: string) => fs.writeSync(out, s);
  w(`dn: ${base}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\n`);
  w(`dn: ou=people,${base}\nobjectClass: organizationalUnit\nou: people\n\n`);
  w(`dn: ou=groups,${base}\nobjectClass: organizationalUnit\nou: groups\n\n`);
  const members: string[][] = Array.from({ length: GROUPS }, () => []);
  for (let i = 0; i < USERS; i++) {
    const uid = `user${i}`;
    w(
      `dn: uid=${uid},ou=people,${base}\nobjectClass: inetOrgPerson\nuid: ${uid}\ncn: User ${i}\nsn: ${i}\nmail: ${uid}@bench.example\ndisplayName: User ${i}\nentryUUID: ${crypto.randomUUID()}\n\n`,
    );
    for (const g of new Set([i % GROUPS, (i * 7 + 3) % GROUPS, (i * 13 + 5) % GROUPS]))
      members[g].push(`uid=${uid},ou=people,${base}`);
  }
  members.forEach((m, g) => {
    w(
      `dn: cn=team-${g},ou=groups,${base}\nobjectClass: groupOfNames\ncn: team-${g}\nentryUUID: ${crypto.randomUUID()}\n`,
    );
    for (const dn of m.length ? m : [`cn=team-${g},ou=groups,${base}`]) w(`member: ${dn}\n`);
    w('\n');
  });
  fs.closeSync(out);
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-ldap-'));
  const slapd = new Slapd();
  const ldif = path.join(dir, 'seed.ldif');
  const t = Date.now();
  // Written by a child process, so that its memory is not counted as the reader's.
  await new Promise<void>((resolve, reject) =>
    fork(__filename, ['--write-ldif', ldif, slapd.baseDn], { stdio: 'inherit' }).on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`writing the LDIF failed (${code})`)),
    ),
  );
  await slapd.start({ seedLdif: ldif });
  const loadMs = Date.now() - t;
  const pg = await startTestPostgres();
  await buildTemplate(pg.adminUrl);
  await adminQuery(pg.adminUrl, `CREATE DATABASE bench_ldap TEMPLATE ${TEMPLATE_DB}`);
  const sequelize = new Sequelize(withDatabase(pg.adminUrl, 'bench_ldap'), { logging: false });
  const sql = new Sql(sequelize);
  const store = new PullStore(sql);
  const connectionId = crypto.randomUUID();
  try {
    await sql.query(
      "INSERT INTO tenants (client_key, base_url, enabled) VALUES ('bench', 'https://bench.atlassian.net', true)",
    );
    await sql.query(
      "INSERT INTO connections (id, client_key, name, kind, provider) VALUES ($1, 'bench', 'LDAP', 'ldap', 'openldap')",
      [connectionId],
    );
    const settings = ldapSettingsSchema.parse({
      directoryType: 'openldap',
      urls: [slapd.url],
      startTls: false, // loopback: the figure is the reader's, not TLS's
      bindName: slapd.adminDn,
      users: { baseDn: `ou=people,${slapd.baseDn}` },
      groups: { baseDn: `ou=groups,${slapd.baseDn}` },
    });
    const read = async (mode: 'full' | 'auto', cursor?: LdapCursor) => {
      const session = await openSession(settings, slapd.adminPassword);
      try {
        const r = new LdapRead(connectionId, settings, session, store);
        const started = Date.now();
        const next = await r.read(mode, cursor);
        return { next: next!, ms: Date.now() - started, progress: r.progress, changes: r.changed() };
      } finally {
        await session.close();
      }
    };
    const full = await read('full');
    const peakFullMb = Math.round(procStatusKb(process.pid, 'VmHWM') / 1024);
    fs.writeFileSync(`/proc/${process.pid}/clear_refs`, '5');
    const counts = (
      await sql.query<{ users: number; groups: number; memberships: number }>(
        `SELECT (SELECT count(*) FROM directory_users)::int AS users, (SELECT count(*) FROM directory_groups)::int AS groups,
                (SELECT count(*) FROM directory_memberships)::int AS memberships`,
      )
    )[0];
    const changeMails = async (n: number, tag: string) =>
      slapd.withAdmin(async (c) => {
        for (let i = 0; i < n; i++)
          await c.modify(
            `uid=user${i * 97},ou=people,${slapd.baseDn}`,
            new Change({
              operation: 'replace',
              modification: new Attribute({ type: 'mail', values: [`user${i * 97}.${tag}@bench.example`] }),
            }),
          );
      });
    // The timestamp cursor looks 5 minutes back for clocks apart: a read within 5 minutes sees every entry
    // changed since the load too. Age the cursor by moving it forward past the load, as a later sync would be.
    const later = (c: LdapCursor): LdapCursor =>
      c.kind === 'timestamp' ? { kind: 'timestamp', since: new Date(Date.now() + 5 * 60_000 - 1000).toISOString() } : c;
    await new Promise((r) => setTimeout(r, 1100));
    const before = later(full.next);
    await changeMails(CHANGES, 'a');
    const users = await read('auto', before);
    const before2 = later(users.next);
    await changeMails(CHANGES - CHANGES / 10, 'b');
    await slapd.withAdmin(async (c) => {
      for (let g = 0; g < CHANGES / 10; g++)
        await c.modify(
          `cn=team-${g},ou=groups,${slapd.baseDn}`,
          new Change({
            operation: 'add',
            modification: new Attribute({
              type: 'member',
              values: [`uid=user${g * 11 + 1},ou=people,${slapd.baseDn}`],
            }),
          }),
        );
    });
    const withGroups = await read('auto', before2);
    const peakIncrementalMb = Math.round(procStatusKb(process.pid, 'VmHWM') / 1024);
    const peakRssMb = Math.max(peakFullMb, peakIncrementalMb);
    const result = {
      machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, node ${process.version}`,
      directory: { ...counts, loadedOfflineMs: loadMs },
      fullRead: { ms: full.ms, usersPerSecond: Math.round((USERS / full.ms) * 1000), pages: full.progress.pages },
      incremental: {
        userChanges: { changes: CHANGES, ms: users.ms, mode: users.progress.mode, usersRead: users.progress.usersSeen },
        withMembershipChanges: {
          changes: CHANGES,
          membershipChanges: CHANGES / 10,
          ms: withGroups.ms,
          mode: withGroups.progress.mode,
          membershipsWritten: withGroups.progress.membershipsSeen,
        },
      },
      peakRssMb: { fullRead: peakFullMb, incrementalReads: peakIncrementalMb },
    };
    console.log(JSON.stringify(result, null, 2));
    const ok =
      result.fullRead.usersPerSecond >= FLOORS.usersPerSecond &&
      users.ms < FLOORS.incrementalMs &&
      users.progress.mode === 'incremental' &&
      peakRssMb < FLOORS.peakRssMb;
    console.log(ok ? 'floors met' : `floors NOT met: ${JSON.stringify(FLOORS)}`);
    process.exitCode = ok ? 0 : 1;
  } finally {
    await sequelize.close();
    await pg.stop();
    await slapd.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const writeArg = process.argv.indexOf('--write-ldif');
if (writeArg > 0) writeLdif(process.argv[writeArg + 1], process.argv[writeArg + 2]);
else runBenchmark(main);
