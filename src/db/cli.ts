import { loadConfig } from '../config';
import { createLogger } from '../logger';
import { openDatabase } from './open';
import { createMigrator, migrateUp } from './migrator';

/** `npm run migrate` (up) and `npm run migrate:down` (reverts the last migration). */
async function main(direction: string): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel === 'silent' ? 'silent' : 'info');
  const db = await openDatabase(config, logger);
  try {
    if (direction === 'down') {
      const reverted = await createMigrator(db.sequelize).down();
      logger.info({ reverted: reverted.map((m) => m.name) }, 'migration reverted');
    } else {
      logger.info({ applied: await migrateUp(db.sequelize) }, 'migrations applied');
    }
  } finally {
    await db.close();
  }
}

main(process.argv[2] ?? 'up').catch((err: Error) => {
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
});
