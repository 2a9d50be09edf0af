import express, { Router, type ErrorRequestHandler, type RequestHandler } from 'express';
import type { Sequelize } from 'sequelize';
import { DATABASE_UNAVAILABLE, MALFORMED_URL } from '../http/errors';
import { checkJsonDepth, TooDeep } from '../http/jsonDepth';
import { MAX_URL_LENGTH, uriTooLongMessage } from '../http/limits';
import { DATABASE_RETRY_AFTER_S, isDatabaseUnavailable } from '../db/unavailable';
import type { GroupStore } from '../directory/groups';
import type { UserStore } from '../directory/users';
import type { Logger } from '../logger';
import { requireScimToken, type ScimConnection } from './auth';
import { serverSpan, tracing } from '../tracing';
import { discoveryRouter } from './discovery';
import {
  internal,
  invalidSyntax,
  malformedUrl,
  noEndpoint,
  ScimError,
  tooLarge,
  unavailable,
  unsupportedMedia,
  uriTooLong,
} from './errors';
import { groupsRouter } from './groups';
import { sendScim } from './http';
import type { ScimTokenCache } from './tokenCache';
import { usersRouter } from './users';

export interface ScimDeps {
  sequelize: Sequelize;
  tokens: ScimTokenCache;
  users: UserStore;
  groups: GroupStore;
  localBaseUrl: string;
  logger: Logger;
  /** A request not answered within this is answered 503 (SCIM_REQUEST_TIMEOUT_MS). */
  requestTimeoutMs: number;
  /** Told of each authenticated request's connection (when its IdP last called: "gone silent" alerts). */
  onRequest?: (connectionId: string) => void;
}

export const MAX_BODY = '1mb';
const JSON_TYPES = ['application/scim+json', 'application/json'];

/**
 * The SCIM 2.0 service provider of one connection, mounted at /scim/v2/:connectionId:
 * body parsing → content type → bearer token → discovery, /Users, /Groups → SCIM errors.
 */
export function scimRouter(d: ScimDeps): Router {
  const router = Router({ mergeParams: true });
  router.use(deadline(d.requestTimeoutMs, d.logger));
  router.use((req, _res, next) =>
    next(req.originalUrl.length > MAX_URL_LENGTH ? uriTooLong(uriTooLongMessage) : undefined),
  );
  router.use(
    requireJsonContentType,
    express.json({ limit: MAX_BODY, type: JSON_TYPES, strict: false, verify: checkJsonDepth }),
  );
  router.use(requireScimToken(d.tokens));
  if (tracing()) router.use(traceScimRequest);
  if (d.onRequest) {
    const told = d.onRequest;
    router.use((_req, res, next) => {
      told((res.locals.connection as { id: string }).id);
      next();
    });
  }
  router.use(discoveryRouter(d.localBaseUrl));
  router.use('/Users', usersRouter(d));
  router.use('/Groups', groupsRouter(d));
  router.use((req, _res, next) => next(noEndpoint(req.method, req.path)));
  router.use(scimErrorHandler(d.logger));
  return router;
}

/**
 * A request still unanswered after `ms` (its queries wait on a database that hangs: a network
 * partition, a frozen server) is answered 503 with Retry-After, so the IdP's call never hangs. Its
 * transaction may still commit when the database answers: like a commit whose answer was lost, it
 * is then stored whole, and the IdP's retry hears that it exists.
 */
function deadline(ms: number, logger: Logger): RequestHandler {
  return (req, res, next) => {
    const timer = setTimeout(() => {
      if (res.headersSent) return;
      logger.warn({ method: req.method, path: req.path, ms }, 'SCIM request timed out');
      res.setHeader('Retry-After', String(DATABASE_RETRY_AFTER_S));
      sendScim(res, 503, unavailable(`No answer within ${ms} ms (the database is not answering); try again shortly.`));
    }, ms);
    timer.unref();
    res.once('finish', () => clearTimeout(timer));
    res.once('close', () => clearTimeout(timer));
    next();
  };
}

/** Bodies must be JSON (application/scim+json or application/json). */
const requireJsonContentType: RequestHandler = (req, _res, next) => {
  const hasBody =
    (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0') ||
    req.headers['transfer-encoding'] !== undefined;
  if (!hasBody || req.method === 'GET' || req.method === 'DELETE') return next();
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (!JSON_TYPES.includes(type))
    return next(
      unsupportedMedia(`Content-Type must be application/scim+json or application/json, not "${type || 'none'}".`),
    );
  next();
};

interface BodyParserError {
  type?: string;
}

/**
 * Renders every error as a SCIM Error (RFC 7644 §3.12); unknown errors are logged and say nothing
 * more. Also mounted on /scim after the SCIM routes, for what fails before them (a connection id
 * in the URL that cannot be percent-decoded).
 */
export function scimErrorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) return res.writableEnded ? undefined : next(err); // answered already (the deadline)
    let e: ScimError;
    const bp = err as BodyParserError;
    if (err instanceof ScimError) e = err;
    else if (bp?.type === 'entity.too.large') e = tooLarge(`The request body is larger than ${MAX_BODY}.`);
    else if (bp?.type === 'entity.parse.failed') e = invalidSyntax('The request body is not valid JSON.');
    else if (err instanceof TooDeep) e = invalidSyntax(err.message);
    else if (bp?.type === 'charset.unsupported' || bp?.type === 'encoding.unsupported')
      e = unsupportedMedia('Unsupported body encoding.');
    else if (bp?.type) e = invalidSyntax('The request body could not be read.');
    else if (err instanceof URIError || (err as { status?: number })?.status === 400)
      // Express could not percent-decode a path parameter (`%ff`, `%E0%A4%A`): the URL is malformed, not our fault.
      e = malformedUrl(MALFORMED_URL);
    else if (isDatabaseUnavailable(err)) {
      // Nothing was committed: the IdP sends it again when told to (RFC 7644 §3.12 allows any HTTP status).
      logger.warn({ err: (err as Error).message, method: req.method, path: req.path }, 'database unavailable');
      res.setHeader('Retry-After', String(DATABASE_RETRY_AFTER_S));
      e = unavailable(DATABASE_UNAVAILABLE);
    } else {
      logger.error({ err, method: req.method, path: req.path }, 'SCIM request failed');
      e = internal();
    }
    sendScim(res, e.status, e);
  };
}

/** Traced: a SCIM request is a server span (continuing the IdP's `traceparent`), ended with its answer. */
const traceScimRequest: RequestHandler = (req, res, next) => {
  const c = res.locals.connection as ScimConnection;
  const resource = /^\/(Users|Groups)(\/[^/?]+)?/.exec(req.path);
  const route = resource ? `/${resource[1]}${resource[2] ? '/{id}' : ''}` : req.path;
  const span = serverSpan(
    `SCIM ${req.method} ${resource?.[1] ?? 'discovery'}`,
    req.headers,
    {
      'http.request.method': req.method,
      'http.route': `/scim/v2/{connectionId}${resource ? route : '/{discovery}'}`,
      'scim.provider': c.provider,
      'idp.connection.id': c.id,
    },
    next,
  );
  res.once('finish', () => span?.end(res.statusCode));
};
