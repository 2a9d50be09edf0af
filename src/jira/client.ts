import crypto from 'node:crypto';
import { JiraError } from './errors';
import { pageThrough } from './paging';
import { SiteAdminCalls } from './siteAdmin';
import type { JiraGroup, JiraPage, JiraUser, JsmCustomer, JsmOrganization, ServiceDesk } from './types';

export type { JiraClientOptions } from './calls';
export { isAlreadyMember } from './calls';

const GROUP_MEMBER_PAGE = 50; // Jira's maximum for group/member

/**
 * Jira Cloud for one tenant: a typed function per REST call the product uses, each sent with the
 * credential Jira requires for it (see docs/jira.md), through the tenant's limiter and the retry policy:
 * the reads and the app's own calls here; the writes that need the site-admin token in siteAdmin.ts,
 * the organization API key's in orgAdmin.ts, the one path every call takes in calls.ts.
 */
export class JiraClient extends SiteAdminCalls {
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
}
