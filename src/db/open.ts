import type { Sequelize } from 'sequelize';
import type { Config } from '../config';
import type { Logger } from '../logger';
import { createSequelize } from './database';
import { startEmbeddedPostgres } from './embedded';

/** An open database: the Sequelize instance, and how to let go of it (and of an embedded server). */
export interface OpenDatabase {
  sequelize: Sequelize;
  embedded: boolean;
  close(): Promise<void>;
}

/** Connects to DATABASE_URL, or starts the embedded Postgres under the data folder when it is unset. */
export async function openDatabase(config: Config, logger: Logger): Promise<OpenDatabase> {
  const embedded = config.database.url
    ? undefined
    : await startEmbeddedPostgres({
        dataDir: config.dataDir,
        port: config.database.embeddedPort,
        sharedDir: config.database.embeddedSharedDir,
        logger,
      });
  const sequelize = createSequelize(config.database.url ?? embedded!.url, config.database.poolMax);
  await sequelize.authenticate();
  return {
    sequelize,
    embedded: Boolean(embedded),
    async close() {
      await sequelize.close();
      await embedded?.stop();
    },
  };
}
