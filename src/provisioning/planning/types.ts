import type { DeprovisionMode } from '../rules';

/** Operations run phase by phase: groups exist before users join them; leads move before deprovisioning. */
export const PHASES = {
  createGroup: 1,
  ensureUser: 2,
  reactivate: 2,
  setProperty: 3,
  updateProfile: 3,
  addMember: 4,
  removeMember: 4,
  reassignLeads: 5,
  deprovision: 6,
  ensureCustomer: 2,
  grantAccess: 4,
  revokeAccess: 4,
} as const satisfies Record<Operation['kind'], number>;

/** Where a JSM customer is given access: a service desk's portal, or an organization's membership. */
export type CustomerTarget = 'desk' | 'org';

/** One change the executor applies to Jira. Users are named by their directory id; the link gives the account. */
export type Operation =
  | { kind: 'createGroup'; name: string }
  | {
      kind: 'ensureUser';
      userId: string;
      email: string;
      displayName: string | null;
      products: string[];
      create: boolean;
      /** Product-access groups that give `products`: where an existing account without Jira access is linked, it joins them. */
      accessGroups?: string[];
      /**
       * What the site's account list (read by a full reconciliation) said of the email: the account
       * to link (no call), or none visible — then `hidden` says whether some accounts hide their
       * emails (the account may be one of them; creating first finds it all the same). Undefined:
       * not read (create first, or search first when user import is off).
       */
      site?: { accountId?: string; hidden: boolean };
    }
  | { kind: 'reactivate'; userId: string; accountId: string; enable: boolean; regroup: string[] }
  | { kind: 'setProperty'; userId: string; key: string; value: unknown }
  | { kind: 'updateProfile'; userId: string; profile: Profile }
  | { kind: 'addMember'; userId: string; groupName: string; groupId?: string }
  | { kind: 'removeMember'; userId: string | null; accountId: string; groupId: string; groupName: string }
  | {
      kind: 'reassignLeads';
      userId: string;
      accountId: string;
      projectLead: string | null;
      componentLead: string | null;
    }
  | {
      kind: 'deprovision';
      userId: string;
      accountId: string;
      mode: Exclude<DeprovisionMode, 'none'>;
      removedGroups: string[];
    }
  /** A JSM customer for the IdP user: linked to the account the email has, or created (`create`). */
  | { kind: 'ensureCustomer'; userId: string; email: string; displayName: string | null; create: boolean }
  /** Portal access to a service desk, or membership of an organization, for these IdP users (their linked accounts), in one call. */
  | { kind: 'grantAccess'; target: CustomerTarget; targetId: string; userIds: string[] }
  /** The same withdrawn from these accounts, in one call. */
  | { kind: 'revokeAccess'; target: CustomerTarget; targetId: string; accountIds: string[] };

/** A managed account's profile as the organization API takes it (`PATCH /users/{id}/manage/profile`). */
export interface Profile {
  name?: string;
  extended_profile?: { job_title?: string; department?: string };
}

/** Where a link keeps the profile last written (not a property key: those have no "@"). */
export const PROFILE_KEY = '@profile';

/** An operation with why it is needed (shown in dry runs and the history). */
export interface PlannedOperation {
  op: Operation;
  phase: number;
  /** A stable name of what the operation is about, e.g. `user:<id>` or `group:<name>`. */
  subject: string;
  reason: string;
}

/** The planner's output: the operations in order, and what it could not do (with why). */
export interface Plan {
  operations: PlannedOperation[];
  warnings: string[];
}

/** A directory user as the planner sees it. */
export interface PlannedUser {
  id: string;
  resource: Record<string, unknown>;
  active: boolean;
  /** Display names of the IdP groups the user is in. */
  groups: string[];
}

/** What this connection knows of a user's Jira account. */
export interface Link {
  accountId: string;
  deprovisioned: boolean;
  /** Custom attribute values last written, by property key. */
  properties: Record<string, unknown>;
  /** Product groups removed when the user was deprovisioned (re-added when it comes back). */
  removedGroups: string[];
}

/** What the planner knows of Jira: groups by name, and members of the groups it read. */
export interface JiraState {
  /** lower-case name → group */
  groups: Map<string, { groupId: string; name: string }>;
  /** groupId → account IDs; only for groups whose members were read */
  members: Map<string, Set<string>>;
  /** The site's accounts, when a full reconciliation read them: by lower-case visible email, and how many hide theirs. */
  accounts?: { byEmail: Map<string, string[]>; hidden: number };
}

export interface PlanInput {
  importUsers: boolean;
  importGroups: boolean;
  rules: import('../rules').Rules;
  users: PlannedUser[];
  /** Every IdP group of the connection (its mapped Jira groups are the groups it manages). */
  allIdpGroups: string[];
  /** Users the IdP no longer has (deleted), by directory id, with their links. */
  departed: string[];
  links: Map<string, Link>;
  jira: JiraState;
  /** `accountId|groupId` memberships this connection added. */
  managed: Set<string>;
  /** `accountId|groupId` memberships other connections added. */
  managedByOthers: Set<string>;
  /**
   * Mirror mode's sweep of Jira-only members out of managed groups: undefined (a full plan: every
   * link is in `links`), false (none: a plan from changes that links nobody), or the accounts of
   * the managed groups' members that are linked (a plan from changes, whose `links` are a subset).
   */
  sweep?: false | { linked: Set<string> };
  /**
   * False when the Jira state is what the app knows rather than what Jira just said (a plan from
   * changes): Jira adds new users to its product-access groups itself, so deprovisioning by product
   * groups removes from each of them without knowing (an absent membership is harmless).
   */
  productGroupsKnown?: boolean;
  /** An organization API key is stored: managed accounts' profiles can be updated. */
  profiles?: boolean;
}
