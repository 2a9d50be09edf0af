import path from 'node:path';
import type { AddOn } from 'atlassian-connect-express';
import express, { type Express } from 'express';
import type { Sequelize } from 'sequelize';
import { errorHandler, notFound } from './http/errors';
import { checkJsonDepth } from './http/jsonDepth';
import { limitUrlLength } from './http/limits';
import { requestLog } from './http/requestLog';
import { securityHeaders } from './http/securityHeaders';
import { AdminCheck } from './admin/auth';
import { adminPageRouter, outsideJira } from './admin/page';
import { adminApiRouter } from './admin/routes';
import { PROJECT_ROOT, type Config } from './config';
import { createAddon } from './connect/addon';
import { requireContextJwt } from './connect/contextJwt';
import { lifecycleRouter, siteRemover } from './connect/lifecycle';
import { ForgeTokenRepository } from './db/forgeTokens';
import { InvocationVerifier } from './forge/invocation';
import { forgeLifecycleRouter } from './forge/lifecycle';
import { ForgeTrust } from './forge/authenticate';
import { forgeEventsRouter } from './forge/events';
import { ForgeSites } from './forge/sites';
import { readForgeSite } from './jira/forgeSite';
import { wakeSite } from './jobs/wake';
import { AddonSettingsStore } from './connect/store';
import { isForgeOnly, TenantRepository } from './db/tenants';
import { createSecretBox } from './crypto/secrets';
import { defineModels } from './db/models';
import { homeRouter } from './http/home';
import { ConnectionRepository } from './db/connections';
import { SiteCredentialsRepository } from './db/siteCredentials';
import { Sql } from './db/sql';
import { GroupStore } from './directory/groups';
import { UserStore } from './directory/users';
import { JiraClientFactory } from './jira/factory';
import { systemClock, type Clock } from './clock';
import type { Logger } from './logger';
import { ProvisioningEngine } from './provisioning/engine';
import { OperationQueue } from './provisioning/executor/queue';
import { Executor } from './provisioning/executor/worker';
import { JiraStateStore } from './provisioning/jiraStateStore';
import { LinkRepository } from './provisioning/links';
import { CustomerGrants } from './provisioning/customerGrants';
import { AddressGuard } from './sources/outbound';
import { ManagedMemberships } from './provisioning/managedMemberships';
import { Outbox } from './provisioning/outbox';
import { ParkedOperations } from './provisioning/retryParked';
import { RunRepository } from './provisioning/runs';
import { SnapshotReader } from './directory/snapshot';
import { OutboxTrigger } from './jobs/outbox';
import { Reconciler } from './jobs/reconcile';
import { startRetention } from './jobs/retention';
import { scimErrorHandler, scimRouter } from './scim/router';
import { ScimTokenCache } from './scim/tokenCache';
import { PullStore } from './directory/pull';
import { Scheduler } from './jobs/scheduler';
import { FirstLogins, type UserCreatedEvent } from './jobs/firstLogin';
import { PullSources } from './sources/registry';
import { SourceStateRepository } from './sources/state';

/** How long the first call of a Forge installation waits for Jira to say which site it is on. */
const FORGE_SITE_LOOKUP_MS = 2000;

/** Everything the app is built from; tests pass exactly what they need. */
export interface AppDeps {
  config: Config;
  sequelize: Sequelize;
  logger: Logger;
  secretKey: Buffer;
  clock?: Clock;
}

/** The built app and the services it wired, for the server and for tests. */
export interface AppServices {
  app: Express;
  addon: AddOn;
  jira: JiraClientFactory;
  tenants: TenantRepository;
  credentials: SiteCredentialsRepository;
  connections: ConnectionRepository;
  engine: ProvisioningEngine;
  runs: RunRepository;
  queue: OperationQueue;
  /** The SCIM trigger: starts a run once a connection's changes have gone quiet. */
  outbox: OutboxTrigger;
  reconciler: Reconciler;
  /** The pull sources (Entra ID, LDAP…), by connection kind. */
  sources: PullSources;
  scheduler: Scheduler;
  startBackground: () => void;
  /** Stops what the app runs in the background (the notification listener). */
  close: () => Promise<void>;
}

