import crypto from 'node:crypto';
import { describeJiraBody, isRetryableStatus, JiraError, needsCredential } from './errors';
import type { CallKind, TenantLimiter } from './limiter';
import { pageThrough } from './paging';
import type { Clock } from '../clock';
import { parseRetryAfter, withRetry, type RetryPolicy } from './retry';
import type { JiraRequest, Transport } from './transport';
import type { JiraGroup, JiraPage, JiraProduct, JiraUser, JsmCustomer, JsmOrganization, ServiceDesk } from './types';

/**
 * Which credential an endpoint needs; 'token-or-jwt' prefers the token when one is stored. 'jwt' is
 * the app's own traffic: the Connect JWT, or on Forge the app system token.
 */
type Auth = 'jwt' | 'token' | 'org' | 'token-or-jwt';

export interface JiraClientOptions {
  clientKey: string;
  /** The app's own transport (Forge's app system token, else the Connect JWT); undefined while neither is at hand. */
  app: () => Promise<Transport | undefined>;
  /** The site-admin token transport, or undefined when the tenant has not stored one. */
  siteToken: () => Promise<Transport | undefined>;
  /** The org API key transport (with the organization's id), or undefined when the tenant has not stored one. */
  orgKey: () => Promise<(Transport & { orgId?: string }) | undefined>;
  limiter: TenantLimiter;
  policy: RetryPolicy;
  clock: Clock;
  onRetry?: (err: JiraError, waitMs: number, attempt: number) => void;
}

const GROUP_MEMBER_PAGE = 50; // Jira's maximum for group/member
/** JSM processes its experimental APIs only with this header. */
const EXPERIMENTAL = { 'X-ExperimentalApi': 'opt-in' };

/**
 * Jira Cloud for one tenant: a typed function per REST call the product uses, each sent with the
 * credential Jira requires for it (see docs/jira.md), through the tenant's limiter and the retry policy.
 */
export class JiraClient {
  constructor(private readonly o: JiraClientOptions) {}

  // --- reads and user properties: the Connect JWT ---------------------------------------------

  /** The calling principal (the add-on's user under JWT). */
  myself(): Promise<JiraUser> {
    return this.call('jwt', { method: 'GET', path: '/rest/api/3/myself' });
  }

  /** The owner of the stored site-admin token (verifies an email + token pair). */
  tokenOwner(): Promise<JiraUser> {
    return this.call('token', { method: 'GET', path: '/rest/api/3/myself' });
  }

  /**
   * Whether the token's owner may write groups and delete users — a site administrator, which
   * Administer Jira alone is not. Asked with a call that changes nothing: adding the owner to a
   * group that does not exist answers 404 to a site admin and 403 to anyone else.
   */
  async canWriteGroups(accountId: string): Promise<boolean> {
    try {
      await this.call(
        'token',
        {
          method: 'POST',
          path: '/rest/api/3/group/user',
          query: { groupId: crypto.randomUUID() },
          body: { accountId },
        },
        [404],
      );
      return true;
    } catch (err) {
      if (err instanceof JiraError && err.status === 403) return false;
      throw err;
    }
  }

  /** True when the user holds the given global permission (ADMINISTER for the admin page). */
  async hasGlobalPermission(accountId: string, permission: string): Promise<boolean> {
    const body = await this.call<{ globalPermissions?: string[] }>('jwt', {
      method: 'POST',
      path: '/rest/api/3/permissions/check',
      body: { globalPermissions: [permission], accountId },
    });
    return (body.globalPermissions ?? []).includes(permission);
  }

  /** Active users whose display name or email starts with the query (Jira's user picker search). */
  searchUsers(query: string, maxResults = 50): Promise<JiraUser[]> {
    return this.call('jwt', { method: 'GET', path: '/rest/api/3/user/search', query: { query, maxResults } });
  }

  /**
   * Every account of the site — active, inactive and apps — page by page (a plain array each, at
   * most 1000); emails only where profiles show them.
   */
  async *allUsers(): AsyncGenerator<JiraUser> {
    const max = 1000;
    for (let startAt = 0; ; startAt += max) {
      const page = await this.call<JiraUser[]>('jwt', {
        method: 'GET',
        path: '/rest/api/3/users/search',
        query: { startAt, maxResults: max },
      });
      yield* page;
      if (page.length < max) return;
    }
  }

