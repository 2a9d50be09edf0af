import type { AddOn } from 'atlassian-connect-express';
import { JiraClient } from './client';
import type { JiraError } from './errors';
import { TenantLimiter } from './limiter';
import type { Clock } from '../clock';
import type { RetryPolicy } from './retry';
import { createJwtTransport, createOrgTransport, createTokenTransport, type Transport } from './transport';

/** Where the Jira client gets a tenant's stored credentials (in the clear, never logged). */
export interface CredentialSource {
  siteToken(clientKey: string): Promise<{ baseUrl: string; email: string; apiToken: string } | undefined>;
  orgKey(clientKey: string): Promise<{ orgId: string | null; orgApiKey: string } | undefined>;
}

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

  constructor(
    private readonly addon: AddOn,
    private readonly credentials: CredentialSource,
    private readonly settings: JiraSettings,
    private readonly atlassianApiUrl: string,
    private readonly clock: Clock,
    private readonly onRetry?: (err: JiraError, waitMs: number, attempt: number) => void,
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
      jwt: createJwtTransport(this.addon, clientKey, this.settings.timeoutMs),
      ...creds,
      limiter: this.limiter,
      policy: this.settings,
      clock: this.clock,
      onRetry: this.onRetry,
    });
  }
}
