/**
 * Planning benchmark: what it costs to plan a run started by directory changes, with USERS users
 * (each in 3 of GROUPS groups, all linked to Jira accounts and all in sync with the Jira state the
 * app knows) in the directory store. Times the plan of one membership change, one user's attribute
 * change, and a full plan of every user from the known state (a group renamed), each several times,
 * through the engine (dry runs: nothing is written). No Jira is called: the engine has none.
 * Usage: npm run bench:plan [-- --users 100000 --groups 500 --repeat 20]
 */
import crypto from 'node:crypto';
import { Sequelize } from 'sequelize';
import { systemClock } from '../../src/clock';
import type { Connection } from '../../src/db/connections';
import { ConnectionRepository } from '../../src/db/connections';
import { Sql } from '../../src/db/sql';
import { SnapshotReader } from '../../src/directory/snapshot';
import { createLogger } from '../../src/logger';
import { limitHeapGrowth } from '../../src/memory';
import { watchLoop } from '../../src/slices';
import { ProvisioningEngine, type EngineDeps } from '../../src/provisioning/engine';
import { JiraStateStore } from '../../src/provisioning/stores/jiraState';
import { LinkRepository } from '../../src/provisioning/stores/links';
import { CustomerGrants } from '../../src/provisioning/stores/customerGrants';
import { ManagedMemberships } from '../../src/provisioning/stores/managedMemberships';
import type { DirectoryChanges } from '../../src/directory/types';
import { adminQuery, buildTemplate, startTestPostgres, TEMPLATE_DB, withDatabase } from '../../test/support/postgres';
import { machine, numberArg, runBenchmark, seedDirectory } from '../support';

const USERS = numberArg('users', 100_000);
const GROUPS = numberArg('groups', 500);
const REPEAT = numberArg('repeat', 20);

async function seed(sql: Sql, clientKey: string, connectionId: string): Promise<void> {
  await sql.query(
    "INSERT INTO tenants (client_key, base_url, enabled) VALUES ($1, 'https://bench.atlassian.net', true)",
    [clientKey],
  );
  await sql.query(
    `INSERT INTO connections (id, client_key, name, kind, provider, settings)
     VALUES ($1, $2, 'Bench', 'scim', 'generic', '{"rules": {"groups": {"onTheFly": {"enabled": true}}}}')`,
    [connectionId, clientKey],
  );
  await seedDirectory((text, params) => sql.query(text, params), connectionId, USERS, GROUPS);
  // Everything already in Jira and known: every user linked, every group there with its members, all added by the app.
  await sql.query(
    `INSERT INTO jira_links (connection_id, user_id, account_id, email)
     SELECT connection_id, id, 'acc-' || id, user_name FROM directory_users WHERE connection_id = $1`,
    [connectionId],
  );
  await sql.query(
    `INSERT INTO jira_groups (client_key, group_id, name, members_known)
     SELECT $2, 'jg-' || id, display_name, true FROM directory_groups WHERE connection_id = $1`,
    [connectionId, clientKey],
  );
  await sql.query(
    `INSERT INTO jira_group_members (client_key, group_id, account_id)
     SELECT $2, 'jg-' || group_id, 'acc-' || user_id FROM directory_memberships WHERE connection_id = $1`,
    [connectionId, clientKey],
  );
  await sql.query(
    `INSERT INTO managed_memberships (connection_id, account_id, group_id, group_name)
     SELECT m.connection_id, 'acc-' || m.user_id, 'jg-' || m.group_id, g.display_name
     FROM directory_memberships m JOIN directory_groups g ON g.connection_id = m.connection_id AND g.id = m.group_id
     WHERE m.connection_id = $1`,
    [connectionId],
  );
  await sql.query('INSERT INTO jira_state_reads (client_key, read_at) VALUES ($1, now())', [clientKey]);
  await sql.query('ANALYZE');
}