  /** Structured user search, e.g. `[idpsync].connection is "c1"` over user properties. */
  searchUsersByQuery(query: string, startAt = 0, maxResults = 100): Promise<JiraPage<JiraUser>> {
    return this.call('jwt', {
      method: 'GET',
      path: '/rest/api/3/user/search/query',
      query: { query, startAt, maxResults },
    });
  }

  /** One user, or undefined when Jira does not know the account. */
  async getUser(accountId: string): Promise<JiraUser | undefined> {
    return this.call<JiraUser>('jwt', { method: 'GET', path: '/rest/api/3/user', query: { accountId } }, [404]);
  }

  /** Several users by account ID (one page; Jira allows up to 200 IDs a call). */
  bulkGetUsers(accountIds: string[], startAt = 0, maxResults = 200): Promise<JiraPage<JiraUser>> {
    return this.call('jwt', {
      method: 'GET',
      path: '/rest/api/3/user/bulk',
      query: { accountId: accountIds, startAt, maxResults },
    });
  }

  /** A user property's value, or undefined when it is not set. */
  async getUserProperty<T = unknown>(accountId: string, key: string): Promise<T | undefined> {
    const body = await this.call<{ value: T }>(
      'jwt',
      {
        method: 'GET',
        path: `/rest/api/3/user/properties/${encodeURIComponent(key)}`,
        template: '/rest/api/3/user/properties/{key}',
        query: { accountId },
      },
      [404],
    );
    return body?.value;
  }

  /** Sets a user property (custom attributes); any JSON up to 32 KB. */
  async setUserProperty(accountId: string, key: string, value: unknown): Promise<void> {
    await this.call('jwt', {
      method: 'PUT',
      path: `/rest/api/3/user/properties/${encodeURIComponent(key)}`,
      template: '/rest/api/3/user/properties/{key}',
      query: { accountId },
      body: value,
    });
  }

  /** One page of groups, optionally only those named or with the given IDs. */
  listGroups(
    opts: { groupName?: string[]; groupId?: string[]; startAt?: number; maxResults?: number } = {},
  ): Promise<JiraPage<JiraGroup>> {
    const { groupName, groupId, startAt = 0, maxResults = 50 } = opts;
    return this.call('jwt', {
      method: 'GET',
      path: '/rest/api/3/group/bulk',
      query: { groupName, groupId, startAt, maxResults },
    });
  }

  /** Every group of the site, page by page. */
  allGroups(filter: { groupName?: string[]; groupId?: string[] } = {}): AsyncGenerator<JiraGroup> {
    return pageThrough((startAt) => this.listGroups({ ...filter, startAt }));
  }

  /** One page (at most 50) of a group's members. */
  groupMembers(
    groupId: string,
    opts: { includeInactiveUsers?: boolean; startAt?: number; maxResults?: number } = {},
  ): Promise<JiraPage<JiraUser>> {
    const { includeInactiveUsers = true, startAt = 0 } = opts;
    const maxResults = Math.min(opts.maxResults ?? GROUP_MEMBER_PAGE, GROUP_MEMBER_PAGE);
    return this.call('jwt', {
      method: 'GET',
      path: '/rest/api/3/group/member',
      query: { groupId, includeInactiveUsers, startAt, maxResults },
    });
  }

  /** Every member of a group, page by page. */
  allGroupMembers(groupId: string, includeInactiveUsers = true): AsyncGenerator<JiraUser> {
    return pageThrough((startAt) => this.groupMembers(groupId, { includeInactiveUsers, startAt }));
  }

  /** One page of projects with their leads. */
  searchProjects(
    startAt = 0,
    maxResults = 50,
  ): Promise<JiraPage<{ id: string; key: string; lead?: { accountId: string } }>> {
    return this.call('jwt', {
      method: 'GET',
      path: '/rest/api/3/project/search',
      query: { expand: 'lead', startAt, maxResults },
    });
  }

  /** A project's components (with their leads). */
  projectComponents(
    projectIdOrKey: string,
  ): Promise<Array<{ id: string; name: string; lead?: { accountId: string } }>> {
    return this.call('jwt', {
      method: 'GET',
      path: `/rest/api/3/project/${encodeURIComponent(projectIdOrKey)}/components`,
      template: '/rest/api/3/project/{projectIdOrKey}/components',
    });
  }