/** Builds the Express app: Connect (ACE), lifecycle, admin page, admin API, health. */
export async function createApp(deps: AppDeps): Promise<AppServices> {
  const { config, sequelize, logger } = deps;
  const clock = deps.clock ?? systemClock;
  const models = defineModels(sequelize);
  const box = createSecretBox(deps.secretKey);
  const store = new AddonSettingsStore(models, box);
  const tenants = new TenantRepository(models);
  const credentials = new SiteCredentialsRepository(models, box);
  const sql = new Sql(sequelize);
  const connections = new ConnectionRepository(sql);
  const users = new UserStore(sql);
  const groups = new GroupStore(sql);
  const tokens = new ScimTokenCache(connections, sequelize, logger);
  await tokens.start();

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false); // SCIM resources carry their own version ETags; hashing every body costs CPU for nothing
  app.set('trust proxy', 'loopback');
  app.use(requestLog(logger));
  app.use(securityHeaders(config.localBaseUrl));
  app.use(limitUrlLength);
  // SCIM parses its own bodies, so that even a malformed one gets a SCIM error.
  const json = express.json({
    limit: '1mb',
    type: ['application/json', 'application/*+json'],
    verify: checkJsonDepth,
  });
  app.use((req, res, next) => (req.path.startsWith('/scim/') ? next() : json(req, res, next)));
  app.use(
    homeRouter({ sequelize, localBaseUrl: config.localBaseUrl, port: config.port, forgeAppId: config.forgeAppId }),
  );
  app.use(
    '/vendor/aui',
    express.static(path.join(PROJECT_ROOT, 'node_modules/@atlassian/aui/dist/aui'), { maxAge: '7d', index: false }),
  );
  app.use('/public', express.static(path.join(PROJECT_ROOT, 'public'), { maxAge: '1h', index: false }));

  const addon = await createAddon(app, config, store, logger);
  const forgeTokens = new ForgeTokenRepository(sql, box);
  const jira = new JiraClientFactory(
    addon,
    credentials,
    config.jira,
    config.atlassianApiUrl,
    clock,
    (err, waitMs, attempt) =>
      logger.info({ status: err.status, path: err.details.path, waitMs, attempt }, 'Jira call will be retried'),
    forgeTokens,
    (clientKey) => !isForgeOnly(clientKey),
  );
  const queue = new OperationQueue(sql);
  const outboxStore = new Outbox(sql);
  const runs = new RunRepository(sql, queue, outboxStore);
  const links = new LinkRepository(sql);
  const managed = new ManagedMemberships(sql);
  const jiraState = new JiraStateStore(sql);
  const grants = new CustomerGrants(sql);
  const executor = new Executor({
    queue,
    runs,
    links,
    managed,
    jiraState,
    grants,
    jira,
    logger,
    options: config.sync,
    clock,
  });
  const engine = new ProvisioningEngine({
    runs,
    snapshot: new SnapshotReader(sql),
    links,
    managed,
    jiraState,
    grants,
    jira,
    executor,
    logger,
    clock,
    retry: config.sync.runRetry,
  });
  const outbox = new OutboxTrigger({ outbox: outboxStore, connections, engine, runs, logger, options: config.sync });
  const reconciler = new Reconciler({
    connections,
    engine,
    logger,
    checkMs: config.sync.reconcileCheckMs,
  });
  const sourceState = new SourceStateRepository(sql);
  const guard = new AddressGuard(config.outboundAllow);
  const sources = new PullSources({
    connections,
    box,
    pull: new PullStore(sql),
    state: sourceState,
    logger,
    guard,
    config,
  });
  const scheduler = new Scheduler({ connections, engine, sources, state: sourceState, sequelize, logger });
  let stopRetention: (() => void) | undefined;
  const firstLogins = new FirstLogins({ connections, sources, engine, outbox: outboxStore, jira, logger });
  addon.on('user_created', (_event: string, body: UserCreatedEvent, req: express.Request) => {
    const clientKey = (req as express.Request & { context?: { clientKey?: string } }).context?.clientKey;
    if (clientKey) firstLogins.enqueue(clientKey, body ?? {});
  });

  app.use(lifecycleRouter({ addon, sequelize, store, tenants, logger }));
  const removeSite = siteRemover({ sequelize, store, tenants });
  // Calls from Forge (the remote's endpoints) are accepted only once the app id, their tokens' audience, is configured.
  const forge = config.forgeAppId
    ? new ForgeTrust({
        verifier: new InvocationVerifier({ appId: config.forgeAppId, jwksUrl: config.forgeJwksUrl }),
        sites: new ForgeSites({
          tenants,
          // Forge gives a backend call 5 s: Jira gets at most 2 of them, and a miss is delivered again.
          readSite: (apiBaseUrl, systemToken) =>
            readForgeSite({ apiBaseUrl, systemToken, appKey: addon.key, timeoutMs: FORGE_SITE_LOOKUP_MS }),
        }),
        tokens: forgeTokens,
        logger,
        onFreshToken: (clientKey) => {
          jira.forget(clientKey);
          void wakeSite({ connections, runs, outbox: outboxStore }, clientKey, { onlyWaiting: true }).catch((err) =>
            logger.error({ err, clientKey }, 'waking runs after a fresh Forge token failed'),
          );
        },
      })
    : undefined;
  if (forge) {
    app.use(forgeLifecycleRouter({ trust: forge, removeSite, logger }));
    app.use(
      forgeEventsRouter({
        trust: forge,
        logger,
        userCreated: (clientKey, user) => firstLogins.enqueue(clientKey, { user }),
        scheduled: (clientKey) =>
          wakeSite({ connections, runs, outbox: outboxStore }, clientKey, { onlyWaiting: true }),
      }),
    );
  }
  const adminCheck = new AdminCheck(jira, clock);
  app.use(adminPageRouter({ authenticate: addon.authenticate(), adminCheck, localBaseUrl: config.localBaseUrl }));
  const adminApi = (authenticate: express.RequestHandler) =>
    adminApiRouter({
      authenticate,
      adminCheck,
      tenants,
      credentials,
      connections,
      jira,
      localBaseUrl: config.localBaseUrl,
      engine,
      runs,
      parked: new ParkedOperations(sql),
      links,
      outbox: outboxStore,
      sources,
      sourceState,
      onConnectionChanged: (id) => {
        tokens.forget(id);
        void scheduler.refresh(id);
      },
      logger,
    });
  // The same admin API under both hosts: Connect's context JWT, or Forge's invokeRemote (its invocation token).
  app.use('/api/v1', outsideJira(config.localBaseUrl), adminApi(requireContextJwt(addon)));
  if (forge) app.use('/forge/api/v1', adminApi(forge.authenticate({ create: true })));
  app.use(
    '/scim/v2/:connectionId',
    scimRouter({
      sequelize,
      tokens,
      users,
      groups,
      localBaseUrl: config.localBaseUrl,
      logger,
      requestTimeoutMs: config.scimRequestTimeoutMs,
    }),
  );
  app.use('/scim', scimErrorHandler(logger));
  app.use((_req, _res, next) => next(notFound()));
  app.use(errorHandler(logger));
  return {
    app,
    addon,
    jira,
    tenants,
    credentials,
    connections,
    engine,
    runs,
    queue,
    outbox,
    reconciler,
    sources,
    scheduler,
    /** Starts the background work: the executor's polling, the SCIM trigger, scheduled reconciliation and history retention. */
    startBackground: () => {
      engine.start();
      outbox.start();
      reconciler.start();
      stopRetention ??= startRetention(runs, config.sync.historyDays, logger);
    },
    close: async () => {
      stopRetention?.();
      outbox.stop();
      reconciler.stop();
      await scheduler.stop();
      await firstLogins.settle();
      await engine.stop();
      await tokens.stop();
      sources.close();
    },
  };
}
