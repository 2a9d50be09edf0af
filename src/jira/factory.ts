import type { AddOn } from 'atlassian-connect-express';
import { JiraClient } from './client';
import type { JiraError } from './errors';
import { TenantLimiter } from './limiter';
import type { Clock } from '../clock';
import type { RetryPolicy } from './retry';
import {
  createForgeTransport,
  createJwtTransport,
  createOrgTransport,
  createTokenTransport,
  type Transport,
} from './transport';

/** Where the Jira client gets a tenant's stored credentials (in the clear, never logged). */
export interface CredentialSource {
  siteToken(clientKey: string): Promise<{ baseUrl: string; email: string; apiToken: string } | undefined>;
  orgKey(clientKey: string): Promise<{ orgId: string | null; orgApiKey: string } | undefined>;
}

/** Where the app's own calls go on Forge: the API base URL and app system token Forge last handed over. */
export interface AppTokenSource {
  load(clientKey: string): Promise<{ apiBaseUrl: string; systemToken?: string; expiresAt?: Date } | undefined>;
}

/** How the app calls Jira as itself for a site: Forge's system token, else the Connect JWT (undefined: neither is at hand). */
export type AppAuth = 'forge' | 'connect';

/** A system token this close to its expiry is not used: Forge hands out a fresh one while 2 of its 4 hours are left. */
const SYSTEM_TOKEN_MARGIN_MS = 5 * 60_000;

export interface JiraSettings extends RetryPolicy {
  concurrencyPerTenant: number;
  timeoutMs: number;
}

type OrgTransport = Transport & { orgId?: string };

/** How long a tenant's decrypted credentials are reused before they are read again (a sync makes thousands of calls). */
const CREDENTIALS_TTL_MS = 5_000;

/** Builds JiraClients per tenant; all of them share one limiter, so per-tenant bounds hold process-wide. */
export class JiraClientFactory {
  private readonly limiter: TenantLimiter;
  private readonly transports = new Map<
    string,
    { until: number; siteToken?: Promise<Transport | undefined>; orgKey?: Promise<OrgTransport | undefined> }
  >();
  /** Each tenant's app transport (found or not, unlike the credentials: it is asked on every read). */
  private readonly apps = new Map<string, { until: number; transport: Promise<Transport | undefined> }>();

  constructor(
    private readonly addon: AddOn,
    private readonly credentials: CredentialSource,
    private readonly settings: JiraSettings,
    private readonly atlassianApiUrl: string,
    private readonly clock: Clock,
    private readonly onRetry?: (err: JiraError, waitMs: number, attempt: number) => void,
    private readonly appTokens?: AppTokenSource,
    /** Whether a tenant has a Connect install (a shared secret) to fall back on; a Forge-only site has none. */
    private readonly hasConnect: (clientKey: string) => boolean = () => true,
  ) {
    this.limiter = new TenantLimiter(settings.concurrencyPerTenant, clock);
  }

  /** The client for a tenant, with whatever credentials it has stored. */
  forTenant(clientKey: string): JiraClient {
    return this.build(clientKey, {
      siteToken: () => this.siteTransport(clientKey),
      orgKey: () => this.orgTransport(clientKey),
    });
  }

  /** Whether the tenant has stored a site-admin API token (user and group writes need one). */
  async hasSiteToken(clientKey: string): Promise<boolean> {
    return (await this.siteTransport(clientKey)) !== undefined;
  }

  /** Whether the tenant has stored an organization API key (profiles and account lifecycle need one). */
  async hasOrgKey(clientKey: string): Promise<boolean> {
    return (await this.orgTransport(clientKey)) !== undefined;
  }

  private siteTransport(clientKey: string): Promise<Transport | undefined> {
    return this.cached(clientKey, 'siteToken', async () => {
      const c = await this.credentials.siteToken(clientKey);
      return c && createTokenTransport(c.baseUrl, c.email, c.apiToken, this.settings.timeoutMs);
    });
  }

