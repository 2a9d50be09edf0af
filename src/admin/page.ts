import { Router, type RequestHandler, type Response } from 'express';
import { asyncHandler } from '../http/asyncHandler';
import { requireContext } from '../http/context';
import { view } from '../http/views';
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
  router.get('/admin', deps.authenticate, page);
  return router;
}

function send(res: Response, status: number, html: string): void {
  res.status(status).type('html').send(html);
}
