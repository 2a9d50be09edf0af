import { asyncHandler } from '../../http/asyncHandler';
import type { RequestHandler } from 'express';
import { requireContext } from '../../http/context';
import type { TenantRepository } from '../../db/tenants';
import type { SiteCredentialsRepository } from '../../db/siteCredentials';
import { JiraError } from '../../jira/errors';
import type { JiraClientFactory } from '../../jira/factory';
import { AppError, jiraUnavailable, notFound } from '../../http/errors';
import type { PutSiteCredentials } from './schema';

export interface SiteCredentialsDeps {
  tenants: TenantRepository;
  credentials: SiteCredentialsRepository;
  jira: JiraClientFactory;
}

/** GET /api/v1/site-credentials: which credentials are set (never their values). */
export function getSiteCredentials({ credentials }: SiteCredentialsDeps): RequestHandler {
  return asyncHandler(async (req, res) => {
    res.json(await credentials.status(requireContext(req).clientKey));
  });
}

/** PUT /api/v1/site-credentials: verifies the credentials against Jira with real calls, then stores them sealed. */
export function putSiteCredentials(deps: SiteCredentialsDeps): RequestHandler {
  return asyncHandler(async (req, res) => {
    const { clientKey, userAccountId } = requireContext(req);
    const body = res.locals.body as PutSiteCredentials;
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
        `${body.email} is not a Jira administrator of this site; user and group writes need an administrator's API token.`,
      );
    if (merged.orgId && merged.orgApiKey) {
      await verify(
        'orgApiKey',
        () => candidate.getOrganization(merged.orgId!),
        'The Atlassian admin API did not accept this organization ID and API key.',
      );
    }

    await deps.credentials.save(clientKey, {
      email: body.email,
      apiToken: merged.apiToken,
      tokenAccountId: owner.accountId,
      orgId: merged.orgId,
      orgApiKey: merged.orgApiKey,
      updatedBy: userAccountId ?? 'unknown',
    });
    deps.jira.forget(clientKey);
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
  if (orgApiKey && !orgId) throw fieldError('orgId', 'Required with an organization API key.');
  if (orgId && !orgApiKey) throw fieldError('orgApiKey', 'Required with an organization ID.');
  return { apiToken, orgId, orgApiKey };
}

function fieldError(field: string, message: string): AppError {
  return new AppError(400, 'validation_failed', `${field}: ${message}`, { fields: { [field]: message } });
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
