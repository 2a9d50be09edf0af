import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import request from 'supertest';
import { createApp, type AppServices } from '../../src/app';
import { loadConfig, type Config } from '../../src/config';
import type { Clock } from '../../src/clock';
import { createLogger } from '../../src/logger';
import { createTestDatabase, type TestDatabase } from './db';
import type { FakeJira } from './fakeJira';
import type { KeyServer } from './keyServer';

/** A running add-on for a test: real HTTP on a loopback port, its own database, captured logs. */
export interface TestApp extends AppServices {
  url: string;
  config: Config;
  db: TestDatabase;
  secretKey: Buffer;
  /** Every log line the app wrote (JSON), for "secrets are never logged" checks. */
  logs: string[];
  close(): Promise<void>;
}

export async function startTestApp(opts: {
  keys: KeyServer;
  env?: Record<string, string>;
  db?: TestDatabase;
  clock?: Clock;
  secretKey?: Buffer;
}): Promise<TestApp> {
  const db = opts.db ?? (await createTestDatabase());
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: String(port),
    AC_LOCAL_BASE_URL: url,
    DATABASE_URL: db.url,
    CONNECT_KEYS_CDN_URL: opts.keys.url,
    JIRA_BACKOFF_BASE_MS: '10',
    JIRA_BACKOFF_MAX_MS: '50',
    JIRA_TIMEOUT_MS: '2000',
    // The fakes (Entra ID, OpenLDAP, Samba) listen on loopback, which a tenant's URL may not reach by default.
    OUTBOUND_ALLOW: '127.0.0.0/8,::1/128',
    ...opts.env,
  });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const secretKey = opts.secretKey ?? crypto.randomBytes(32);
  const listenersBefore = process.listeners('unhandledRejection');
  const services = await createApp({
    config,
    sequelize: db.sequelize,
    logger: createLogger('debug', sink),
    secretKey,
    clock: opts.clock,
  });
  server.on('request', services.app);
  return {
    ...services,
    url,
    config,
    db,
    secretKey,
    logs,
    async close() {
      // ACE adds a process-wide unhandledRejection listener per addon; drop this app's.
      for (const l of process.listeners('unhandledRejection'))
        if (!listenersBefore.includes(l)) process.off('unhandledRejection', l);
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await services.close();
      if (!opts.db) await db.drop();
    },
  };
}

/** Admin API headers for a context JWT. */
export function jwtHeader(token: string): Record<string, string> {
  return { Authorization: `JWT ${token}` };
}

/** Saves the fake site admin's email and API token as the site's credentials (what Jira writes need). */
export async function storeSiteToken(app: TestApp, jira: FakeJira, clientKey = jira.clientKey): Promise<void> {
  await app.credentials.save(clientKey, {
    email: jira.admin.emailAddress,
    apiToken: jira.adminToken,
    tokenAccountId: jira.admin.accountId,
    orgId: null,
    orgApiKey: null,
    updatedBy: 'test',
  });
}

/** Waits until a run is over (draining the executor while it applies); the run as the admin API shows it. */
export async function waitForRun(
  on: TestApp,
  auth: Record<string, string>,
  runId: string,
): Promise<request.Response['body']> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const run = (await request(on.url).get(`/api/v1/runs/${runId}`).set(auth)).body;
    if (run.status !== 'running') return run;
    if (run.stage === 'applying') await on.engine.drain(30_000);
    if (Date.now() > deadline) throw new Error(`run ${runId} did not finish: ${JSON.stringify(run).slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
