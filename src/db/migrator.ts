import path from 'node:path';
import type { QueryInterface, Sequelize } from 'sequelize';
import { SequelizeStorage, Umzug } from 'umzug';
import { PROJECT_ROOT } from '../config';

/** Migrations live in migrations/ as plain CommonJS, so they run the same from src, dist and jest. */
export const MIGRATIONS_GLOB = path.join(PROJECT_ROOT, 'migrations', '*.js').replace(/\\/g, '/');

/** The umzug migrator over the app's Sequelize instance; the applied list is kept in "schema_migrations". */
export function createMigrator(sequelize: Sequelize): Umzug<QueryInterface> {
  return new Umzug({
    migrations: { glob: MIGRATIONS_GLOB },
    context: sequelize.getQueryInterface(),
    storage: new SequelizeStorage({ sequelize, tableName: 'schema_migrations' }),
    logger: undefined,
  });
}

/**
 * Applies every pending migration. A transaction-scoped advisory lock (held on one connection while
 * umzug works on others) makes parallel instances starting together take turns.
 */
export async function migrateUp(sequelize: Sequelize): Promise<string[]> {
  const migrator = createMigrator(sequelize);
  return sequelize.transaction(async (transaction) => {
    await sequelize.query("SELECT pg_advisory_xact_lock(hashtextextended('idp-sync:migrations', 0))", { transaction });
    return (await migrator.up()).map((m) => m.name);
  });
}
