import { Router, type RequestHandler, type Response } from 'express';
import { asyncHandler } from '../http/asyncHandler';
import { requireContext } from '../http/context';
import { view } from '../http/views';
import { frameableByJira } from '../http/securityHeaders';
import type { AdminCheck } from './auth';

/**
 * The admin page inside Jira's iframe. Jira loads it with a JWT bound to this URL (`authenticate`:
 * the host's check, ACE's with qsh for Connect); the page then calls /api/v1 with context JWTs.
 * Only Jira administrators see it.
 */
export function adminPageRouter(deps: {
  authenticate: RequestHandler;
  adminCheck: AdminCheck;
  localBaseUrl: string;
}): Router {
  const router = Router();
  const admin = view('admin');
  const message = view('message');
  const page = asyncHandler((req, res) => render(req, res));
  const render = async (req: Parameters<RequestHandler>[0], res: Response) => {
    const { clientKey, userAccountId, hostBaseUrl } = requireContext(req);
    frameableByJira(res, { localBaseUrl: deps.localBaseUrl, hostBaseUrl }); // every answer here is shown in Jira's frame
    const common = {
      title: 'IdP User & Group Sync',
      localBaseUrl: deps.localBaseUrl,
      hostScriptUrl: `${hostBaseUrl}/atlassian-connect/all.js`,
    };
    let isAdmin: boolean;
    try {
      isAdmin = Boolean(userAccountId) && (await deps.adminCheck.fresh(clientKey, userAccountId!)); // once per page load: the API calls use this answer
    } catch {
      return send(
        res,
        502,
        message({
          ...common,
          kind: 'error',
          heading: 'Jira did not answer',
          message: 'Could not check your permissions in Jira. Reload the page in a minute.',
        }),
      );
    }
    if (!isAdmin)
      return send(
        res,
        403,
        message({
          ...common,
          kind: 'warning',
          heading: 'Administrators only',
          message: 'Only Jira administrators can configure IdP User & Group Sync.',
        }),
      );
    send(res, 200, admin(common));
  };
  router.get('/admin', outsideJira(deps.localBaseUrl), deps.authenticate, page);
  return router;
}

/**
 * A person who opens an admin address in a browser, outside Jira (no JWT, no Authorization, a
 * browser's Accept), gets a page that says where the app lives instead of a JSON 401. Scripts and
 * Jira's own calls go on to authentication as before.
 */
export function outsideJira(localBaseUrl: string): RequestHandler {
  const message = view('message');
  return (req, res, next) => {
    const fromJira = req.headers.authorization || typeof req.query.jwt === 'string';
    if (req.method !== 'GET' || fromJira || req.accepts(['json', 'html']) !== 'html') return next();
    send(
      res,
      401,
      message({
        title: 'IdP User & Group Sync',
        localBaseUrl,
        kind: 'info',
        heading: 'Open this from Jira',
        message:
          "This page lives inside Jira: open it from Jira's settings (Settings → Apps → IdP User & Group Sync, or Configure under Manage apps). This address is the app's server, which Jira calls for you.",
      }),
    );
  };
}

function send(res: Response, status: number, html: string): void {
  res.status(status).type('html').send(html);
}
