import type { AddOn } from 'atlassian-connect-express';
import * as jwt from 'atlassian-jwt';
import type { RequestHandler } from 'express';
import { unauthorized } from '../http/errors';
import { requestContext } from '../http/context';

const CONTEXT_QSH = 'context-qsh';

/**
 * Authenticates a JSON call from our iframe pages: the context JWT from AP.context.getToken()
 * (or a JWT bound to this exact request). ACE checks signature, issuer, tenant and expiry but skips
 * `qsh` for context tokens; we then require the qsh to be "context-qsh" or this request's own hash,
 * so a JWT Jira signed for some other URL of ours is refused.
 */
export function requireContextJwt(addon: AddOn): RequestHandler {
  const aceCheck = addon.checkValidToken();
  return (req, res, next) => {
    aceCheck(req, res, (err?: unknown) => {
      if (err) return next(err);
      const ctx = requestContext(req);
      if (!ctx) return next(unauthorized());
      const qsh = readQsh(req);
      if (qsh === CONTEXT_QSH) return next();
      const expected = jwt.createQueryStringHash(jwt.fromExpressRequest(req), false, addon.config.localBaseUrl());
      if (qsh !== expected) return next(unauthorized('The JWT was not issued for this request (qsh mismatch).'));
      next();
    });
  };
}

function readQsh(req: Parameters<RequestHandler>[0]): string | undefined {
  const header = req.headers.authorization;
  const token =
    typeof req.query.jwt === 'string' ? req.query.jwt : header?.startsWith('JWT ') ? header.slice(4) : undefined;
  if (!token) return undefined;
  // The signature was verified by ACE a moment ago; here we only read a claim.
  const claims = jwt.decodeSymmetric(token, '', jwt.SymmetricAlgorithm.HS256, true) as { qsh?: string };
  return claims.qsh;
}
