import { Router, type RequestHandler } from 'express';
import { asyncHandler } from '../http/asyncHandler';
import type { Logger } from '../logger';
import type { ForgeTrust } from './authenticate';

export interface ForgeLifecycleDeps {
  trust: ForgeTrust;
  /** Removes a site and everything of it (the same as Connect's uninstalled). */
  removeSite: (clientKey: string) => Promise<void>;
  logger: Logger;
}

/**
 * The Forge lifecycle triggers (`avi:forge:installed:app`, `avi:forge:upgraded:app`) and
 * `preUninstall` as endpoints of our remote, each trusted only through its Forge Invocation Token
 * (`ForgeTrust`). A site that installed the Connect version is found by the token's installation
 * (or its URL): its connections, credentials, rules, links and history carry over untouched. A new
 * site is made for a Forge-only install. Forge's API base URL and app system token are kept. Forge
 * gives events 5 s and retries failures: each handler writes a row or two, and doing it again
 * changes nothing.
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
    if (!call) {
      // A token that names neither a known installation nor the site's URL: nothing to make a site from.
      // Answered so Forge does not retry; the admin page's first call (which names the site) makes it.
      deps.logger.warn({ event }, 'Forge lifecycle event names no site this server knows; nothing stored');
      return void res.status(202).json({ known: false });
    }
    const { tenant, invocation } = call;
    deps.logger.info(
      {
        clientKey: tenant.clientKey,
        installationId: invocation.installationId,
        event,
        systemToken: !!invocation.appSystemToken,
      },
      'Forge lifecycle event: the site is installed',
    );
    res.status(204).end();
  });
}

/**
 * Forge's `preUninstall`: the app is being removed from the site, so the site's data goes, as on
 * Connect's uninstalled. A retried (or a Connect and a Forge) removal of the same site does nothing more.
 */
function uninstalling(deps: ForgeLifecycleDeps): RequestHandler {
  return asyncHandler(async (req, res) => {
    const call = await deps.trust.verify(req, { create: false });
    if (call) {
      await deps.removeSite(call.tenant.clientKey);
      deps.trust.forget(call.tenant.clientKey);
      deps.logger.info(
        { clientKey: call.tenant.clientKey, installationId: call.invocation.installationId },
        'Forge uninstall: the site and its data were removed',
      );
    }
    res.status(204).end();
  });
}
