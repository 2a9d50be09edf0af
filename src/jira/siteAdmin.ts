import { EXPERIMENTAL } from './calls';
import { OrgAdminCalls } from './orgAdmin';
import type { JiraGroup, JiraProduct, JiraUser, JsmCustomer } from './types';

/** The writes: users, groups and leads (closed to Connect apps: the site-admin token), and a service desk's customers. */
export class SiteAdminCalls extends OrgAdminCalls {
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
}
