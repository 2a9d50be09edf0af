import type { AddOn } from 'atlassian-connect-express';
import { JiraClient } from './client';
import type { JiraError } from './errors';
import { TenantLimiter } from './limiter';
import type { Clock, RetryPolicy } from './retry';
import { createJwtTransport, createOrgTransport, createTokenTransport, type Transport } from './transport';

/** Where the Jira client gets a tenant's stored credentials (in the clear, never logged). */
export interface CredentialSource {
  siteToken(clientKey: string): Promise<{ baseUrl: string; email: string; apiToken: string } | undefined>;
  orgKey(clientKey: string): Promise<{ orgApiKey: string } | undefined>;
}

export interface JiraSettings extends RetryPolicy {
  concurrencyPerTenant: number;
  timeoutMs: number;
}

/** Builds JiraClients per tenant; all of them share one limiter, so per-tenant bounds hold process-wide. */
export class JiraClientFactory {
  private readonly limiter: TenantLimiter;

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
    const { timeoutMs } = this.settings;
    return this.build(clientKey, {
      siteToken: async () => {
        const c = await this.credentials.siteToken(clientKey);
        return c && createTokenTransport(c.baseUrl, c.email, c.apiToken, timeoutMs);
      },
      orgKey: async () => {
        const c = await this.credentials.orgKey(clientKey);
        return c && createOrgTransport(this.atlassianApiUrl, c.orgApiKey, timeoutMs);
      },
    });
  }

  /** A client with candidate credentials that are not stored yet (to verify them before saving). */
  withCandidate(clientKey: string, site: { baseUrl: string; email: string; apiToken: string }, orgApiKey?: string): JiraClient {
    const { timeoutMs } = this.settings;
    const token = createTokenTransport(site.baseUrl, site.email, site.apiToken, timeoutMs);
    const org = orgApiKey ? createOrgTransport(this.atlassianApiUrl, orgApiKey, timeoutMs) : undefined;
    return this.build(clientKey, { siteToken: async () => token, orgKey: async () => org });
  }

  private build(clientKey: string, creds: { siteToken: () => Promise<Transport | undefined>; orgKey: () => Promise<Transport | undefined> }): JiraClient {
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
