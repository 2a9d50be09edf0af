import { asyncHandler } from '../http/asyncHandler';
import type { AddOn } from 'atlassian-connect-express';
import { Router, type RequestHandler } from 'express';
import type { Sequelize } from 'sequelize';
import { z } from 'zod';
import { badRequest, unauthorized, validationError } from '../http/errors';
import type { Logger } from '../logger';
import { requestContext } from '../http/context';
import type { AddonSettingsStore, ClientInfo } from './store';
import { installationAri, type TenantRepository } from '../db/tenants';

/** The install payload fields we need; Jira sends more, which we keep as they are. */
const installPayload = z
  .object({
    key: z.string().min(1),
    clientKey: z.string().min(1).max(500),
    sharedSecret: z.string().min(1),
    baseUrl: z.string().url(),
    displayUrl: z.string().url().optional(),
    productType: z.string().optional(),
    eventType: z.string().optional(),
    // Sent when the app is installed through Forge ("Connect on Forge"): bare UUID or full ARI.
    installationId: z.string().trim().min(1).max(500).optional(),
  })
  .passthrough();

export interface LifecycleDeps {
  addon: AddOn;
  sequelize: Sequelize;
  store: AddonSettingsStore;
  tenants: TenantRepository;
  logger: Logger;
}

/**
 * The Connect lifecycle: installed / uninstalled (RS256 signed installs, verified by ACE) and
 * enabled / disabled (the tenant's shared-secret JWT). Each one commits before answering.
 * Installed through Forge, a site sends `installed` with an installationId, not on automatic
 * updates, and never enabled / disabled: an install of a known clientKey is always an update.
 */
export function lifecycleRouter(deps: LifecycleDeps): Router {
  const router = Router();
  router.post('/installed', deps.addon.verifyInstallation(), installed(deps));
  router.post('/uninstalled', deps.addon.authenticateInstall(), uninstalled(deps));
  router.post('/enabled', deps.addon.authenticate(), setEnabled(deps, true));
  router.post('/disabled', deps.addon.authenticate(), setEnabled(deps, false));
  return router;
}

function installed({ addon, sequelize, store, tenants, logger }: LifecycleDeps): RequestHandler {
  return asyncHandler(async (req, res) => {
    const parsed = installPayload.safeParse(req.body);
    if (!parsed.success) throw validationError(parsed.error);
    if (parsed.data.key !== addon.key)
      throw badRequest(`This install is for app "${parsed.data.key}", not "${addon.key}".`);
    const info = parsed.data as ClientInfo;
    const installationId = parsed.data.installationId ? installationAri(parsed.data.installationId) : undefined;
    await sequelize.transaction(async (t) => {
      await store.saveInstallation(info, info.clientKey, t);
      await tenants.saveInstall(info, installationId, t);
    });
    logger.info({ clientKey: info.clientKey, baseUrl: info.baseUrl, installationId }, 'tenant installed');
    res.status(204).end();
  });
}

function uninstalled(deps: LifecycleDeps): RequestHandler {
  const remove = siteRemover(deps);
  return asyncHandler(async (req, res) => {
    const clientKey = requestContext(req)?.clientKey;
    if (!clientKey) throw unauthorized();
    await remove(clientKey);
    deps.logger.info({ clientKey }, 'tenant uninstalled; its data was removed');
    res.status(204).end();
  });
}

/**
 * Removes everything of a site, in one transaction: our tables cascade from the tenant row, and
 * ACE's settings (the shared secret included) go with it. Removing a site already gone does nothing.
 */
export function siteRemover({ sequelize, store, tenants }: Pick<LifecycleDeps, 'sequelize' | 'store' | 'tenants'>) {
  return (clientKey: string): Promise<void> =>
    sequelize.transaction(async (t) => {
      await tenants.delete(clientKey, t);
      await store.del(clientKey, undefined, t);
    });
}

function setEnabled({ tenants, logger }: LifecycleDeps, enabled: boolean): RequestHandler {
  return asyncHandler(async (req, res) => {
    const clientKey = requestContext(req)?.clientKey;
    if (!clientKey) throw unauthorized();
    await tenants.setEnabled(clientKey, enabled);
    logger.info({ clientKey, enabled }, 'tenant lifecycle event');
    res.status(204).end();
  });
}
