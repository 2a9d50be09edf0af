import fs from 'node:fs';
import type { Server } from 'node:http';
import net from 'node:net';
import path from 'node:path';
import express from 'express';
import { createApp } from './app';
import { flushTracing, startTracing } from './tracing';
import { metricsRouter } from './http/metrics';
import { INSTANCE_ID } from './instance';
import { ConfigError, loadConfig, PROJECT_ROOT, requireForgeAppId } from './config';
import { resolveKeyRing } from './crypto/key';
import { migrateUp } from './db/migrator';
import { openDatabase } from './db/open';
import { createLogger } from './logger';
import { limitHeapGrowth } from './memory';

/** Process entry: config → database (+ migrations) → app → listen; stops cleanly on SIGINT/SIGTERM. */
async function main(): Promise<void> {
  limitHeapGrowth();
  process.chdir(PROJECT_ROOT); // atlassian-connect-express reads its descriptor and config.json from the working folder
  const loaded = loadConfig();
  const config = Object.freeze({
    ...loaded,
    forgeAppId: loaded.forgeAppId ?? registeredAppId(path.join(PROJECT_ROOT, 'manifest.yml')),
  });
  requireForgeAppId(config);
  const logger = createLogger(config.logLevel, undefined, config.logFormat);
  logger.info(
    config.forgeAppId
      ? { forgeAppId: config.forgeAppId }
      : { forgeAppId: null, hint: 'set FORGE_APP_ID (or run `forge register`) to accept calls from Forge' },
    'Forge app id',
  );
  if (startTracing(config.tracing)) logger.info({ tracesUrl: config.tracing.tracesUrl }, 'tracing to OTLP');
  await portFree(config.port); // before the database: a busy port is said at once, not after a minute of start-up
  const db = await openDatabase(config, logger);
  const applied = await migrateUp(db.sequelize);
  if (applied.length) logger.info({ applied }, 'migrations applied');
  const { app, close, startBackground, scheduler } = await createApp({
    config,
    sequelize: db.sequelize,
    logger,
    secretKey: resolveKeyRing(config),
  });
  startBackground();
  if (config.schedulerEnabled) await scheduler.start();
  const server: Server = app.listen(config.port);
  const metricsServer = config.metrics.port ? serveMetrics(config.metrics.port) : undefined;
  server.once('error', (err: NodeJS.ErrnoException) => {
    process.stderr.write(`${startError(err, config.port)}\n`);
    process.exit(1);
  });
  server.once('listening', () => {
    logger.info(
      { port: config.port, localBaseUrl: config.localBaseUrl, embeddedDatabase: db.embedded, instance: INSTANCE_ID },
      'listening',
    );
    logger.info(nextStep(config.localBaseUrl, config.port));
  });
  // Graceful stop: no new connections, finish the requests in flight, then close the database.
  let inFlight = 0;
  server.on('request', (_req, res) => {
    inFlight++;
    res.once('close', () => inFlight--);
  });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, inFlight }, 'shutting down');
    server.close();
    server.closeIdleConnections();
    const deadline = Date.now() + 10_000;
    while (inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    server.closeAllConnections();
    metricsServer?.close();
    await close().catch(() => undefined);
    await flushTracing().catch(() => undefined);
    await db.close().catch(() => undefined);
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

/**
 * The app id `forge register` wrote into the generated manifest.yml (the audience of Forge's
 * invocation tokens), when FORGE_APP_ID does not name one; the placeholder counts as none.
 */
function registeredAppId(manifestFile: string): string | undefined {
  if (!fs.existsSync(manifestFile)) return undefined;
  const id = /^\s+id:\s*["']?(ari:cloud:ecosystem::app\/[0-9a-f-]{36})["']?\s*$/m.exec(
    fs.readFileSync(manifestFile, 'utf8'),
  )?.[1];
  return id && !/app\/0{8}-0{4}-0{4}-0{4}-0{12}$/.test(id) ? id : undefined;
}

/** `METRICS_PORT`: /metrics alone on a listener of its own (no token: keep the port off the public network). */
function serveMetrics(port: number): Server {
  const app = express();
  app.disable('x-powered-by');
  app.use(metricsRouter({ open: true }));
  const server = app.listen(port);
  server.once('error', (err: NodeJS.ErrnoException) => {
    process.stderr.write(`METRICS_PORT: ${startError(err, port)}\n`);
    process.exit(1);
  });
  return server;
}

/** Resolves when the port can be listened on; else rejects with the error listening would give. */
function portFree(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(port, () => probe.close(() => resolve()));
  });
}

/** One sentence for what stops a start that people meet: the port taken, or not ours to take. */
function startError(err: NodeJS.ErrnoException, port: number): string {
  if (err.code === 'EADDRINUSE')
    return `Port ${port} is already in use (another server, or this one started twice): stop it, or set PORT to a free port (PORT=${port + 1} npm start).`;
  if (err.code === 'EACCES')
    return `Port ${port} may not be used by this user (ports below 1024 need privileges): set PORT to a port above 1024.`;
  return `Start-up failed: ${err.message}`;
}

/** The last line of start-up: where to go next. */
function nextStep(baseUrl: string, port: number): string {
  const local = `http://localhost:${port}/`;
  return baseUrl.startsWith('https://')
    ? `Ready at ${baseUrl}. Next: npm run manifest, forge deploy, forge install (docs/install.md); open ${baseUrl}/ for the steps and health.`
    : `Ready. Open ${local} in a browser: it shows the server's health and how to install it into a Jira site (docs/install.md).`;
}

main().catch((err: NodeJS.ErrnoException) => {
  const config = err instanceof ConfigError;
  const port = (err as { port?: number }).port ?? Number(process.env.PORT ?? 3000); // Node's listen errors name the port
  process.stderr.write(`${config ? err.message : startError(err, port)}\n`);
  process.exit(1);
});
