import type { Express } from 'express';
import type { Config } from '../config';
import type { ForgeTokenRepository } from '../db/forgeTokens';
import type { TenantRepository } from '../db/tenants';
import { readForgeSite } from '../jira/forgeSite';
import type { Logger } from '../logger';
import { ForgeTrust } from './authenticate';
import { forgeEventsRouter, type CreatedUser } from './events';
import { InvocationVerifier } from './invocation';
import { forgeLifecycleRouter } from './lifecycle';
import { ForgeSites } from './sites';

/** How long the first call of a Forge installation waits for Jira to say which site it is on. */
const FORGE_SITE_LOOKUP_MS = 2000;

/**
 * The Forge host on the app: calls from Forge (the remote's endpoints) are accepted only once the
 * app id, their tokens' audience, is configured (`FORGE_APP_ID`); then its lifecycle and events
 * are mounted, and the trust it returns authenticates the admin API under `/forge/api/v1`.
 */
export function mountForge(
  app: Express,
  d: {
    config: Config;
    appKey: string;
    tenants: TenantRepository;
    tokens: ForgeTokenRepository;
    logger: Logger;
    removeSite: (clientKey: string) => Promise<void>;
    /** A site's app system token changed. */
    onFreshToken: (clientKey: string) => void;
    userCreated: (clientKey: string, user: CreatedUser) => void;
    scheduled: (clientKey: string) => Promise<void>;
  },
): ForgeTrust | undefined {
  const { config, logger } = d;
  if (!config.forgeAppId) return undefined;
  const trust = new ForgeTrust({
    verifier: new InvocationVerifier({ appId: config.forgeAppId, jwksUrl: config.forgeJwksUrl }),
    sites: new ForgeSites({
      tenants: d.tenants,
      // Forge gives a backend call 5 s: Jira gets at most 2 of them, and a miss is delivered again.
      readSite: (apiBaseUrl, systemToken) =>
        readForgeSite({ apiBaseUrl, systemToken, appKey: d.appKey, timeoutMs: FORGE_SITE_LOOKUP_MS }),
    }),
    tokens: d.tokens,
    logger,
    onFreshToken: d.onFreshToken,
  });
  app.use(forgeLifecycleRouter({ trust, removeSite: d.removeSite, logger }));
  app.use(forgeEventsRouter({ trust, logger, userCreated: d.userCreated, scheduled: d.scheduled }));
  return trust;
}