  /** JSM service desks (one page). */
  listServiceDesks(
    start = 0,
    limit = 50,
  ): Promise<{ values: ServiceDesk[]; isLastPage: boolean; start: number; limit: number }> {
    return this.call('jwt', { method: 'GET', path: '/rest/servicedeskapi/servicedesk', query: { start, limit } });
  }

  /**
   * Creates a JSM customer account. An email that already has an account answers 409 (asked for
   * with `strictConflictStatusCode`, where JSM would otherwise say 400 as for any bad input).
   */
  createCustomer(email: string, displayName: string): Promise<JsmCustomer> {
    return this.call('jwt', {
      method: 'POST',
      path: '/rest/servicedeskapi/customer',
      query: { strictConflictStatusCode: 'true' },
      body: { email, displayName },
    });
  }

  /** JSM organizations (one page). */
  listJsmOrganizations(
    start = 0,
    limit = 50,
  ): Promise<{ values: JsmOrganization[]; isLastPage: boolean; start: number; limit: number }> {
    return this.call('jwt', { method: 'GET', path: '/rest/servicedeskapi/organization', query: { start, limit } });
  }

  /** One page of a JSM organization's members. */
  organizationUsers(
    organizationId: string,
    start = 0,
    limit = 50,
  ): Promise<{ values: JsmCustomer[]; isLastPage: boolean; start: number; limit: number }> {
    return this.call('jwt', {
      method: 'GET',
      path: `/rest/servicedeskapi/organization/${encodeURIComponent(organizationId)}/user`,
      template: '/rest/servicedeskapi/organization/{organizationId}/user',
      query: { start, limit },
    });
  }

  /** Adds accounts to a JSM organization. */
  async addToOrganization(organizationId: string, accountIds: string[]): Promise<void> {
    await this.call('token-or-jwt', {
      method: 'POST',
      path: `/rest/servicedeskapi/organization/${encodeURIComponent(organizationId)}/user`,
      template: '/rest/servicedeskapi/organization/{organizationId}/user',
      body: { accountIds },
    });
  }

  /** Removes accounts from a JSM organization (the app has no DELETE scope: the site-admin token). */
  async removeFromOrganization(organizationId: string, accountIds: string[]): Promise<void> {
    await this.call('token', {
      method: 'DELETE',
      path: `/rest/servicedeskapi/organization/${encodeURIComponent(organizationId)}/user`,
      template: '/rest/servicedeskapi/organization/{organizationId}/user',
      body: { accountIds },
    });
  }

  // --- user and group writes: closed to Connect apps, site-admin token ------------------------

  /** Creates (or, when the email already has Jira access, returns) a user with the given products. */
  createUser(emailAddress: string, products: JiraProduct[]): Promise<JiraUser> {
    return this.call('token', { method: 'POST', path: '/rest/api/3/user', body: { emailAddress, products } });
  }

  /** Removes a user from the site (the Atlassian account itself survives). */
  async deleteUser(accountId: string): Promise<void> {
    await this.call('token', { method: 'DELETE', path: '/rest/api/3/user', query: { accountId } });
  }

  /** Creates a group. */
  createGroup(name: string): Promise<JiraGroup> {
    return this.call('token', { method: 'POST', path: '/rest/api/3/group', body: { name } });
  }

  /** Deletes a group, optionally moving its restrictions to another. */
  async deleteGroup(groupId: string, swapGroupId?: string): Promise<void> {
    await this.call('token', { method: 'DELETE', path: '/rest/api/3/group', query: { groupId, swapGroupId } });
  }

  /** Adds a user to a group. Jira answers 400 when they are a member already (see isAlreadyMember). */
  async addUserToGroup(groupId: string, accountId: string): Promise<void> {
    await this.call('token', {
      method: 'POST',
      path: '/rest/api/3/group/user',
      query: { groupId },
      body: { accountId },
    });
  }

  /** Removes a user from a group. */
  async removeUserFromGroup(groupId: string, accountId: string): Promise<void> {
    await this.call('token', { method: 'DELETE', path: '/rest/api/3/group/user', query: { groupId, accountId } });
  }

