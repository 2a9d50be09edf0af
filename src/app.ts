import type { AddOn } from 'atlassian-connect-express';
import type { Express, Request, RequestHandler } from 'express';
import type { Sequelize } from 'sequelize';
import { baseApp } from './http/base';
import { errorHandler, notFound } from './http/errors';
import { mountForge } from './forge/host';
import { buildProvisioning } from './provisioning/wiring';
import { AdminCheck } from './admin/auth';
import { adminPageRouter, outsideJira } from './admin/page';
import { adminApiRouter } from './admin/routes';
import { ConfigError, type Config } from './config';
import { createAddon } from './connect/addon';
import { requireContextJwt } from './connect/contextJwt';
import { lifecycleRouter, siteRemover } from './connect/lifecycle';
import { ForgeTokenRepository } from './db/forgeTokens';
import { wakeSite } from './jobs/wake';
import { AddonSettingsStore } from './connect/store';
import { isForgeOnly, TenantRepository } from './db/tenants';
import { createKeyRing, isKeyRing, type KeyRing } from './crypto/secrets';
import { missingKeys } from './db/sealed';
import { measure } from './metrics';
import { AuditRepository } from './db/audit';
import { ApiTokenRepository } from './db/apiTokens';
import { defineModels } from './db/models';
import { ConnectionRepository } from './db/connections';
import { SiteCredentialsRepository } from './db/siteCredentials';
import { Sql } from './db/sql';
import { GroupStore } from './directory/groups';
import { UserStore } from './directory/users';
import { JiraClientFactory } from './jira/factory';
import { systemClock, type Clock } from './clock';
import type { Logger } from './logger';
import type { ProvisioningEngine } from './provisioning/engine';
import type { OperationQueue } from './provisioning/executor/queue';
import { AddressGuard } from './sources/outbound';
import { ParkedOperations } from './provisioning/stores/parked';
import type { RunRepository } from './provisioning/stores/runs';
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
import type { Notifier } from './notifications/notifier';
import type { NoticeStore } from './notifications/notices';
import { buildNotifications } from './notifications/wiring';

/** Everything the app is built from; tests pass exactly what they need. */
export interface AppDeps {
  config: Config;
  sequelize: Sequelize;
  logger: Logger;
  /** The key ring secrets are sealed with (a single key: a ring of that key alone). */
  secretKey: Buffer | KeyRing;
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
  /** Alerts for sites' admins (tests run a round at once). */
  notifier: Notifier;
  notices: NoticeStore;
  startBackground: () => void;
  /** Stops what the app runs in the background (the notification listener). */
  close: () => Promise<void>;
}

/** Builds the Express app: Connect (ACE), lifecycle, admin page, admin API, health. */
export async function createApp(deps: AppDeps): Promise<AppServices> {
  const app = baseApp({ config: deps.config, sequelize: deps.sequelize, logger: deps.logger });
  const core = await buildCore(app, deps);
  measure(deps.sequelize, core.sql);
  mountSurfaces(app, deps, core);
  return withLifetime(app, deps, core);
}

type Core = Awaited<ReturnType<typeof buildCore>>;

/** The stores, the Jira client, provisioning, the triggers and the sources, wired once. */
async function buildCore(app: Express, { config, sequelize, logger, secretKey, clock = systemClock }: AppDeps) {
  const models = defineModels(sequelize);
  const box = isKeyRing(secretKey) ? secretKey : createKeyRing([], secretKey);
  const sql = new Sql(sequelize);
  const missing = await missingKeys(sql, box);
  if (missing) throw new ConfigError(missing);
  const store = new AddonSettingsStore(models, box);
  const credentials = new SiteCredentialsRepository(models, box);
  const connections = new ConnectionRepository(sql);
  const tokens = new ScimTokenCache(connections, sequelize, logger);
  await tokens.start();
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
  const provisioning = buildProvisioning({ sql, jira, config, logger, clock });
  const { outbox: outboxStore, runs, engine } = provisioning;
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
  return {
    ...provisioning,
    sql,
    store,
    tenants: new TenantRepository(models),
    audit: new AuditRepository(sql),
    apiTokens: new ApiTokenRepository(sql),
    credentials,
    connections,
    tokens,
    addon,
    forgeTokens,
    jira,
    sourceState,
    sources,
    outboxTrigger: new OutboxTrigger({ outbox: outboxStore, connections, engine, runs, logger, options: config.sync }),
    reconciler: new Reconciler({ connections, engine, logger, checkMs: config.sync.reconcileCheckMs }),
    scheduler: new Scheduler({ connections, engine, sources, state: sourceState, sequelize, logger }),
    firstLogins: new FirstLogins({ connections, sources, engine, outbox: outboxStore, jira, logger }),
    adminCheck: new AdminCheck(jira, clock),
    guard,
    notifications: buildNotifications({ sql, box, guard, config, logger, addonKey: addon.key }),
  };
}

