import { Router, type Request, type RequestHandler } from 'express';
import type { ForgeTokenRepository } from '../db/forgeTokens';
import type { TenantRepository } from '../db/tenants';
import { asyncHandler } from '../http/asyncHandler';
import { unauthorized } from '../http/errors';
import type { Logger } from '../logger';
import { ForgeAuthError, type ForgeInvocation, type InvocationVerifier } from './invocation';

export interface ForgeLifecycleDeps {
  verifier: InvocationVerifier;
  tenants: TenantRepository;
  tokens: ForgeTokenRepository;
  /** Removes a site and everything of it (the same as Connect's uninstalled). */
  removeSite: (clientKey: string) => Promise<void>;
  logger: Logger;
}

/**
 * The Forge lifecycle triggers (`avi:forge:installed:app`, `avi:forge:upgraded:app`) and
 * `preUninstall` as endpoints of our remote. Each call is trusted only through its Forge Invocation Token. A site that installed
 * the Connect version (through Forge, so with this installation's id) is found by the token's
 * installation: its connections, credentials, rules, links and history carry over untouched, and
 * Forge's API base URL and app system token are kept for it. Forge gives events 5 s and retries
 * failures: the handler only writes one row, and doing it again changes nothing.
 */
export function forgeLifecycleRouter(deps: ForgeLifecycleDeps): Router {
  const router = Router();
  router.post('/forge/lifecycle/installed', installation(deps, 'installed'));
  router.post('/forge/lifecycle/upgraded', installation(deps, 'upgraded'));
  router.post('/forge/lifecycle/uninstalling', uninstalling(deps));
  return router;
}

/**
 * Forge's `preUninstall`: the app is being removed from the site, so the site's data goes, as on
 * Connect's uninstalled. A retried (or a Connect and a Forge) removal of the same site does nothing more.
 */
function uninstalling(deps: ForgeLifecycleDeps): RequestHandler {
  return asyncHandler(async (req, res) => {
    const inv = await invocationOf(deps, req);
    const tenant = await deps.tenants.findByInstallation(inv.installationId);
    if (tenant) {
      await deps.removeSite(tenant.clientKey);
      deps.logger.info(
        { clientKey: tenant.clientKey, installationId: inv.installationId },
        'Forge uninstall: the site and its data were removed',
      );
    }
    res.status(204).end();
  });
}

function installation(deps: ForgeLifecycleDeps, event: 'installed' | 'upgraded'): RequestHandler {
  return asyncHandler(async (req, res) => {
    const inv = await invocationOf(deps, req);
    const tenant = await deps.tenants.findByInstallation(inv.installationId);
    if (!tenant) {
      // Not a site this server knows (yet): a Connect install through Forge sends the installation's id with its
      // own installed event, which may still be on its way. Nothing to carry over; answered so Forge does not retry.
      deps.logger.warn(
        { installationId: inv.installationId, event },
        'Forge lifecycle event for an installation with no known site; nothing stored',
      );
      return void res.status(202).json({ known: false });
    }
    if (inv.apiBaseUrl)
      await deps.tokens.save(tenant.clientKey, { apiBaseUrl: inv.apiBaseUrl, systemToken: inv.appSystemToken });
    deps.logger.info(
      { clientKey: tenant.clientKey, installationId: inv.installationId, event, systemToken: !!inv.appSystemToken },
      'Forge lifecycle event: the site carries over',
    );
    res.status(204).end();
  });
}

/** The verified invocation of a request from Forge, or a 401 in the app's error format. */
async function invocationOf(deps: ForgeLifecycleDeps, req: Request): Promise<ForgeInvocation> {
  try {
    return await deps.verifier.verify(req.headers);
  } catch (err) {
    if (err instanceof ForgeAuthError) throw unauthorized(err.message);
    throw err;
  }
}