  /** Makes someone else the lead of a project (before its lead is deprovisioned). */
  async setProjectLead(projectIdOrKey: string, leadAccountId: string): Promise<void> {
    await this.call('token-or-jwt', {
      method: 'PUT',
      path: `/rest/api/3/project/${encodeURIComponent(projectIdOrKey)}`,
      template: '/rest/api/3/project/{projectIdOrKey}',
      body: { leadAccountId },
    });
  }

  /** Makes someone else the lead of a component. */
  async setComponentLead(componentId: string, leadAccountId: string): Promise<void> {
    await this.call('token-or-jwt', {
      method: 'PUT',
      path: `/rest/api/3/component/${encodeURIComponent(componentId)}`,
      template: '/rest/api/3/component/{id}',
      body: { leadAccountId },
    });
  }

  /** Grants customers access to a service desk's portal (the app's JWT, WRITE, or the site-admin token). */
  async addCustomersToServiceDesk(serviceDeskId: string, accountIds: string[]): Promise<void> {
    await this.call('token-or-jwt', {
      method: 'POST',
      path: `/rest/servicedeskapi/servicedesk/${encodeURIComponent(serviceDeskId)}/customer`,
      template: '/rest/servicedeskapi/servicedesk/{serviceDeskId}/customer',
      body: { accountIds },
    });
  }

  /** Withdraws customers' portal access (an experimental JSM API: not processed without the opt-in header). */
  async removeCustomersFromServiceDesk(serviceDeskId: string, accountIds: string[]): Promise<void> {
    await this.call('token', {
      method: 'DELETE',
      path: `/rest/servicedeskapi/servicedesk/${encodeURIComponent(serviceDeskId)}/customer`,
      template: '/rest/servicedeskapi/servicedesk/{serviceDeskId}/customer',
      headers: EXPERIMENTAL,
      body: { accountIds },
    });
  }

  /** One page of the customers with access to a service desk's portal (experimental, like the removal). */
  serviceDeskCustomers(
    serviceDeskId: string,
    start = 0,
    limit = 50,
  ): Promise<{ values: JsmCustomer[]; isLastPage: boolean; start: number; limit: number }> {
    return this.call('jwt', {
      method: 'GET',
      path: `/rest/servicedeskapi/servicedesk/${encodeURIComponent(serviceDeskId)}/customer`,
      template: '/rest/servicedeskapi/servicedesk/{serviceDeskId}/customer',
      headers: EXPERIMENTAL,
      query: { start, limit },
    });
  }

  // --- managed accounts: organization API key -----------------------------------------------

  /** Deactivates a managed Atlassian account. */
  async disableAccount(accountId: string, message?: string): Promise<void> {
    await this.call('org', {
      method: 'POST',
      path: `/users/${encodeURIComponent(accountId)}/manage/lifecycle/disable`,
      template: '/users/{accountId}/manage/lifecycle/disable',
      body: message ? { message } : {},
    });
  }

  /** Reactivates a managed Atlassian account. */
  async enableAccount(accountId: string): Promise<void> {
    await this.call('org', {
      method: 'POST',
      path: `/users/${encodeURIComponent(accountId)}/manage/lifecycle/enable`,
      template: '/users/{accountId}/manage/lifecycle/enable',
    });
  }

  /** The organization the org API key belongs to (verifies the key when it is saved). */
  /** The organizations the org API key sees, following the cursor (`links.next`). */
  async listOrganizations(): Promise<Array<{ id: string; name: string }>> {
    const out: Array<{ id: string; name: string }> = [];
    let cursor: string | undefined;
    for (let page = 0; page < 20; page++) {
      const body = await this.call<{
        data?: Array<{ id: string; attributes?: { name?: string } }>;
        links?: { next?: string | null };
      }>('org', { method: 'GET', path: '/admin/v1/orgs', query: cursor ? { cursor } : undefined });
      for (const o of body.data ?? []) out.push({ id: o.id, name: o.attributes?.name ?? o.id });
      const next = body.links?.next;
      if (!next) break;
      cursor = next.includes('cursor=') ? (new URL(next, 'https://x').searchParams.get('cursor') ?? next) : next;
    }
    return out;
  }

  getOrganization(orgId: string): Promise<{ data: { id: string; attributes?: { name?: string } } }> {
    return this.call('org', {
      method: 'GET',
      path: `/admin/v1/orgs/${encodeURIComponent(orgId)}`,
      template: '/admin/v1/orgs/{orgId}',
    });
  }

