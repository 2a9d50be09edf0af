import crypto from 'node:crypto';

export interface FakeUser {
  accountId: string;
  accountType: 'atlassian' | 'app' | 'customer';
  emailAddress: string;
  displayName: string;
  active: boolean;
  products: string[];
  /** The user's profile hides their email: answers leave `emailAddress` out (a search by the whole email still finds them). */
  emailHidden?: boolean;
}

export interface FakeGroup {
  groupId: string;
  name: string;
  members: Set<string>;
}

/** What a fake Jira site holds; tests read and arrange it directly. */
export class FakeJiraState {
  readonly users = new Map<string, FakeUser>();
  readonly groups = new Map<string, FakeGroup>();
  /** accountId → property key → value */
  readonly properties = new Map<string, Map<string, unknown>>();
  /** accountIds holding the ADMINISTER global permission (Administer Jira) */
  readonly administrators = new Set<string>();
  /** accountIds with the site-admin role: only they may write groups and delete users */
  readonly siteAdmins = new Set<string>();
  /** The Connect clientKey of the app on this site, once the Connect version was installed (Jira's reserved app property). */
  connectClientKey?: string;
  /** Users with product access the licence allows (undefined: no limit); POST /user beyond it is refused with 400 */
  userLimit?: number;
  /** The organizations the org API key sees (GET /admin/v1/orgs) */
  readonly orgs: Array<{ id: string; name: string }> = [{ id: 'org-1', name: 'Fake org' }];
  readonly projects = new Map<string, { id: string; key: string; name: string; leadAccountId: string }>();
  readonly components = new Map<string, { id: string; name: string; projectKey: string; leadAccountId?: string }>();
  /** JSM service desks; `openAccess`: anyone may use the portal (JSM then refuses to remove customers). */
  readonly serviceDesks = new Map<
    string,
    {
      id: string;
      projectId: string;
      projectKey: string;
      projectName: string;
      customers: Set<string>;
      openAccess?: boolean;
    }
  >();
  /** JSM organizations and their members (account IDs). */
  readonly organizations = new Map<string, { id: string; name: string; members: Set<string> }>();
  /** Accounts the organization manages (lifecycle and profile calls); accountId → active */
  readonly managedAccounts = new Map<
    string,
    { active: boolean; profile: Record<string, string>; extended?: Record<string, string> }
  >();

  /** lower-case email → accountId (kept in step by addUser; a lookup, not a scan, so the fake keeps up with big benchmarks). */
  private readonly emails = new Map<string, string>();

  addUser(fields: Partial<FakeUser> & { emailAddress: string }): FakeUser {
    const user: FakeUser = {
      accountId: fields.accountId ?? newAccountId(),
      accountType: fields.accountType ?? 'atlassian',
      emailAddress: fields.emailAddress,
      displayName: fields.displayName ?? fields.emailAddress.split('@')[0],
      active: fields.active ?? true,
      products: fields.products ?? ['jira-software'],
      ...(fields.emailHidden ? { emailHidden: true } : {}),
    };
    this.users.set(user.accountId, user);
    this.emails.set(user.emailAddress.toLowerCase(), user.accountId);
    return user;
  }

  addGroup(name: string, groupId: string = crypto.randomUUID()): FakeGroup {
    const group = { groupId, name, members: new Set<string>() };
    this.groups.set(groupId, group);
    return group;
  }

  userByEmail(email: string): FakeUser | undefined {
    const id = this.emails.get(email.toLowerCase());
    const user = id === undefined ? undefined : this.users.get(id);
    return user && user.emailAddress.toLowerCase() === email.toLowerCase() ? user : undefined;
  }

  /** A JSM service desk (its project key and name), with no customers yet; `openAccess`: anyone may use its portal. */
  addServiceDesk(id: string, projectKey: string, projectName = projectKey, openAccess = false): void {
    this.serviceDesks.set(id, { id, projectId: `100${id}`, projectKey, projectName, customers: new Set(), openAccess });
  }

  groupByName(name: string): FakeGroup | undefined {
    const n = name.toLowerCase();
    return [...this.groups.values()].find((g) => g.name.toLowerCase() === n);
  }

  /** The members of a group by name (for assertions); empty when there is no such group. */
  groupMembers(name: string): FakeUser[] {
    return [...(this.groupByName(name)?.members ?? [])].map((id) => this.users.get(id)!).filter(Boolean);
  }

  /** A user property's value (for assertions). */
  userProperty(accountId: string, key: string): unknown {
    return this.properties.get(accountId)?.get(key);
  }

  /** Group names a user belongs to (for assertions). */
  groupsOf(accountId: string): string[] {
    return [...this.groups.values()]
      .filter((g) => g.members.has(accountId))
      .map((g) => g.name)
      .sort();
  }
}

/** An Atlassian-style account ID. */
export function newAccountId(): string {
  return `712020:${crypto.randomUUID()}`;
}

/** Jira's user JSON. */
export function userJson(base: string, u: FakeUser) {
  return {
    self: `${base}/rest/api/3/user?accountId=${encodeURIComponent(u.accountId)}`,
    accountId: u.accountId,
    accountType: u.accountType,
    ...(u.emailHidden ? {} : { emailAddress: u.emailAddress }),
    displayName: u.displayName,
    active: u.active,
    timeZone: 'Etc/UTC',
    locale: 'en_US',
  };
}

/** Jira's offset page over a list: startAt, maxResults (capped), total, isLast, values. */
export function page<T>(all: T[], startAtRaw: unknown, maxRaw: unknown, defaultMax: number, cap: number) {
  const startAt = Math.max(0, Number(startAtRaw ?? 0) || 0);
  const maxResults = Math.min(cap, Math.max(1, Number(maxRaw ?? defaultMax) || defaultMax));
  const values = all.slice(startAt, startAt + maxResults);
  return { startAt, maxResults, total: all.length, isLast: startAt + values.length >= all.length, values };
}

/** Jira's error body. */
export function jiraError(errorMessages: string[], errors: Record<string, string> = {}) {
  return { errorMessages, errors };
}