async function main(): Promise<void> {
  limitHeapGrowth(); // as the server does
  const pg = await startTestPostgres();
  await buildTemplate(pg.adminUrl);
  await adminQuery(pg.adminUrl, `CREATE DATABASE bench_plan TEMPLATE ${TEMPLATE_DB}`);
  const sequelize = new Sequelize(withDatabase(pg.adminUrl, 'bench_plan'), { logging: false });
  const sql = new Sql(sequelize);
  try {
    const clientKey = 'bench-site';
    const connectionId = crypto.randomUUID();
    const t0 = Date.now();
    await seed(sql, clientKey, connectionId);
    console.log(
      `seeded ${USERS} users in ${GROUPS} groups, all linked and known (${((Date.now() - t0) / 1000).toFixed(1)} s)`,
    );
    const logger = createLogger('warn');
    const deps: EngineDeps = {
      runs: undefined as never, // dry runs record nothing
      snapshot: new SnapshotReader(sql),
      links: new LinkRepository(sql),
      managed: new ManagedMemberships(sql),
      jiraState: new JiraStateStore(sql),
      grants: new CustomerGrants(sql),
      jira: { hasOrgKey: async () => false } as never, // a plan from changes reads no Jira (it asks only whether profiles can be written)
      executor: undefined as never,
      logger,
      clock: systemClock,
      retry: { backoffBaseMs: 1000, backoffMaxMs: 1000 },
    };
    const engine = new ProvisioningEngine(deps);
    const connection = (await new ConnectionRepository(sql).byId(connectionId)) as Connection;
    const [member] = await sql.query<{ user_id: string; group_id: string }>(
      `SELECT user_id::text AS user_id, group_id::text AS group_id FROM directory_memberships WHERE connection_id = $1 LIMIT 1`,
      [connectionId],
    );
    // One user left a group: the request names the user; the plan removes that one membership.
    const time = async (label: string, changes: DirectoryChanges, prepare?: () => Promise<void>) => {
      if (prepare) await prepare();
      const ms: number[] = [];
      let operations = 0;
      for (let i = 0; i < REPEAT; i++) {
        const s = process.hrtime.bigint();
        const result = await engine.run(connection, 'scim', { dryRun: true, changes });
        ms.push(Number(process.hrtime.bigint() - s) / 1e6);
        if (result.kind !== 'plan') throw new Error(`${label}: ${JSON.stringify(result).slice(0, 300)}`);
        operations = result.plan.operations.length;
      }
      ms.sort((a, b) => a - b);
      const r = {
        operations,
        medianMs: Math.round(ms[Math.floor(ms.length / 2)] * 10) / 10,
        p90Ms: Math.round(ms[Math.floor(ms.length * 0.9)] * 10) / 10,
      };
      console.log(`${label}: ${JSON.stringify(r)}`);
      return r;
    };
    const oneMembership = await time(
      'one membership change',
      { userIds: [member.user_id], groupIds: [], wide: false },
      () =>
        sql
          .query('DELETE FROM directory_memberships WHERE connection_id = $1 AND user_id = $2 AND group_id = $3', [
            connectionId,
            member.user_id,
            member.group_id,
          ])
          .then(() => undefined),
    );
    const oneAttribute = await time('one user attribute (nothing to do)', {
      userIds: [(await sql.query<{ id: string }>('SELECT id::text AS id FROM directory_users LIMIT 1 OFFSET 7'))[0].id],
      groupIds: [],
      wide: false,
    });
    const group = await time('a group emptied (its members planned)', {
      userIds: [],
      groupIds: [member.group_id],
      wide: false,
    });
    const REPEAT_WIDE = Math.max(1, Math.min(REPEAT, 3));
    const wideMs: number[] = [];
    let wideOps = 0;
    // How long the event loop is held at a time while every user is planned (a SCIM call waits that long).
    const loop = watchLoop();
    for (let i = 0; i < REPEAT_WIDE; i++) {
      const s = process.hrtime.bigint();
      const result = await engine.run(connection, 'scim', {
        dryRun: true,
        changes: { userIds: [], groupIds: [], wide: true },
      });
      wideMs.push(Number(process.hrtime.bigint() - s) / 1e6);
      if (result.kind === 'plan') wideOps = result.plan.operations.length;
    }
    const delay = loop();
    const wide = {
      operations: wideOps,
      medianMs: Math.round(wideMs.sort((a, b) => a - b)[Math.floor(REPEAT_WIDE / 2)]),
      eventLoopDelayMs: { p99: delay.p99Ms, max: delay.maxMs },
    };
    console.log(`every user from the known state (a group renamed): ${JSON.stringify(wide)}`);
    const result = {
      machine: machine(),
      users: USERS,
      groups: GROUPS,
      repeat: REPEAT,
      oneMembershipChange: oneMembership,
      oneAttributeChange: oneAttribute,
      groupChange: group,
      everyUserFromKnownState: wide,
    };
    console.log(JSON.stringify(result, null, 2));
    const ok =
      oneMembership.operations === 1 &&
      oneMembership.medianMs < 100 &&
      oneAttribute.operations === 0 &&
      wide.eventLoopDelayMs.max <= 50;
    console.log(
      `floors (one change: one operation, planned in < 100 ms; every user planned without holding the event loop more than 50 ms at a time): ${ok ? 'MET' : 'NOT MET'}`,
    );
    process.exitCode = ok ? 0 : 1;
  } finally {
    await sequelize.close();
    await pg.stop();
  }
}

runBenchmark(main);
