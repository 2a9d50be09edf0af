import type { Request, RequestHandler, Response, Router } from 'express';
import diagnostics from 'node:diagnostics_channel';
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

/** When each answer started, kept beside the response (a property on it would change every response's hidden class). */
const started = new WeakMap<object, number>();

/** What a route's answers count into, by method and status, worked out once. */
interface Bound {
  requests: () => void;
  duration: (seconds: number) => void;
  scim?: () => void;
}
const bound = new Map<string, Bound>();

function bind(req: Request, status: number, provider: string | undefined): Bound {
  const route = matchedRoute(req);
  const key = `${req.method} ${route} ${status} ${provider ?? ''}`;
  let b = bound.get(key);
  if (!b) {
    const method = req.method;
    const resource = /^\/scim\/v2\/\{id\}\/(\w+)/.exec(route)?.[1] ?? 'other';
    b = {
      requests: http.requests.recorder(`${method} ${route} ${status}`),
      duration: http.duration.recorder(`${method} ${route}`),
      scim: route.startsWith('/scim/')
        ? http.scim.recorder(`${provider ?? 'unknown'} ${method} ${resource} ${status}`)
        : undefined,
    };
    if (bound.size < 5_000) bound.set(key, b);
  }
  return b;
}

/** Counts one answer as it ends (exported for bench/metrics, which times this per-answer work). */
export function countAnswer(res: Response, started: number): void {
  const provider = (res.locals.connection as { provider?: string } | undefined)?.provider;
  const b = bind(res.req, res.statusCode, provider);
  b.requests();
  b.duration((performance.now() - started) / 1000);
  b.scim?.();
}

let subscribed = false;
/**
 * Counts each answer httpMetrics stamped when Node says it finished (the `http.server.response.finish`
 * diagnostics channel, published only while someone listens): nothing added to each response —
 * neither a property, nor an `end` of its own, nor a 'finish' listener, each of which cost the SCIM
 * benchmark more than the counting itself (docs/benchmarks.md).
 */
function onFinish(message: unknown): void {
  const res = (message as { response: Response }).response;
  const at = started.get(res);
  if (at === undefined) return;
  started.delete(res);
  countAnswer(res, at);
}

/** Counts and times every answer by route template and status (and SCIM requests by provider). */
export function httpMetrics(): RequestHandler {
  if (!subscribed) {
    subscribed = true;
    diagnostics.subscribe('http.server.response.finish', onFinish);
  }
  return (_req, res, next) => {
    started.set(res, performance.now());
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
