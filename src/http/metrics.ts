import type { Request, RequestHandler, Router } from 'express';
import express from 'express';
import { constantTimeEqual } from '../crypto/tokens';
import { metrics, scrape } from '../metrics';

/**
 * The route a request matched, as a template (`/api/v1/connections/:id`, `/scim/v2/{id}/Users/:id`):
 * the matched route's own path after the mount's part of the URL, the mount's ids made `{id}`. A
 * request no route answered is `unmatched` — a scanner's random paths never become labels.
 */
export function matchedRoute(req: Request): string {
  const routePath = (req.route as { path?: unknown } | undefined)?.path;
  if (typeof routePath !== 'string') return 'unmatched';
  const own = routePath.split('/').filter(Boolean).length;
  const asked = req.originalUrl.split('?')[0].split('/').filter(Boolean);
  const mount = asked
    .slice(0, Math.max(0, asked.length - own))
    .map((seg) => (/^[A-Za-z][A-Za-z0-9_-]{0,30}$/.test(seg) && !/^[0-9a-f-]{32,36}$/i.test(seg) ? seg : '{id}'));
  return `/${[...mount, ...routePath.split('/').filter(Boolean)].join('/')}`;
}

/** Counts and times every answer by route template and status (and SCIM requests by provider). */
export function httpMetrics(): RequestHandler {
  return (req, res, next) => {
    const started = performance.now();
    res.once('finish', () => {
      const route = matchedRoute(req);
      const status = String(res.statusCode);
      metrics.httpRequests.inc({ method: req.method, route, status });
      metrics.httpDuration.observe({ method: req.method, route }, (performance.now() - started) / 1000);
      const connection = res.locals.connection as { provider?: string } | undefined;
      if (route.startsWith('/scim/'))
        metrics.scimRequests.inc({
          provider: connection?.provider ?? 'unknown',
          method: req.method,
          resource: /^\/scim\/v2\/\{id\}\/(\w+)/.exec(route)?.[1] ?? 'other',
          status,
        });
    });
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
