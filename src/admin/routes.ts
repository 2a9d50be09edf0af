import { Router, type RequestHandler } from 'express';
import type { TenantRepository } from '../db/tenants';
import type { ConnectionRepository } from '../db/connections';
import type { SiteCredentialsRepository } from '../db/siteCredentials';
import type { JiraClientFactory } from '../jira/factory';
import type { ApiTokenRepository } from '../db/apiTokens';
import type { AuditRepository } from '../db/audit';
import { adminAuthentication, requireUser, type AdminCheck } from './auth';
import { createApiToken, listApiTokens, revokeApiToken } from './apiTokens/handlers';
import { exportAudit, listAudit } from './audit/handlers';
import { auditTrail } from './audit/trail';
import {
  createConnection,
  deleteConnection,
  getConnection,
  listConnections,
  resumeConnection,
  rotateToken,
  testConnection,
  testUser,
  updateConnection,
} from './connections/handlers';
import type { PullSources } from '../sources/registry';
import type { SourceStateRepository } from '../sources/state';
import { getRules, getRun, listRuns, previewRules, putRules, startSync } from './sync/handlers';
import type { ProvisioningEngine } from '../provisioning/engine';
import type { LinkRepository } from '../provisioning/stores/links';
import type { Outbox } from '../provisioning/stores/outbox';
import type { RunRepository } from '../provisioning/stores/runs';
import { notFound } from '../http/errors';
import { getSiteCredentials, putSiteCredentials } from './siteCredentials/handlers';
import { listJsmOrganizations, listServiceDesks } from './jsm/handlers';
import { JsmCatalog } from './jsm/known';
import { wakeSite } from '../jobs/wake';
import type { ParkedOperations } from '../provisioning/stores/parked';
import type { Logger } from '../logger';
import { retryParked } from './sync/retry';
import {
  getNotifications,
  notificationLog,
  putNotifications,
  testNotifications,
  type NotificationDeps,
} from './notifications/handlers';

export interface AdminApiDeps extends NotificationDeps {
  /** The host's authentication of an API call (Connect: the context JWT); it leaves the request's context. */
  authenticate: RequestHandler;
  adminCheck: AdminCheck;
  tenants: TenantRepository;
  credentials: SiteCredentialsRepository;
  connections: ConnectionRepository;
  jira: JiraClientFactory;
  localBaseUrl: string;
  engine: ProvisioningEngine;
  runs: RunRepository;
  parked: ParkedOperations;
  links: LinkRepository;
  outbox: Outbox;
  sources: PullSources;
  sourceState: SourceStateRepository;
  onConnectionChanged: (id: string) => void;
  logger: Logger;
  /** Which host this mount serves; `/api/v1` (Connect) also takes the site's API tokens. */
  host: 'connect' | 'forge';
  audit: AuditRepository;
  apiTokens: ApiTokenRepository;
}

/** The JSON admin API under /api/v1: context JWT → Jira administrator (or an API token) → audit trail → validate → handler. */
export function adminApiRouter(given: AdminApiDeps): Router {
  const deps = { ...given, jsm: new JsmCatalog(given.jira) };
  const router = Router();
  router.use(
    adminAuthentication(deps.authenticate, deps.adminCheck, deps.host === 'connect' ? deps.apiTokens : undefined),
  );
  router.use(auditTrail(deps));

  router.get('/site-credentials', getSiteCredentials(deps));
  router.put(
    '/site-credentials',
    putSiteCredentials({
      ...deps,
      afterSave: (clientKey) => wakeSite(deps, clientKey),
    }),
  );

  router.get('/connections', listConnections(deps));
  router.post('/connections', createConnection(deps));
  router.get('/connections/:id', getConnection(deps));
  router.patch('/connections/:id', updateConnection(deps));
  router.delete('/connections/:id', deleteConnection(deps));
  router.post('/connections/:id/token', rotateToken(deps));
  router.post('/connections/:id/test', testConnection(deps));
  router.post('/connections/:id/resume', resumeConnection(deps));
  router.post('/connections/:id/test-user', testUser(deps));
  router.get('/connections/:id/rules', getRules(deps));
  router.put('/connections/:id/rules', putRules(deps));
  router.post('/connections/:id/rules/preview', previewRules(deps));
  router.post('/connections/:id/sync', startSync(deps));
  router.get('/connections/:id/runs', listRuns(deps));
  router.get('/runs/:id', getRun(deps));
  router.post('/runs/:id/retry', retryParked(deps));
  router.get('/jsm/service-desks', listServiceDesks(deps));
  router.get('/jsm/organizations', listJsmOrganizations(deps));
  router.get('/notifications', getNotifications(deps));
  router.put('/notifications', putNotifications(deps));
  router.post('/notifications/test', testNotifications(deps));
  router.get('/notifications/log', notificationLog(deps));
  router.get('/audit', listAudit(deps));
  router.get('/audit/export', exportAudit(deps));
  router.get('/api-tokens', requireUser, listApiTokens(deps));
  router.post('/api-tokens', requireUser, createApiToken(deps));
  router.delete('/api-tokens/:id', requireUser, revokeApiToken(deps));

  router.use((_req, _res, next) => next(notFound('No such admin API resource.')));
  return router;
}
