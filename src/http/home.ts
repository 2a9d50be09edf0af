import fs from 'node:fs';
import path from 'node:path';
import { Router } from 'express';
import Handlebars from 'handlebars';
import type { Sequelize } from 'sequelize';
import { PROJECT_ROOT } from '../config';
import { isDatabaseReachable } from '../db/database';
import { asyncHandler } from './asyncHandler';

const VERSION = (JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string })
  .version;

/**
 * The server's own front door: GET / says what this server is, whether it is healthy and how to
 * install it into a Jira site (HTML for a browser, JSON for a script); GET /healthz for probes.
 */
export function homeRouter(deps: { sequelize: Sequelize; localBaseUrl: string; port: number }): Router {
  const router = Router();
  const layout = Handlebars.compile(fs.readFileSync(path.join(PROJECT_ROOT, 'views/layout.hbs'), 'utf8'));
  const body = Handlebars.compile(fs.readFileSync(path.join(PROJECT_ROOT, 'views/home.hbs'), 'utf8'));

  router.get(
    '/healthz',
    asyncHandler(async (_req, res) => {
      const database = await isDatabaseReachable(deps.sequelize);
      res
        .status(database ? 200 : 503)
        .json({ status: database ? 'ok' : 'degraded', database: database ? 'up' : 'down' });
    }),
  );

  router.get(
    '/',
    asyncHandler(async (_req, res) => {
      const healthy = await isDatabaseReachable(deps.sequelize);
      res.status(healthy ? 200 : 503);
      res.format({
        html: () => {
          const data = {
            title: 'IdP User & Group Sync for Jira Cloud',
            localBaseUrl: deps.localBaseUrl,
            baseUrl: deps.localBaseUrl,
            healthy,
            version: VERSION,
            node: process.versions.node,
            https: deps.localBaseUrl.startsWith('https://'),
            port: deps.port,
          };
          res.type('html').send(layout({ ...data, body: body(data) }));
        },
        json: () => {
          res.json({
            name: 'IdP User & Group Sync for Jira Cloud',
            version: VERSION,
            status: healthy ? 'ok' : 'degraded',
            database: healthy ? 'up' : 'down',
            baseUrl: deps.localBaseUrl,
            descriptor: `${deps.localBaseUrl}/atlassian-connect.json`,
            install: 'npm run manifest, forge register, forge deploy, forge install: docs/install.md',
          });
        },
      });
    }),
  );
  return router;
}
