import { Router, type RequestHandler, type Response } from 'express';
import { asyncHandler } from '../http/asyncHandler';
import type { Logger } from '../logger';
import type { ForgeCall, ForgeMiss, ForgeTrust } from './authenticate';

export interface ForgeLifecycleDeps {
  trust: ForgeTrust;
  /** Removes a site and everything of it (the same as Connect's uninstalled). */
  removeSite: (clientKey: string) => Promise<void>;
  logger: Logger;
}

/**
 * The Forge lifecycle triggers (`avi:forge:installed:app`, `avi:forge:upgraded:app`) and
 * `preUninstall` as endpoints of our remote, each trusted only through its Forge Invocation Token
 * (`ForgeTrust`). These are backend calls: the token names the installation, never the site, so the
 * site is found as ForgeSites says (asking Jira with the call's app system token the first time). A
 * site that installed the Connect version carries over untouched; a new site is made for a
 * Forge-only install. Forge gives events 5 s and retries failures: each handler writes a row or two,
 * and doing it again changes nothing.
 */
export function forgeLifecycleRouter(deps: ForgeLifecycleDeps): Router {
  const router = Router();
  router.post('/forge/lifecycle/installed', installation(deps, 'installed'));
  router.post('/forge/lifecycle/upgraded', installation(deps, 'upgraded'));
  router.post('/forge/lifecycle/uninstalling', uninstalling(deps));
  return router;
}

function installation(deps: ForgeLifecycleDeps, event: 'installed' | 'upgraded'): RequestHandler {
  return asyncHandler(async (req, res) => {
    const call = await deps.trust.verify(req, { create: true });
    if (!call.tenant) return answerMiss(deps.logger, `Forge ${event}`, call, res);
    logFound(deps.logger, `Forge ${event}`, call);
    res.status(204).end();
  });
}

/**
 * Forge's `preUninstall`: the app is being removed from the site, so the site's data goes, as on
 * Connect's uninstalled — found like any other backend call, so a site whose admin never opened the
 * page goes too. A retried (or a Connect and a Forge) removal of the same site does nothing more.
 */
function uninstalling(deps: ForgeLifecycleDeps): RequestHandler {
  return asyncHandler(async (req, res) => {
    const call = await deps.trust.verify(req, { create: false });
    if (!call.tenant) return answerMiss(deps.logger, 'Forge uninstall', call, res);
    await deps.removeSite(call.tenant.clientKey);
    deps.trust.forget(call.tenant.clientKey);
    deps.logger.info(
      {
        clientKey: call.tenant.clientKey,
        baseUrl: call.tenant.baseUrl,
        installationId: call.invocation.installationId,
      },
      'Forge uninstall: the site and all its data were removed; its SCIM tokens no longer work',
    );
    res.status(204).end();
  });
}

/** One line that says how a backend call's site was found (nothing for a site already known but at debug). */
export function logFound(logger: Logger, what: string, call: ForgeCall): void {
  const { tenant, invocation, found } = call;
  const fields = { clientKey: tenant.clientKey, baseUrl: tenant.baseUrl, installationId: invocation.installationId };
  if (found.how === 'created') logger.info(fields, `${what}: a new site was created for the installation`);
  else if (found.how === 'carried-over')
    logger.info(
      { ...fields, by: found.by },
      `${what}: the site on the Connect version was carried over with all its data; its Jira reads now use the app system token`,
    );
  else logger.info(fields, `${what}: the site is installed (already known)`);
}

/**
 * Answers a backend call whose site was not found: 503 when Jira could not be asked for now (Forge
 * delivers the call again), else 202 `{known: false}` so Forge does not retry what cannot succeed,
 * with one log line that says what to check.
 */
export function answerMiss(logger: Logger, what: string, call: ForgeMiss, res: Response): void {
  const { missing, invocation } = call;
  const fields = { installationId: invocation.installationId };
  if (missing.how === 'none') {
    logger.info(
      { ...fields, baseUrl: missing.baseUrl },
      `${what}: this server has no site for the installation; nothing to do`,
    );
    return void res.status(202).json({ known: false });
  }
  logger.warn(fields, `${what}: the installation's site could not be found: ${missing.why}`);
  if (missing.retryable) return void res.status(503).json({ error: 'jira_unavailable', message: missing.why });
  res.status(202).json({ known: false, message: missing.why });
}
