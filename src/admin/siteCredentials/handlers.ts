import { asyncHandler } from '../../http/asyncHandler';
import type { RequestHandler } from 'express';
import { requireContext } from '../../http/context';
import type { TenantRepository } from '../../db/tenants';
import type { SiteCredentialsRepository } from '../../db/siteCredentials';
import { JiraError } from '../../jira/errors';
import type { JiraClient } from '../../jira/client';
import type { JiraClientFactory } from '../../jira/factory';
import { AppError, invalidField, jiraUnavailable, notFound } from '../../http/errors';
import { putSiteCredentialsSchema, type PutSiteCredentials } from './schema';
import { withBody } from '../validate';

export interface SiteCredentialsDeps {
  tenants: TenantRepository;
  credentials: SiteCredentialsRepository;
  jira: JiraClientFactory;
  /** After credentials are saved: the site's connections stop waiting and run (changes held for a token go through). */
  afterSave?: (clientKey: string) => Promise<void>;
}

/** GET /api/v1/site-credentials: which credentials are set (never their values). */
export function getSiteCredentials({ credentials }: SiteCredentialsDeps): RequestHandler {
  return asyncHandler(async (req, res) => {
    res.json(await credentials.status(requireContext(req).clientKey));
  });
}

/** PUT /api/v1/site-credentials: verifies the credentials against Jira with real calls, then stores them sealed. */
export function putSiteCredentials(deps: SiteCredentialsDeps): RequestHandler {
  return withBody(putSiteCredentialsSchema, async (body, req, res) => {
    const { clientKey, userAccountId, apiToken } = requireContext(req);
    const tenant = await deps.tenants.find(clientKey);
    if (!tenant) throw notFound('This Jira site is not installed.');
    const merged = await mergeWithStored(deps.credentials, clientKey, body);
    const candidate = deps.jira.withCandidate(
      clientKey,
      { baseUrl: tenant.baseUrl, email: body.email, apiToken: merged.apiToken },
      merged.orgApiKey ?? undefined,
    );

    const owner = await verify(
      'apiToken',
      () => candidate.tokenOwner(),
      'Jira did not accept this email and API token. Use the email of the account that created the token, and a token that has not been revoked.',
    );
    const isAdmin = await verify('apiToken', () =>
      deps.jira.forTenant(clientKey).hasGlobalPermission(owner.accountId, 'ADMINISTER'),
    );
    if (!isAdmin)
      throw fieldError(
        'email',
        `${body.email} is not a Jira administrator of this site; user and group writes need a site administrator's API token.`,
      );
    const siteAdmin = await verify('apiToken', () => candidate.canWriteGroups(owner.accountId));
    if (!siteAdmin)
      throw fieldError(
        'email',
        `${body.email} can administer Jira but is not a site administrator: Jira lets only site admins create groups, change their members and remove users from the site. In Atlassian Administration, give this account the site admin role (or use a site admin's API token).`,
      );
    if (merged.orgApiKey) merged.orgId = await orgIdFor(candidate, merged.orgId);

    await deps.credentials.save(clientKey, {
      email: body.email,
      apiToken: merged.apiToken,
      tokenAccountId: owner.accountId,
      orgId: merged.orgId,
      orgApiKey: merged.orgApiKey,
      updatedBy: userAccountId ?? (apiToken ? `api-token:${apiToken.id}` : 'unknown'),
    });
    deps.jira.forget(clientKey);
    await deps.afterSave?.(clientKey);
    res.json(await deps.credentials.status(clientKey));
  });
}

/** Fills what the request left out from what is stored, and checks the result is whole. */
async function mergeWithStored(repo: SiteCredentialsRepository, clientKey: string, body: PutSiteCredentials) {
  const stored = await repo.load(clientKey);
  let apiToken = body.apiToken;
  if (apiToken === undefined) {
    if (!stored || stored.email.toLowerCase() !== body.email.toLowerCase())
      throw fieldError('apiToken', 'Required: enter the API token of this account.');
    apiToken = stored.apiToken;
  }
  const orgId = body.orgId === undefined ? (stored?.orgId ?? null) : body.orgId;
  const orgApiKey = body.orgApiKey === undefined ? (stored?.orgApiKey ?? null) : body.orgApiKey;
  if (orgId && !orgApiKey) throw fieldError('orgApiKey', 'Required with an organization ID.');
  return { apiToken, orgId, orgApiKey };
}

/**
 * The organization of an org API key: the one given, verified; else the one the key sees
 * (GET /admin/v1/orgs), or the admin chooses among several.
 */
async function orgIdFor(candidate: JiraClient, orgId: string | null): Promise<string> {
  const refused = 'The Atlassian admin API did not accept this API key.';
  if (orgId) {
    await verify(
      'orgApiKey',
      () => candidate.getOrganization(orgId),
      `${refused} (or it does not see organization ${orgId})`,
    );
    return orgId;
  }
  const orgs = await verify('orgApiKey', () => candidate.listOrganizations(), refused);
  if (orgs.length === 1) return orgs[0].id;
  if (orgs.length === 0)
    throw fieldError(
      'orgApiKey',
      'This API key sees no organization: create it in the organization that manages the accounts.',
    );
  throw fieldError(
    'orgId',
    `This API key sees ${orgs.length} organizations; enter the ID of the one that manages this site's accounts: ${orgs.map((o) => `${o.id} (${o.name})`).join(', ')}.`,
  );
}

function fieldError(field: string, message: string): AppError {
  return invalidField(field, `${field}: ${message}`, message);
}

/** Runs a verification call; a refusal by Jira becomes a field error, an outage a 502. */
async function verify<T>(field: string, call: () => Promise<T>, refusal?: string): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (
      err instanceof JiraError &&
      err.kind === 'http' &&
      err.status !== undefined &&
      err.status < 500 &&
      err.status !== 429
    ) {
      throw fieldError(field, `${refusal ?? 'Jira refused the check.'} (Jira answered ${err.status})`);
    }
    if (err instanceof JiraError)
      throw jiraUnavailable(`Could not reach Jira to verify the credentials: ${err.message}`);
    throw err;
  }
}
