import { asyncHandler } from '../http/asyncHandler';
import type { RequestHandler } from 'express';
import type { Clock } from '../clock';
import type { ApiTokenRepository } from '../db/apiTokens';
import { requireContext, setRequestContext } from '../http/context';
import type { JiraClientFactory } from '../jira/factory';
import { JiraError } from '../jira/errors';
import { forbidden, jiraUnavailable, unauthorized } from '../http/errors';

/** How long an answer of Jira's permission check stands for the admin API. */
export const ADMIN_ANSWER_MS = { yes: 5 * 60_000, no: 60_000 } as const;
const MAX_REMEMBERED = 10_000;

/**
 * Whether a user is a Jira administrator (ADMINISTER), asked of Jira with the add-on's JWT
 * (`permissions/check`). App traffic counts against the site's hourly quota, so the answer is asked
 * once per page load (`fresh`) and stands for the page's API calls (`remembered`): 5 minutes for
 * yes, 1 minute for no. Concurrent questions for one user share one call.
 */
export class AdminCheck {
  private readonly answers = new Map<string, { admin: boolean; until: number }>();
  private readonly asking = new Map<string, Promise<boolean>>();

  constructor(
    private readonly jira: JiraClientFactory,
    private readonly clock: Clock,
  ) {}

  /** Asks Jira now (the admin page's load) and remembers the answer. */
  fresh(clientKey: string, accountId: string): Promise<boolean> {
    const key = `${clientKey}|${accountId}`;
    const pending = this.asking.get(key);
    if (pending) return pending;
    const asked = this.jira
      .forTenant(clientKey)
      .hasGlobalPermission(accountId, 'ADMINISTER')
      .then((admin) => {
        this.answers.delete(key);
        if (this.answers.size >= MAX_REMEMBERED) this.answers.delete(this.answers.keys().next().value!);
        this.answers.set(key, { admin, until: this.clock.now() + (admin ? ADMIN_ANSWER_MS.yes : ADMIN_ANSWER_MS.no) });
        return admin;
      })
      .finally(() => this.asking.delete(key));
    this.asking.set(key, asked);
    return asked;
  }

  /** The answer given within its time, else Jira's answer now. */
  remembered(clientKey: string, accountId: string): Promise<boolean> {
    const known = this.answers.get(`${clientKey}|${accountId}`);
    if (known && known.until > this.clock.now()) return Promise.resolve(known.admin);
    return this.fresh(clientKey, accountId);
  }
}

/** Lets only Jira administrators through (the remembered answer, else Jira's). Must follow the host's authentication. */
export function requireJiraAdmin(check: AdminCheck): RequestHandler {
  return asyncHandler(async (req, _res, next) => {
    try {
      const { clientKey, userAccountId } = requireContext(req);
      if (!userAccountId) return next(forbidden('This JWT names no user; sign in to Jira as an administrator.'));
      next((await check.remembered(clientKey, userAccountId)) ? undefined : forbidden());
    } catch (err) {
      next(err instanceof JiraError ? jiraUnavailable(`Could not check your Jira permissions: ${err.message}`) : err);
    }
  });
}

/**
 * Who may use the admin API: a script with one of the site's API tokens (`Authorization: Bearer
 * igs_…`; a read-only token reads only), or else the host's authentication of a Jira user followed
 * by the administrator check. Without `tokens` (the Forge host's mount, which only Forge calls) only
 * the latter.
 */
export function adminAuthentication(
  authenticate: RequestHandler,
  check: AdminCheck,
  tokens?: ApiTokenRepository,
): RequestHandler[] {
  const admin = requireJiraAdmin(check);
  const asUser: RequestHandler = (req, res, next) =>
    authenticate(req, res, (err?: unknown) => (err ? next(err) : admin(req, res, next)));
  if (!tokens) return [asUser];
  return [
    asyncHandler(async (req, res, next) => {
      const header = req.headers.authorization ?? '';
      if (!/^Bearer igs_/i.test(header)) return asUser(req, res, next);
      const found = await tokens.verify(header.slice('Bearer '.length).trim());
      if (found === undefined) return next(unauthorized('This API token is not valid.'));
      if (found === 'revoked') return next(unauthorized('This API token was revoked.'));
      if (found === 'expired') return next(unauthorized('This API token has expired.'));
      if (found.access === 'read' && req.method !== 'GET' && req.method !== 'HEAD')
        return next(forbidden('This API token is read-only: it may only read (GET).'));
      setRequestContext(req, {
        clientKey: found.clientKey,
        apiToken: { id: found.id, name: found.name, access: found.access },
      });
      next();
    }),
  ];
}

/** Refuses a script's API token where only a person may act (creating and revoking API tokens). */
export const requireUser: RequestHandler = (req, _res, next) =>
  next(
    requireContext(req).apiToken
      ? forbidden('API tokens are managed by a Jira administrator in the admin page, not with an API token.')
      : undefined,
  );
