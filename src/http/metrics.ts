import type { Request, RequestHandler, Response, Router } from 'express';
import { ServerResponse } from 'node:http';
import express from 'express';
import { constantTimeEqual } from '../crypto/tokens';
import { http, scrape } from '../metrics';

/** Templates by route: a route object belongs to one router at one mount, so its template never changes. */
const templates = new WeakMap<object, string>();

/**
 * The route a request matched, as a template (`/api/v1/connections/:id`, `/scim/v2/{id}/Users/:id`):
 * the matched route's own path after the mount's part of the URL, the mount's ids made `{id}`
 * (worked out once per route). A request no route answered is `unmatched` — a scanner's random
 * paths never become labels.
 */
export function matchedRoute(req: Request): string {
  const route = req.route as { path?: unknown } | undefined;
  if (!route || typeof route.path !== 'string') return 'unmatched';
  const known = templates.get(route);
  if (known) return known;
  const own = route.path.split('/').filter(Boolean);
  const asked = req.originalUrl.split('?')[0].split('/').filter(Boolean);
  const mount = asked
    .slice(0, Math.max(0, asked.length - own.length))
    .map((seg) => (/^[A-Za-z][A-Za-z0-9_-]{0,30}$/.test(seg) && !/^[0-9a-f-]{32,36}$/i.test(seg) ? seg : '{id}'));
  const template = `/${[...mount, ...own].join('/')}`;
  templates.set(route, template);
  return template;
}

const STARTED = Symbol('metrics.started');
type Timed = Response & { [STARTED]?: number };

/** Counts one answer as it ends. */
function count(res: Timed): void {
  const req = res.req;
  const route = matchedRoute(req);
  const method = req.method;
  const status = res.statusCode;
  const seconds = (performance.now() - (res[STARTED] ?? 0)) / 1000;
  http.requests.record(`${method} ${route} ${status}`);
  http.duration.record(`${method} ${route}`, seconds);
  if (route.startsWith('/scim/')) {
    const provider = (res.locals.connection as { provider?: string } | undefined)?.provider ?? 'unknown';
    const resource = /^\/scim\/v2\/\{id\}\/(\w+)/.exec(route)?.[1] ?? 'other';
    http.scim.record(`${provider} ${method} ${resource} ${status}`);
  }
}

// eslint-disable-next-line @typescript-eslint/unbound-method -- applied with its response as `this` below
const end = ServerResponse.prototype.end;
let patched = false;
/**
 * `end` of every response, counting the answers httpMetrics marked first. It is put on the
 * prototype once: an `end` of its own on each response, or a 'finish' listener on each, changed the
 * responses' shape or added work that cost the SCIM benchmark 3–8 % (docs/benchmarks.md).
 */
function endCounted(this: Timed, ...args: unknown[]): unknown {
  if (this[STARTED] !== undefined) {
    count(this);
    this[STARTED] = undefined;
  }
  return (end as (...a: unknown[]) => unknown).apply(this, args);
}

/** Counts and times every answer by route template and status (and SCIM requests by provider). */
export function httpMetrics(): RequestHandler {
  if (!patched) {
    patched = true;
    ServerResponse.prototype.end = endCounted as typeof ServerResponse.prototype.end;
  }
  return (_req, res, next) => {
    (res as Timed)[STARTED] = performance.now();
    next();
  };
}

/**
 * `GET /metrics` for Prometheus. On the public port only with `Authorization: Bearer
 * <METRICS_TOKEN>` (without a token set there it is 404, as if absent); on `METRICS_PORT`'s own
 * listener, which the operator keeps off the public network, without one.
 */
export function metricsRouter(opts: { token?: string; open?: boolean }): Router {
  const router = express.Router();
  router.get('/metrics', (req, res, next) => {
    if (!opts.open) {
      if (!opts.token) return next();
      const given = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? '';
      if (!constantTimeEqual(given, opts.token)) {
        res.setHeader('WWW-Authenticate', 'Bearer realm="metrics"');
        return res.status(401).type('text/plain').send('A valid METRICS_TOKEN is required.\n');
      }
    }
    scrape().then(
      (text) => res.type('text/plain; version=0.0.4; charset=utf-8').send(text),
      (err: unknown) => next(err),
    );
  });
  return router;
}
