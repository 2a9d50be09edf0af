import { asyncHandler } from '../http/asyncHandler';
import type { RequestHandler } from 'express';
import { requireContext } from '../http/context';
import { JiraError } from '../jira/errors';
import type { JiraClientFactory } from '../jira/factory';
import { forbidden, jiraUnavailable } from '../http/errors';

/**
 * Lets only Jira administrators through: asks Jira (permissions/check, with the add-on's JWT)
 * whether the calling user holds ADMINISTER. Must follow requireContextJwt.
 */
export function requireJiraAdmin(jira: JiraClientFactory): RequestHandler {
  return asyncHandler(async (req, _res, next) => {
    try {
      const { clientKey, userAccountId } = requireContext(req);
      if (!userAccountId) return next(forbidden('This JWT names no user; sign in to Jira as an administrator.'));
      const isAdmin = await jira.forTenant(clientKey).hasGlobalPermission(userAccountId, 'ADMINISTER');
      next(isAdmin ? undefined : forbidden());
    } catch (err) {
      next(err instanceof JiraError ? jiraUnavailable(`Could not check your Jira permissions: ${err.message}`) : err);
    }
  });
}