  /**
   * The organization's accounts with exactly this email, whatever their profiles show (Jira's own
   * search leaves hidden emails out) — or undefined when no org key (and org id) is stored.
   */
  async orgAccountsByEmail(
    email: string,
  ): Promise<Array<{ accountId: string; email?: string; claimStatus?: string; accountStatus?: string }> | undefined> {
    const org = await this.o.orgKey();
    if (!org?.orgId) return undefined;
    const body = await this.call<{
      data?: Array<{ accountId?: string; email?: string; claimStatus?: string; accountStatus?: string }>;
    }>('org', {
      method: 'POST',
      path: `/admin/v2/orgs/${encodeURIComponent(org.orgId)}/directories/-/users/search`,
      template: '/admin/v2/orgs/{orgId}/directories/{directoryId}/users/search',
      body: { emails: [email], limit: 10 },
    });
    return (body.data ?? []).flatMap((u) => (u.accountId ? [{ ...u, accountId: u.accountId }] : []));
  }

  /** Updates a managed account's profile (display name, job title, …). */
  async updateManagedProfile(
    accountId: string,
    fields: { name?: string; nickname?: string; extended_profile?: Record<string, string> },
  ): Promise<void> {
    await this.call('org', {
      method: 'PATCH',
      path: `/users/${encodeURIComponent(accountId)}/manage/profile`,
      template: '/users/{accountId}/manage/profile',
      body: fields,
    });
  }

  // --- the one path every call takes --------------------------------------------------------

  private async call<T>(auth: Auth, req: JiraRequest): Promise<T>;
  private async call<T>(auth: Auth, req: JiraRequest, absentOn: number[]): Promise<T | undefined>;
  private async call<T>(auth: Auth, req: JiraRequest, absentOn: number[] = []): Promise<T | undefined> {
    const transport = await this.transportFor(auth, req);
    const { clientKey, limiter, policy, clock } = this.o;
    const kind: CallKind = {
      endpoint: `${req.method} ${req.template ?? req.path}`,
      traffic: transport.auth === 'jwt' || transport.auth === 'forge' ? 'app' : transport.auth,
    };
    return withRetry(
      () =>
        limiter.run(clientKey, kind, async () => {
          const res = await transport.send(req);
          if (res.headers['x-ratelimit-nearlimit'] === 'true') limiter.nearLimit(clientKey, kind);
          if (res.status < 400) return res.body as T;
          if (absentOn.includes(res.status)) return undefined;
          const retryAfterMs = isRetryableStatus(res.status) ? parseRetryAfter(res.headers, clock.now()) : undefined;
          if (res.status === 429)
            limiter.rejected(clientKey, kind, { retryAfterMs, reason: res.headers['ratelimit-reason'] });
          const { errorMessages, errors } = describeJiraBody(res.body);
          const said = [...errorMessages, ...Object.entries(errors).map(([k, v]) => `${k}: ${v}`)].join('; ');
          throw new JiraError(
            `Jira answered ${res.status} to ${req.method} ${req.path}${said ? `: ${said}` : ''}`,
            'http',
            isRetryableStatus(res.status),
            {
              status: res.status,
              method: req.method,
              path: req.path,
              retryAfterMs,
              errorMessages,
              errors,
            },
          );
        }),
      policy,
      clock,
      this.o.onRetry,
    );
  }

  private async transportFor(auth: Auth, req: JiraRequest): Promise<Transport> {
    if (auth === 'jwt')
      return (await this.o.app()) ?? Promise.reject(needsCredential('app-token', req.method, req.path));
    if (auth === 'org')
      return (await this.o.orgKey()) ?? Promise.reject(needsCredential('org-api-key', req.method, req.path));
    const token = await this.o.siteToken();
    if (token) return token;
    if (auth === 'token-or-jwt')
      return (await this.o.app()) ?? Promise.reject(needsCredential('app-token', req.method, req.path));
    throw needsCredential('site-admin-token', req.method, req.path);
  }
}

/** True for Jira's answer to adding a user who is already in the group (success for an idempotent add). */
export function isAlreadyMember(err: unknown): boolean {
  return (
    err instanceof JiraError &&
    err.status === 400 &&
    (err.details.errorMessages ?? []).some((m) => /already a member/i.test(m))
  );
}
