import * as jwt from 'atlassian-jwt';
import type { IncomingMessage } from 'node:http';

/**
 * Who is calling: the add-on (Connect JWT, or on Forge its app system token through Atlassian's API
 * gateway), a user's basic auth (email + API token), an org API key.
 */
export type Principal =
  | { kind: 'jwt'; appKey: string }
  | { kind: 'forge'; appKey: string }
  | { kind: 'token'; accountId: string }
  | { kind: 'org' }
  | { kind: 'none' };

export interface AuthConfig {
  appKey: string;
  /** Shared secret issued at install; undefined until the app is installed. */
  sharedSecret?: string;
  /** email (lower case) → { token, accountId } */
  apiTokens: Map<string, { token: string; accountId: string }>;
  orgApiKey?: string;
  /** Whether a bearer token is an app system token Forge issued for this site and not expired (gateway calls only). */
  forgeSystemToken?: (token: string) => 'valid' | 'expired' | 'unknown';
}

/** The outcome of checking a request's credentials: a principal, or Jira's refusal. */
export type AuthResult = { ok: true; principal: Principal } | { ok: false; status: number; message: string };

/**
 * Authenticates like Jira Cloud: an HS256 Connect JWT verified with the tenant's shared secret
 * (issuer = app key, not expired, qsh over method + path + sorted query), or basic auth with an
 * email + API token, or (organization API) a bearer key.
 */
export function authenticate(
  req: IncomingMessage,
  url: URL,
  cfg: AuthConfig,
  nowSeconds: number,
  viaGateway = false,
): AuthResult {
  const header = req.headers.authorization ?? '';
  if (viaGateway) {
    // api.atlassian.com/ex/jira/{cloudId}: OAuth bearer tokens only (here: Forge's app system token).
    const verdict = header.startsWith('Bearer ') ? cfg.forgeSystemToken?.(header.slice(7)) : undefined;
    if (verdict === 'valid') return { ok: true, principal: { kind: 'forge', appKey: cfg.appKey } };
    return { ok: false, status: 401, message: verdict === 'expired' ? 'The access token expired' : 'Unauthorized' };
  }
  if (header.startsWith('JWT ')) return checkJwt(header.slice(4), req.method ?? 'GET', url, cfg, nowSeconds);
  if (header.startsWith('Basic ')) {
    const [email, token] = Buffer.from(header.slice(6), 'base64').toString('utf8').split(/:(.*)/s);
    const entry = cfg.apiTokens.get((email ?? '').toLowerCase());
    if (!entry || entry.token !== token)
      return { ok: false, status: 401, message: 'Client must be authenticated to access this resource.' };
    return { ok: true, principal: { kind: 'token', accountId: entry.accountId } };
  }
  if (header.startsWith('Bearer ')) {
    if (!cfg.orgApiKey || header.slice(7) !== cfg.orgApiKey) return { ok: false, status: 401, message: 'Unauthorized' };
    return { ok: true, principal: { kind: 'org' } };
  }
  return { ok: true, principal: { kind: 'none' } };
}

function checkJwt(token: string, method: string, url: URL, cfg: AuthConfig, now: number): AuthResult {
  if (!cfg.sharedSecret) return { ok: false, status: 401, message: 'JWT: the app is not installed on this site' };
  let claims: { iss?: string; exp?: number; qsh?: string };
  try {
    claims = jwt.decodeSymmetric(token, cfg.sharedSecret, jwt.SymmetricAlgorithm.HS256) as typeof claims;
  } catch (err) {
    return { ok: false, status: 401, message: `JWT signature invalid: ${(err as Error).message}` };
  }
  if (claims.iss !== cfg.appKey)
    return { ok: false, status: 401, message: `JWT issuer "${claims.iss}" is not an installed app` };
  if (typeof claims.exp !== 'number' || claims.exp <= now) return { ok: false, status: 401, message: 'JWT expired' };
  const expected = jwt.createQueryStringHash(jwt.fromMethodAndUrl(method, url.pathname + url.search));
  if (claims.qsh !== expected) return { ok: false, status: 401, message: 'JWT qsh does not match the request' };
  return { ok: true, principal: { kind: 'jwt', appKey: cfg.appKey } };
}
