import { USER_AGENT } from '../instance';
import ace, { type AddOn } from 'atlassian-connect-express';
import type { Express } from 'express';
import type { Config } from '../config';
import { aceLogger, type Logger } from '../logger';
import type { AddonSettingsStore } from './store';

const STORE_ADAPTER = 'idp-sync-postgres';

/**
 * Starts atlassian-connect-express on the app with our validated configuration and our own store
 * adapter. Resolves once ACE has mounted its routes (descriptor, webhooks), so the caller can add
 * its fallbacks after them. We mount the lifecycle routes ourselves (see lifecycle.ts).
 */
export function createAddon(app: Express, config: Config, store: AddonSettingsStore, logger: Logger): Promise<AddOn> {
  // ACE looks store adapters up in a module-level registry; registering right before the
  // (synchronous) constructor binds this app's store to this addon.
  ace.store.register(STORE_ADAPTER, () => store as unknown as ace.StoreAdapter);
  app.set('env', config.env);
  const section = {
    port: String(config.port),
    localBaseUrl: config.localBaseUrl,
    store: { adapter: STORE_ADAPTER },
    whitelist: config.hostWhitelist,
    expressErrorHandling: true, // ACE's auth failures reach our error handler as {code, message}
    setupInstallRoute: false,
    watch: false,
    validateDescriptor: false,
    jwt: { validityInMinutes: 3 },
    maxTokenAge: 900,
    userAgent: USER_AGENT, // ACE sets it on its calls; the same as the app's other Jira calls
  };
  if (config.connectKeysCdnUrl) process.env.CONNECT_KEYS_CDN_URL = config.connectKeysCdnUrl; // ACE reads it from the environment
  return new Promise((resolve) => {
    const addon: AddOn = ace(
      app,
      { config: { [config.env]: section } as unknown as ace.Options['config'] },
      aceLogger(logger),
      () => resolve(addon),
    );
  });
}
