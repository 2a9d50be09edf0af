/** A Jira user as the REST API returns it (email may be hidden by the user's privacy settings). */
export interface JiraUser {
  accountId: string;
  accountType?: string;
  emailAddress?: string;
  displayName?: string;
  active: boolean;
}

/** A Jira group; always addressed by groupId, since names can change. */
export interface JiraGroup {
  groupId: string;
  name: string;
}

/** Jira's offset page (`group/bulk`, `group/member`, `user/bulk`, `user/search/query`). */
export interface JiraPage<T> {
  startAt: number;
  maxResults: number;
  total?: number;
  isLast: boolean;
  values: T[];
}

/** Products a user can be given on create. `[]` means no product access. */
export const JIRA_PRODUCTS = ['jira-software', 'jira-servicedesk', 'jira-core', 'jira-product-discovery'] as const;
export type JiraProduct = (typeof JIRA_PRODUCTS)[number];

/** A JSM customer created by the add-on. */
export interface JsmCustomer {
  accountId: string;
  emailAddress?: string;
  displayName?: string;
  active?: boolean;
}

/** A JSM organization (a set of customers who share their requests). */
export interface JsmOrganization {
  id: string;
  name: string;
}

/** A JSM service desk (project) for portal access mapping. */
export interface ServiceDesk {
  id: string;
  projectId: string;
  projectKey: string;
  projectName: string;
}
