import fs from 'node:fs';
import path from 'node:path';
import { Router } from 'express';
import type { Sequelize } from 'sequelize';
import { PROJECT_ROOT } from '../config';
import { isDatabaseReachable } from '../db/database';
import { asyncHandler } from './asyncHandler';
import { view } from './views';

const VERSION = (JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string })
  .version;

/** The health every probe and the front page report: the database answers within 2 s, or not. */
async function health(sequelize: Sequelize) {
  const up = await isDatabaseReachable(sequelize);
  return { up, body: { status: up ? 'ok' : 'degraded', database: up ? 'up' : 'down' } };
}

/**
 * The server's own front door: GET / says what this server is, whether it is healthy and how to
 * install it into a Jira site (HTML for a browser, JSON for a script); GET /healthz for probes.
 */
export function homeRouter(deps: {
  sequelize: Sequelize;
  localBaseUrl: string;
  port: number;
  forgeAppId?: string;
}): Router {
  const router = Router();
  const home = view('home');

  router.get(
    '/healthz',
    asyncHandler(async (_req, res) => {
      const { up, body } = await health(deps.sequelize);
      res.status(up ? 200 : 503).json(body);
    }),
  );

  router.get(
    '/',
    asyncHandler(async (_req, res) => {
      const { up, body } = await health(deps.sequelize);
      res.status(up ? 200 : 503);
      res.format({
        html: () => {
          res.type('html').send(
            home({
              title: 'IdP User & Group Sync for Jira Cloud',
              localBaseUrl: deps.localBaseUrl,
              healthy: up,
              version: VERSION,
              node: process.versions.node,
              https: deps.localBaseUrl.startsWith('https://'),
              port: deps.port,
              forgeAppId: deps.forgeAppId,
            }),
          );
        },
        json: () => {
          res.json({
            name: 'IdP User & Group Sync for Jira Cloud',
            version: VERSION,
            ...body,
            baseUrl: deps.localBaseUrl,
            descriptor: `${deps.localBaseUrl}/atlassian-connect.json`,
            forgeAppId: deps.forgeAppId ?? null,
            install: 'npm run manifest, forge register, npm start, forge deploy, forge install: docs/install.md',
          });
        },
      });
    }),
  );
  return router;
}