  private orgTransport(clientKey: string): Promise<OrgTransport | undefined> {
    return this.cached(clientKey, 'orgKey', async () => {
      const c = await this.credentials.orgKey(clientKey);
      const transport = c && createOrgTransport(this.atlassianApiUrl, c.orgApiKey, this.settings.timeoutMs);
      return transport && { ...transport, orgId: c.orgId ?? undefined };
    });
  }

  /** Drops a tenant's cached credentials (they were just saved or removed in this instance; others see it within the TTL). */
  forget(clientKey: string): void {
    this.transports.delete(clientKey);
    this.apps.delete(clientKey);
  }

  /**
   * The app's own transport for a tenant: on Forge, the app system token against Forge's API base
   * URL while it has more than a few minutes left; else the Connect JWT, for a site installed with
   * Connect; else nothing until Forge's next call hands over a token.
   */
  private appTransport(clientKey: string): Promise<Transport | undefined> {
    const now = Date.now();
    const cached = this.apps.get(clientKey);
    if (cached && cached.until > now) return cached.transport;
    const transport = (async () => {
      const forge = await this.appTokens?.load(clientKey);
      if (forge?.systemToken && (!forge.expiresAt || forge.expiresAt.getTime() - SYSTEM_TOKEN_MARGIN_MS > Date.now()))
        return createForgeTransport(forge.apiBaseUrl, forge.systemToken, this.settings.timeoutMs);
      return this.hasConnect(clientKey)
        ? createJwtTransport(this.addon, clientKey, this.settings.timeoutMs)
        : undefined;
    })();
    this.apps.set(clientKey, { until: now + CREDENTIALS_TTL_MS, transport });
    transport.catch(() => this.apps.get(clientKey)?.transport === transport && this.apps.delete(clientKey));
    return transport;
  }

  /** How the app calls Jira as itself for a tenant now ('forge' or 'connect'), or undefined when it cannot. */
  async appAuth(clientKey: string): Promise<AppAuth | undefined> {
    const t = await this.appTransport(clientKey);
    return t && (t.auth === 'jwt' ? 'connect' : 'forge');
  }

  private cached<K extends 'siteToken' | 'orgKey'>(
    clientKey: string,
    kind: K,
    load: () => Promise<K extends 'orgKey' ? OrgTransport | undefined : Transport | undefined>,
  ): Promise<K extends 'orgKey' ? OrgTransport | undefined : Transport | undefined> {
    const now = Date.now();
    let entry = this.transports.get(clientKey);
    if (!entry || entry.until <= now) {
      entry = { until: now + CREDENTIALS_TTL_MS };
      this.transports.set(clientKey, entry);
    }
    const loaded = entry[kind] ?? load();
    entry[kind] = loaded;
    // Only found credentials are kept: "none stored" is read again each time, so credentials saved in
    // another instance count at once (a missing one parks operations).
    const drop = () => {
      if (this.transports.get(clientKey) === entry) delete entry[kind];
    };
    loaded.then((t) => t === undefined && drop(), drop);
    return loaded;
  }

  /** A client with candidate credentials that are not stored yet (to verify them before saving). */
  withCandidate(
    clientKey: string,
    site: { baseUrl: string; email: string; apiToken: string },
    orgApiKey?: string,
    orgId?: string,
  ): JiraClient {
    const { timeoutMs } = this.settings;
    const token = createTokenTransport(site.baseUrl, site.email, site.apiToken, timeoutMs);
    const org = orgApiKey ? { ...createOrgTransport(this.atlassianApiUrl, orgApiKey, timeoutMs), orgId } : undefined;
    return this.build(clientKey, { siteToken: async () => token, orgKey: async () => org });
  }

  private build(
    clientKey: string,
    creds: { siteToken: () => Promise<Transport | undefined>; orgKey: () => Promise<OrgTransport | undefined> },
  ): JiraClient {
    return new JiraClient({
      clientKey,
      app: () => this.appTransport(clientKey),
      ...creds,
      limiter: this.limiter,
      policy: this.settings,
      clock: this.clock,
      onRetry: this.onRetry,
    });
  }
}