/** The surfaces: Connect's lifecycle and events, the Forge host, the admin page and API (under both hosts), SCIM. */
function mountSurfaces(app: Express, { config, sequelize, logger }: AppDeps, c: Core): void {
  const { addon, tenants, store, jira, firstLogins, adminCheck } = c;
  addon.on('user_created', (_event: string, body: UserCreatedEvent, req: Request) => {
    const clientKey = (req as Request & { context?: { clientKey?: string } }).context?.clientKey;
    if (clientKey) firstLogins.enqueue(clientKey, body ?? {});
  });
  app.use(lifecycleRouter({ addon, sequelize, store, tenants, logger }));
  const wake = (clientKey: string) =>
    wakeSite({ connections: c.connections, runs: c.runs, outbox: c.outbox }, clientKey, { onlyWaiting: true });
  const forge = mountForge(app, {
    config,
    appKey: addon.key,
    tenants,
    tokens: c.forgeTokens,
    logger,
    removeSite: siteRemover({ sequelize, store, tenants }),
    onFreshToken: (clientKey) => {
      jira.forget(clientKey);
      void wake(clientKey).catch((err) =>
        logger.error({ err, clientKey }, 'waking runs after a fresh Forge token failed'),
      );
    },
    userCreated: (clientKey, user) => firstLogins.enqueue(clientKey, { user }),
    scheduled: wake,
  });
  app.use(adminPageRouter({ authenticate: addon.authenticate(), adminCheck, localBaseUrl: config.localBaseUrl }));
  const adminApi = (authenticate: RequestHandler, host: 'connect' | 'forge') =>
    adminApiRouter({
      authenticate,
      host,
      audit: c.audit,
      apiTokens: c.apiTokens,
      adminCheck,
      tenants,
      credentials: c.credentials,
      connections: c.connections,
      jira,
      localBaseUrl: config.localBaseUrl,
      engine: c.engine,
      runs: c.runs,
      parked: new ParkedOperations(c.sql),
      links: c.links,
      outbox: c.outbox,
      sources: c.sources,
      sourceState: c.sourceState,
      onConnectionChanged: (id) => {
        c.tokens.forget(id);
        void c.scheduler.refresh(id);
      },
      logger,
      notificationSettings: c.notifications.settings,
      notices: c.notifications.notices,
      notifier: c.notifications.notifier,
      guard: c.guard,
      emailAvailable: c.notifications.channels.emailAvailable,
    });
  // The same admin API under both hosts: Connect's context JWT, or Forge's invokeRemote (its invocation token).
  app.use('/api/v1', outsideJira(config.localBaseUrl), adminApi(requireContextJwt(addon), 'connect'));
  if (forge) app.use('/forge/api/v1', adminApi(forge.authenticate({ create: true }), 'forge'));
  app.use(
    '/scim/v2/:connectionId',
    scimRouter({
      sequelize,
      tokens: c.tokens,
      users: new UserStore(c.sql),
      groups: new GroupStore(c.sql),
      localBaseUrl: config.localBaseUrl,
      logger,
      requestTimeoutMs: config.scimRequestTimeoutMs,
      onRequest: (id) => c.notifications.pushes.seen(id),
    }),
  );
  app.use('/scim', scimErrorHandler(logger));
  app.use((_req, _res, next) => next(notFound()));
  app.use(errorHandler(logger));
}

/** The services for the server and tests, with how the background work starts and stops. */
function withLifetime(app: Express, { config, logger }: AppDeps, c: Core): AppServices {
  let stopRetention: (() => void) | undefined;
  return {
    app,
    addon: c.addon,
    jira: c.jira,
    tenants: c.tenants,
    credentials: c.credentials,
    connections: c.connections,
    engine: c.engine,
    runs: c.runs,
    queue: c.queue,
    outbox: c.outboxTrigger,
    reconciler: c.reconciler,
    sources: c.sources,
    scheduler: c.scheduler,
    notifier: c.notifications.notifier,
    notices: c.notifications.notices,
    /** Starts the background work: the executor's polling, the SCIM trigger, scheduled reconciliation and history retention. */
    startBackground: () => {
      c.engine.start();
      c.outboxTrigger.start();
      c.reconciler.start();
      c.notifications.notifier.start();
      stopRetention ??= startRetention(
        { runs: c.runs, audit: c.audit, notices: c.notifications.notices },
        config,
        logger,
      );
    },
    close: async () => {
      stopRetention?.();
      c.outboxTrigger.stop();
      c.reconciler.stop();
      await c.notifications.notifier.stop();
      c.notifications.channels.close();
      await c.scheduler.stop();
      await c.firstLogins.settle();
      await c.engine.stop();
      await c.tokens.stop();
      c.sources.close();
    },
  };
}
