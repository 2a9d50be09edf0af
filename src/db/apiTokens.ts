import crypto from 'node:crypto';
import { generateToken, hashToken } from '../crypto/tokens';
import type { Sql } from './sql';

/** What an API token may do: read (GET) or read and change. */
export type ApiTokenAccess = 'read' | 'write';

/** A site's admin API token as stored: never the token, only its hash and last characters. */
export interface ApiToken {
  id: string;
  clientKey: string;
  name: string;
  access: ApiTokenAccess;
  hint: string;
  createdBy: string;
  createdAt: Date;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

/** Every API token starts so (a secret scanner can find one pasted where it should not be). */
export const API_TOKEN_PREFIX = 'igs_';
/** How often a token's last use is written (a script calling every second writes once a minute). */
const LAST_USE_EVERY_MS = 60_000;

interface Row {
  id: string;
  client_key: string;
  name: string;
  access: ApiTokenAccess;
  token_hint: string;
  created_by: string;
  created_at: Date;
  expires_at: Date | null;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

const toToken = (r: Row): ApiToken => ({
  id: r.id,
  clientKey: r.client_key,
  name: r.name,
  access: r.access,
  hint: r.token_hint,
  createdBy: r.created_by,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  lastUsedAt: r.last_used_at,
  revokedAt: r.revoked_at,
});

/** The admin API tokens of each site: created (the token returned once), listed, revoked, verified. */
export class ApiTokenRepository {
  constructor(private readonly sql: Sql) {}

  async create(
    clientKey: string,
    t: { name: string; access: ApiTokenAccess; expiresAt: Date | null; createdBy: string },
  ): Promise<{ token: string; row: ApiToken }> {
    const token = `${API_TOKEN_PREFIX}${generateToken()}`;
    const [row] = await this.sql.query<Row>(
      `INSERT INTO api_tokens (id, client_key, name, access, token_hash, token_hint, created_by, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
      [crypto.randomUUID(), clientKey, t.name, t.access, hashToken(token), token.slice(-4), t.createdBy, t.expiresAt],
    );
    return { token, row: toToken(row) };
  }

  async list(clientKey: string): Promise<ApiToken[]> {
    const rows = await this.sql.query<Row>('SELECT * FROM api_tokens WHERE client_key = $1 ORDER BY created_at DESC', [
      clientKey,
    ]);
    return rows.map(toToken);
  }

  /** Revokes a token of the site; the token as it was, or undefined when the site has no such token. */
  async revoke(clientKey: string, id: string): Promise<ApiToken | undefined> {
    const [row] = await this.sql.query<Row>(
      `UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, now()) WHERE client_key = $1 AND id = $2 RETURNING *`,
      [clientKey, id],
    );
    return row && toToken(row);
  }

  /**
   * The token a bearer value is, its use noted; `revoked` or `expired` for one that was; undefined
   * for a value that is no token of any site.
   */
  async verify(bearer: string, now = new Date()): Promise<ApiToken | 'revoked' | 'expired' | undefined> {
    if (!bearer.startsWith(API_TOKEN_PREFIX)) return undefined;
    const [row] = await this.sql.query<Row>('SELECT * FROM api_tokens WHERE token_hash = $1', [hashToken(bearer)]);
    if (!row) return undefined;
    if (row.revoked_at) return 'revoked';
    if (row.expires_at && row.expires_at <= now) return 'expired';
    if (!row.last_used_at || now.getTime() - row.last_used_at.getTime() > LAST_USE_EVERY_MS) {
      await this.sql.query('UPDATE api_tokens SET last_used_at = $2 WHERE id = $1', [row.id, now]);
      row.last_used_at = now;
    }
    return toToken(row);
  }
}
