import { asyncHandler } from '../http/asyncHandler';
import type { RequestHandler } from 'express';
import { constantTimeEqual, hashToken } from '../crypto/tokens';

import { unauthorized } from './errors';
import type { ScimTokenCache } from './tokenCache';

/** The connection a SCIM request was authenticated for. */
export interface ScimConnection {
  id: string;
  clientKey: string;
  /** Which IdP pushes (entra, okta, miniorange, generic): a label of the SCIM metrics. */
  provider: string;
}

/**
 * Checks `Authorization: Bearer <token>` against the hash stored for the connection in the URL,
 * in constant time. Unknown connection, deleted connection, revoked token, a token of another
 * connection or tenant: all the same 401, so nothing about other connections leaks.
 */
export function requireScimToken(tokens: Pick<ScimTokenCache, 'get'>): RequestHandler {
  return asyncHandler(async (req, res, next) => {
    try {
      const header = req.headers.authorization ?? '';
      const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (!match)
        throw unauthorized(
          header ? 'The Authorization header must be "Bearer <token>".' : 'A bearer token is required.',
        );
      const stored = await tokens.get(req.params.connectionId);
      const presented = hashToken(match[1]);
      // Compare even when nothing is stored, so timing does not tell unknown connections apart.
      const ok = constantTimeEqual(presented, stored?.tokenHash ?? '0'.repeat(64)) && stored !== undefined;
      if (!ok) throw unauthorized('The bearer token is not valid for this SCIM endpoint.');
      res.locals.connection = {
        id: stored.id,
        clientKey: stored.clientKey,
        provider: stored.provider,
      } satisfies ScimConnection;
      next();
    } catch (err) {
      if (err && typeof err === 'object' && 'status' in err && (err as { status: number }).status === 401)
        res.setHeader('WWW-Authenticate', 'Bearer realm="SCIM"');
      next(err);
    }
  });
}
