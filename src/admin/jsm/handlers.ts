import type { RequestHandler } from 'express';
import { z } from 'zod';
import { requireContext } from '../../http/context';
import { jiraUnavailable } from '../../http/errors';
import { withQuery } from '../validate';
import { JiraError } from '../../jira/errors';
import type { JiraClientFactory } from '../../jira/factory';

/** `?start&limit` of the JSM lists: JSM's own paging, 50 by default, 100 at most. */
export const jsmPageQuerySchema = z
  .object({
    start: z.coerce
      .number({ invalid_type_error: 'must be a number' })
      .int('must be a whole number')
      .min(0, 'must be 0 or more')
      .max(1_000_000)
      .default(0),
    limit: z.coerce
      .number({ invalid_type_error: 'must be a number' })
      .int('must be a whole number')
      .min(1, 'must be 1 to 100')
      .max(100, 'must be 1 to 100')
      .default(50),
  })
  .strict();

/**
 * GET /api/v1/jsm/service-desks: one page of the site's service desks, for the customer rules'
 * pickers (ids as the rules take them, with the project's key and name).
 */
export function listServiceDesks({ jira }: { jira: JiraClientFactory }): RequestHandler {
  return withQuery(jsmPageQuerySchema, async ({ start, limit }, req, res) => {
    const page = await ask(() => jira.forTenant(requireContext(req).clientKey).listServiceDesks(start, limit));
    res.json({
      values: page.values.map((d) => ({ id: d.id, projectKey: d.projectKey, name: d.projectName })),
      start: page.start,
      limit: page.limit,
      isLastPage: page.isLastPage,
    });
  });
}

/** GET /api/v1/jsm/organizations: one page of the site's JSM organizations, for the same pickers. */
export function listJsmOrganizations({ jira }: { jira: JiraClientFactory }): RequestHandler {
  return withQuery(jsmPageQuerySchema, async ({ start, limit }, req, res) => {
    const page = await ask(() => jira.forTenant(requireContext(req).clientKey).listJsmOrganizations(start, limit));
    res.json({
      values: page.values.map((o) => ({ id: o.id, name: o.name })),
      start: page.start,
      limit: page.limit,
      isLastPage: page.isLastPage,
    });
  });
}

/** A JSM read; Jira's refusal or outage is a 502 that says what Jira said (a site without JSM answers 404). */
async function ask<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof JiraError)
      throw jiraUnavailable(
        err.status === 404
          ? 'Jira Service Management is not on this site (Jira answered 404 for its service desks).'
          : `Could not read Jira Service Management: ${err.message}`,
      );
    throw err;
  }
}
