import crypto from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import { pinoHttp } from 'pino-http';
import { requestScope, type Logger } from '../logger';

/** An id a caller or a proxy may hand us (`X-Request-Id`), when it is short and plain. */
const GIVEN_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * One log line per request — method, route (ids replaced: no user, token or query ever appears),
 * status, duration and the request's id — through pino-http. The id is the caller's `X-Request-Id`
 * when it gives a plain one, else a new UUID; it is sent back in `X-Request-Id` and carried by
 * every log line written while the request is handled. Health checks log at debug; a 500 at
 * error, other 5xx at warn. At LOG_LEVEL warn and above only the id is given (see below).
 */
export function requestLog(logger: Logger): RequestHandler[] {
  const idOf = (req: IncomingMessage) => {
    const given = req.headers['x-request-id'];
    return typeof given === 'string' && GIVEN_ID.test(given) ? given : crypto.randomUUID();
  };
  // Above info (LOG_LEVEL=warn, as the benchmarks run) no request line can be written: the id is
  // still given and sent back, but neither pino-http nor the async context is paid for on every request.
  if (!logger.isLevelEnabled('info'))
    return [
      (req, res, next) => {
        res.setHeader('X-Request-Id', idOf(req));
        next();
      },
    ];
  const scope: RequestHandler = (req, res, next) => {
    const id = idOf(req);
    (req as IncomingMessage & { id?: string }).id = id;
    res.setHeader('X-Request-Id', id);
    requestScope.run({ reqId: id }, next);
  };
  const fields = (req: IncomingMessage, res: ServerResponse, durationMs: number) => ({
    method: req.method,
    route: routeOf(req),
    status: res.statusCode,
    durationMs,
  });
  const line = pinoHttp({
    logger,
    genReqId: (req) => (req as IncomingMessage & { id?: string }).id ?? crypto.randomUUID(),
    quietResLogger: true, // the line carries only the fields below (the request's id comes from requestScope)
    // A 500 is ours to fix; a 502/503 says what is away (Jira, the database), whose own line says more.
    customLogLevel: (req, res, err) =>
      err || res.statusCode === 500
        ? 'error'
        : res.statusCode > 500
          ? 'warn'
          : req.url === '/healthz'
            ? 'debug'
            : 'info',
    customSuccessObject: (req, res, val: { responseTime: number }) => fields(req, res, val.responseTime),
    customErrorObject: (req, res, _err, val: { responseTime: number }) => fields(req, res, val.responseTime),
    customSuccessMessage: (req, res, ms) => `${req.method} ${routeOf(req)} ${res.statusCode} ${ms} ms`,
    customErrorMessage: (req, res) => `${req.method} ${routeOf(req)} ${res.statusCode}`,
  });
  return [scope, line];
}

/**
 * The request's path as a route: ids (UUIDs, numbers, anything long or with odd characters)
 * become `:id`, and the query is dropped — so a log line never holds an id, an email or a token.
 */
export function routeOf(req: IncomingMessage): string {
  // Express rewrites `url` inside mounted routers; `originalUrl` is what was asked for.
  const path = ((req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '/').split('?')[0];
  const parts = path
    .split('/')
    .map((p) =>
      p === ''
        ? p
        : /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(p) ||
            /^\d+$/.test(p) ||
            !/^[A-Za-z][A-Za-z0-9._-]{0,39}$/.test(p)
          ? ':id'
          : p,
    );
  return parts.slice(0, 12).join('/') || '/';
}
