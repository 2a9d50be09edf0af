import { QueryTypes } from 'sequelize';
import { createMigrator, migrateUp } from '../../src/db/migrator';
import { createTestDatabase, type TestDatabase } from '../support/db';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

const tables = async () =>
  (
    await db.sequelize.query<{ tablename: string }>(
      "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations' ORDER BY 1",
      { type: QueryTypes.SELECT },
    )
  ).map((r) => r.tablename);

it('every migration goes down and comes back up', async () => {
  const before = await tables();
  expect(before).toEqual(expect.arrayContaining(['addon_settings', 'site_credentials', 'tenants']));
  const migrator = createMigrator(db.sequelize);
  const all = await migrator.executed();
  await migrator.down({ to: 0 });
  expect(await tables()).toEqual([]);
  expect((await migrateUp(db.sequelize)).length).toBe(all.length);
  expect(await tables()).toEqual(before);
  expect(await migrateUp(db.sequelize)).toEqual([]); // nothing left to apply
});

it('two instances migrating at once take turns', async () => {
  const results = await Promise.all([migrateUp(db.sequelize), migrateUp(db.sequelize)]);
  expect(results).toEqual([[], []]);
});
