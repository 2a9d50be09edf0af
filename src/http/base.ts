import { httpMetrics, metricsRouter } from './metrics';
import path from 'node:path';
import express, { type Express } from 'express';
import type { Sequelize } from 'sequelize';
import { PROJECT_ROOT, type Config } from '../config';
import type { Logger } from '../logger';
import { homeRouter } from './home';
import { checkJsonDepth } from './jsonDepth';
import { limitUrlLength } from './limits';
import { requestLog } from './requestLog';
import { securityHeaders } from './securityHeaders';

/**
 * The Express app every surface is mounted on: the request log, security headers, URL and JSON
 * limits (SCIM parses its own bodies, so that even a malformed one gets a SCIM error), the front
 * page and the static files of the admin page.
 */
export function baseApp(d: { config: Config; sequelize: Sequelize; logger: Logger }): Express {
  const { config } = d;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false); // SCIM resources carry their own version ETags; hashing every body costs CPU for nothing
  app.set('trust proxy', 'loopback');
  if (config.metrics.enabled) app.use(httpMetrics());
  app.use(requestLog(d.logger));
  app.use(metricsRouter({ token: config.metrics.token }));
  app.use(securityHeaders(config.localBaseUrl));
  app.use(limitUrlLength);
  const json = express.json({
    limit: '1mb',
    type: ['application/json', 'application/*+json'],
    verify: checkJsonDepth,
  });
  app.use((req, res, next) => (req.path.startsWith('/scim/') ? next() : json(req, res, next)));
  app.use(
    homeRouter({
      sequelize: d.sequelize,
      localBaseUrl: config.localBaseUrl,
      port: config.port,
      forgeAppId: config.forgeAppId,
    }),
  );
  app.use(
    '/vendor/aui',
    express.static(path.join(PROJECT_ROOT, 'node_modules/@atlassian/aui/dist/aui'), { maxAge: '7d', index: false }),
  );
  app.use('/public', express.static(path.join(PROJECT_ROOT, 'public'), { maxAge: '1h', index: false }));
  return app;
}
