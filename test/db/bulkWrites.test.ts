import crypto from 'node:crypto';
import { Sql } from '../../src/db/sql';
import { PullStore } from '../../src/directory/pull';
import type { PulledUser } from '../../src/directory/pulled';
import { WriteQueue } from '../../src/sources/writeQueue';
import { createTestDatabase, insertLdapConnection, type TestDatabase } from '../support/db';

/**
 * The bulk writes a pull source makes: `Sql.bulk` (no wait for the disk, a plan made for the values
 * at hand) leaves the pooled connection as it found it; two user batches written at once that bring
 * the same username end in one user and one conflict, never a failed read; the write queue keeps
 * its depth and hands on the first failure.
 */
let db: TestDatabase;
let sql: Sql;
beforeAll(async () => {
  db = await createTestDatabase();
  sql = new Sql(db.sequelize);
});
afterAll(() => db.drop());

const user = (userName: string): PulledUser => ({
  id: crypto.randomUUID(),
  userName,
  email: `${userName}@example.test`,
  displayName: userName,
  active: true,
  externalId: null,
  resource: { uid: userName },
});

it('a bulk write leaves the connection with its own settings', async () => {
  const [before] = await sql.query<{ s: string; p: string }>(
    "SELECT current_setting('synchronous_commit') AS s, current_setting('plan_cache_mode') AS p",
  );
  const inside = await sql.bulk<{ s: string; p: string }>(
    "SELECT current_setting('synchronous_commit') AS s, current_setting('plan_cache_mode') AS p",
  );
  expect(inside).toEqual([{ s: 'off', p: 'force_custom_plan' }]);
  // Every connection of the pool (5) is back to its settings afterwards.
  const after = await Promise.all(
    Array.from({ length: 5 }, () =>
      sql.transaction((tx) =>
        sql.query<{ s: string; p: string }>(
          "SELECT pg_sleep(0.05), current_setting('synchronous_commit') AS s, current_setting('plan_cache_mode') AS p",
          [],
          tx,
        ),
      ),
    ),
  );
  for (const [row] of after) expect({ s: row.s, p: row.p }).toEqual(before);
  // A failing bulk write too.
  await expect(sql.bulk('SELECT 1/0')).rejects.toThrow(/division by zero/);
  const [again] = await sql.query<{ s: string }>("SELECT current_setting('synchronous_commit') AS s");
  expect(again.s).toBe(before.s);
});

it('two user batches written at once with the same username: one user, one conflict', async () => {
  const connectionId = await insertLdapConnection((t, p) => sql.query(t, p), 'bulk', 'openldap');
  const store = new PullStore(sql);
  for (let round = 0; round < 5; round++) {
    const a = [user(`a${round}`), user(`Twin${round}`)];
    const b = [user(`twin${round}`), user(`b${round}`)];
    const [ca, cb] = await Promise.all([
      store.upsertUsers(connectionId, a, null),
      store.upsertUsers(connectionId, b, null),
    ]);
    const conflicts = [...ca, ...cb];
    expect(conflicts).toHaveLength(1);
    expect(conflicts[0].userName.toLowerCase()).toBe(`twin${round}`);
    const stored = await sql.query<{ user_name: string }>(
      'SELECT user_name FROM directory_users WHERE connection_id = $1 AND lower(user_name) LIKE $2',
      [connectionId, `%${round}`],
    );
    expect(stored.map((s) => s.user_name.toLowerCase()).sort()).toEqual([`a${round}`, `b${round}`, `twin${round}`]);
  }
});

it('the write queue keeps at most its depth in flight and hands on the first failure', async () => {
  const q = new WriteQueue(2);
  let inFlight = 0;
  let most = 0;
  const write = (ms: number, fail?: string) => async () => {
    most = Math.max(most, ++inFlight);
    await new Promise((r) => setTimeout(r, ms));
    inFlight--;
    if (fail) throw new Error(fail);
  };
  for (let i = 0; i < 6; i++) await q.push(write(5));
  await q.drain();
  expect(most).toBe(2);

  const failing = new WriteQueue(2);
  await failing.push(write(5, 'first'));
  await failing.push(write(10, 'second'));
  await expect(failing.push(write(1))).rejects.toThrow('first');
  await expect(failing.drain()).rejects.toThrow('first');
});
