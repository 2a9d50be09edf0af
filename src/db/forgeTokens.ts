import type { SecretBox } from '../crypto/secrets';
import { secretContexts } from './sealed';
import type { Sql } from './sql';

const ctx = secretContexts.forgeSystemToken;

/** Where and how the remote calls Jira as the app for a site, as Forge last said it. */
export interface ForgeTokens {
  apiBaseUrl: string;
  systemToken?: string;
  /** When the system token expires (read from the token; Forge hands out a fresh one well before). */
  expiresAt?: Date;
}

/** The app system token and API base URL of each Forge installation, the token sealed at rest. */
export class ForgeTokenRepository {
  constructor(
    private readonly sql: Sql,
    private readonly box: SecretBox,
  ) {}

  /** Keeps what a Forge call brought; a call without a system token keeps the stored one. */
  async save(clientKey: string, t: { apiBaseUrl: string; systemToken?: string }): Promise<void> {
    const sealed = t.systemToken ? this.box.seal(t.systemToken, ctx(clientKey)) : null;
    const exp = t.systemToken ? expiryOf(t.systemToken) : undefined;
    await this.sql.query(
      `INSERT INTO forge_tokens (client_key, api_base_url, system_token_enc, system_token_exp, updated_at)
       VALUES ($1, $2, $3, $4, now())
       ON CONFLICT (client_key) DO UPDATE SET api_base_url = EXCLUDED.api_base_url,
         system_token_enc = COALESCE(EXCLUDED.system_token_enc, forge_tokens.system_token_enc),
         system_token_exp = CASE WHEN EXCLUDED.system_token_enc IS NULL THEN forge_tokens.system_token_exp ELSE EXCLUDED.system_token_exp END,
         updated_at = now()`,
      [clientKey, t.apiBaseUrl, sealed, exp ?? null],
    );
  }

  async load(clientKey: string): Promise<ForgeTokens | undefined> {
    const [row] = await this.sql.query<{
      api_base_url: string;
      system_token_enc: string | null;
      system_token_exp: Date | null;
    }>('SELECT api_base_url, system_token_enc, system_token_exp FROM forge_tokens WHERE client_key = $1', [clientKey]);
    if (!row) return undefined;
    return {
      apiBaseUrl: row.api_base_url,
      ...(row.system_token_enc ? { systemToken: this.box.open(row.system_token_enc, ctx(clientKey)) } : {}),
      ...(row.system_token_exp ? { expiresAt: row.system_token_exp } : {}),
    };
  }
}

/** A JWT's `exp`, read without verifying it (the token is Atlassian's, for Atlassian; we only need its lifetime). */
function expiryOf(token: string): Date | undefined {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
      exp?: unknown;
    };
    return typeof payload.exp === 'number' ? new Date(payload.exp * 1000) : undefined;
  } catch {
    return undefined;
  }
}
