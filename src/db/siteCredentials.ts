import type { SecretBox } from '../crypto/secrets';
import type { Models } from './models';
import { secretContexts } from './sealed';

/** What the admin page may see of a tenant's credentials: never a secret, only whether it is set. */
export interface SiteCredentialsStatus {
  email: string | null;
  apiTokenSet: boolean;
  tokenAccountId: string | null;
  orgId: string | null;
  orgApiKeySet: boolean;
  verifiedAt: string | null;
  updatedAt: string | null;
}

/** Values to store; secrets arrive in the clear and are sealed here. */
export interface SiteCredentialsWrite {
  email: string;
  apiToken: string;
  tokenAccountId: string;
  orgId: string | null;
  orgApiKey: string | null;
  updatedBy: string;
}

const ctx = (clientKey: string, field: 'apiToken' | 'orgApiKey') => secretContexts.siteCredential(field, clientKey);

/** The site-admin email + API token and org API key of each tenant, secrets encrypted at rest. */
export class SiteCredentialsRepository {
  constructor(
    private readonly models: Models,
    private readonly box: SecretBox,
  ) {}

  /** What is set, for the admin page. */
  async status(clientKey: string): Promise<SiteCredentialsStatus> {
    const row = await this.models.SiteCredential.findByPk(clientKey);
    return {
      email: row?.email ?? null,
      apiTokenSet: Boolean(row?.apiTokenEnc),
      tokenAccountId: row?.tokenAccountId ?? null,
      orgId: row?.orgId ?? null,
      orgApiKeySet: Boolean(row?.orgApiKeyEnc),
      verifiedAt: row?.verifiedAt?.toISOString() ?? null,
      updatedAt: row?.updatedAt?.toISOString() ?? null,
    };
  }

  /** The site-admin token in the clear, for the Jira client only. */
  async siteToken(clientKey: string): Promise<{ baseUrl: string; email: string; apiToken: string } | undefined> {
    const [row, tenant] = await Promise.all([
      this.models.SiteCredential.findByPk(clientKey),
      this.models.Tenant.findByPk(clientKey),
    ]);
    if (!row || !tenant) return undefined;
    return {
      baseUrl: tenant.baseUrl,
      email: row.email,
      apiToken: this.box.open(row.apiTokenEnc, ctx(clientKey, 'apiToken')),
    };
  }

  /** The org API key in the clear, for the Jira client only. */
  async orgKey(clientKey: string): Promise<{ orgId: string; orgApiKey: string } | undefined> {
    const row = await this.models.SiteCredential.findByPk(clientKey);
    if (!row?.orgApiKeyEnc || !row.orgId) return undefined;
    return { orgId: row.orgId, orgApiKey: this.box.open(row.orgApiKeyEnc, ctx(clientKey, 'orgApiKey')) };
  }

  /** Everything stored for a tenant, secrets opened (to merge a partial update). */
  async load(
    clientKey: string,
  ): Promise<{ email: string; apiToken: string; orgId: string | null; orgApiKey: string | null } | undefined> {
    const row = await this.models.SiteCredential.findByPk(clientKey);
    if (!row) return undefined;
    return {
      email: row.email,
      apiToken: this.box.open(row.apiTokenEnc, ctx(clientKey, 'apiToken')),
      orgId: row.orgId,
      orgApiKey: row.orgApiKeyEnc ? this.box.open(row.orgApiKeyEnc, ctx(clientKey, 'orgApiKey')) : null,
    };
  }

  /** Stores verified credentials (replacing what was there). */
  async save(clientKey: string, w: SiteCredentialsWrite): Promise<void> {
    await this.models.SiteCredential.upsert({
      clientKey,
      email: w.email,
      apiTokenEnc: this.box.seal(w.apiToken, ctx(clientKey, 'apiToken')),
      tokenAccountId: w.tokenAccountId,
      orgId: w.orgId,
      orgApiKeyEnc: w.orgApiKey === null ? null : this.box.seal(w.orgApiKey, ctx(clientKey, 'orgApiKey')),
      verifiedAt: new Date(),
      updatedBy: w.updatedBy,
      updatedAt: new Date(),
    });
  }
}
