import crypto from 'node:crypto';
import { Sql } from '../../src/db/sql';
import { OperationQueue } from '../../src/provisioning/executor/queue';
import { createTestDatabase, insertLdapConnection, type TestDatabase } from '../support/db';

/**
 * Fairness of the executor's claims, asserted on their order rather than on wall time: a site's one
 * change is claimed while another site has a backlog of thousands, and a small change of a site is
 * not held behind that site's own onboarding; phase order still holds within a run.
 */
let db: TestDatabase;
let sql: Sql;
let queue: OperationQueue;
beforeAll(async () => {
  db = await createTestDatabase();
  sql = new Sql(db.sequelize);
  queue = new OperationQueue(sql);
});
afterAll(() => db.drop());

/** An applying run of a connection of a site, with `n` pending operations of one phase (subjects named `<tag>-<i>`). */
async function run(site: string, tag: string, n: number, phase = 1): Promise<{ runId: string; connectionId: string }> {
  const connectionId = await insertLdapConnection((t, p) => sql.query(t, p), `${site}-${tag}`, 'openldap').catch(
    async () => {
      // the site exists already: a second connection of it
      const id = crypto.randomUUID();
      await sql.query(
        "INSERT INTO connections (id, client_key, name, kind, provider) VALUES ($1, $2, $3, 'ldap', 'openldap')",
        [id, `site-${site}`, `${site}-${tag}`],
      );
      return id;
    },
  );
  const runId = crypto.randomUUID();
  await sql.query(
    "INSERT INTO sync_runs (id, connection_id, client_key, trigger, status, stage, total) VALUES ($1, $2, $3, 'scim', 'running', 'applying', $4)",
    [runId, connectionId, `site-${site}`, n],
  );
  await sql.query(
    `INSERT INTO sync_operations (run_id, client_key, phase, kind, subject, payload, reason)
     SELECT $1, $2, $3, 'addMember', $4 || '-' || i, '{}'::jsonb, 'test' FROM generate_series(1, $5) i`,
    [runId, `site-${site}`, phase, tag, n],
  );
  return { runId, connectionId };
}

const subjects = (ops: Array<{ subject: string }>) => ops.map((o) => o.subject);

it("one site's change is claimed at once while another site has thousands pending; a site's small change is not held behind its own onboarding", async () => {
  await run('a', 'onboard', 3000); // site A: a big SCIM onboarding, created first (older ids)
  await run('b', 'change', 1); // site B: one membership change
  await run('a', 'small', 1); // site A's other connection: one change

  // Three claims of one slot each, as workers free up one by one: every run is served once before
  // the onboarding's second operation (before the fair claim: onboard-1, onboard-2, onboard-3).
  const first = await queue.claim(1);
  const second = await queue.claim(1);
  const third = await queue.claim(1);
  expect(subjects([...first, ...second, ...third]).sort()).toEqual(['change-1', 'onboard-1', 'small-1']);

  // A batch claim interleaves: no site, and no run of a site, takes every slot.
  const batch = await queue.claim(4);
  expect(subjects(batch)).toEqual(['onboard-2', 'onboard-3', 'onboard-4', 'onboard-5']); // only A has work left
});

it('phase order holds within a run: a later phase waits until the earlier one is done', async () => {
  const { runId } = await run('c', 'groups', 2, 1);
  await sql.query(
    `INSERT INTO sync_operations (run_id, client_key, phase, kind, subject, payload, reason)
     VALUES ($1, 'site-c', 2, 'addMember', 'member-1', '{}'::jsonb, 'test')`,
    [runId],
  );
  const claimed = subjects(await queue.claim(10)).filter((s) => s.startsWith('groups') || s.startsWith('member'));
  expect(claimed).toEqual(['groups-1', 'groups-2']);
});

it('a site has at most its share of operations claimed at once: a later change of another of its runs is next, not behind a queue', async () => {
  await run('d', 'd-onboard', 500);
  const held = await queue.claim(10, 2);
  expect(subjects(held).filter((s) => s.startsWith('d-onboard'))).toHaveLength(2); // two in hand, the rest wait in the database
  await run('d', 'd-later', 1); // a change of the same site, planned meanwhile
  expect(
    subjects(await queue.claim(10, 2)).filter((s) => s.startsWith('d-onboard') || s.startsWith('d-later')),
  ).toEqual([]); // the site's two are still in hand
  await sql.query("UPDATE sync_operations SET status = 'done' WHERE id = $1", [
    held.find((o) => o.subject.startsWith('d-onboard'))!.id,
  ]);
  expect(
    subjects(await queue.claim(10, 2)).filter((s) => s.startsWith('d-onboard') || s.startsWith('d-later')),
  ).toEqual(['d-later-1']); // the slot that freed goes to the change, not to the onboarding's next
});
