import type { Route } from './routes';
import { obj, ok } from './routes';
import { jsmRoutes } from './routesJsm';

/** Jira Service Management (routesJsm.ts) and the organization admin API (org API key) routes of the fake. */
export const serviceDeskAndOrgRoutes: Route[] = [
  ...jsmRoutes,
  {
    method: 'GET',
    pattern: /^\/admin\/v1\/orgs$/,
    access: 'org',
    handle: ({ state }) =>
      ok({ data: state.orgs.map((o) => ({ id: o.id, type: 'orgs', attributes: { name: o.name } })), links: {} }),
  },
  {
    method: 'GET',
    pattern: /^\/admin\/v1\/orgs\/([^/]+)$/,
    access: 'org',
    handle: ({ state, params }) => {
      const org = state.orgs.find((o) => o.id === decodeURIComponent(params[0]));
      return org
        ? ok({ data: { id: org.id, type: 'orgs', attributes: { name: org.name } } })
        : { status: 404, body: { errors: [{ status: '404', title: 'Not Found', detail: 'No such organization.' }] } };
    },
  },
  ...(['disable', 'enable'] as const).map((action): Route => ({
    method: 'POST',
    pattern: new RegExp(`^/users/([^/]+)/manage/lifecycle/${action}$`),
    access: 'org',
    handle: ({ state, params }) => {
      const account = state.managedAccounts.get(decodeURIComponent(params[0]));
      if (!account)
        return { status: 404, body: { code: 404, message: 'The account is not managed by this organization.' } };
      account.active = action === 'enable';
      const user = state.users.get(decodeURIComponent(params[0]));
      if (user) user.active = account.active;
      return ok(undefined, 204);
    },
  })),
  {
    // Search for users in an organization: `emails` match exactly whatever the profile shows; `-` is every directory.
    method: 'POST',
    pattern: /^\/admin\/v2\/orgs\/([^/]+)\/directories\/([^/]+)\/users\/search$/,
    access: 'org',
    handle: ({ state, params, body }) => {
      if (!state.orgs.some((o) => o.id === decodeURIComponent(params[0])))
        return {
          status: 404,
          body: { errors: [{ status: '404', title: 'Not Found', detail: 'No such organization.' }] },
        };
      const b = obj(body);
      if (b.emails !== undefined && b.searchTerm !== undefined)
        return orgError(400, 'searchTerm and emails are mutually exclusive.');
      if (b.emails !== undefined && (!Array.isArray(b.emails) || b.emails.some((e) => typeof e !== 'string')))
        return orgError(400, 'emails must be an array of strings.');
      const limit = b.limit === undefined ? 100 : Number(b.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 100) return orgError(400, 'limit must be 1 to 100.');
      const emails = new Set(((b.emails as string[] | undefined) ?? []).map((e) => e.toLowerCase()));
      const term = typeof b.searchTerm === 'string' ? b.searchTerm.toLowerCase() : undefined;
      const data = [...state.users.values()]
        .filter((u) => u.accountType === 'atlassian')
        .filter((u) => (emails.size ? emails.has(u.emailAddress.toLowerCase()) : true))
        .filter((u) => (term ? `${u.displayName} ${u.emailAddress}`.toLowerCase().includes(term) : true))
        .slice(0, limit)
        .map((u) => ({
          accountId: u.accountId,
          accountType: u.accountType,
          accountStatus: u.active ? 'active' : 'inactive',
          name: u.displayName,
          email: u.emailAddress,
          claimStatus: state.managedAccounts.has(u.accountId) ? 'managed' : 'unmanaged',
        }));
      return ok({ data, links: {} });
    },
  },
  {
    // Managed accounts only; `name`, `nickname`, `zoneinfo`, `locale` and `extended_profile`; answers `{"account": …}`.
    method: 'PATCH',
    pattern: /^\/users\/([^/]+)\/manage\/profile$/,
    access: 'org',
    handle: ({ state, params, body }) => {
      const accountId = decodeURIComponent(params[0]);
      const account = state.managedAccounts.get(accountId);
      if (!account)
        return { status: 404, body: { code: 404, message: 'The account is not managed by this organization.' } };
      const b = obj(body);
      const unknown = Object.keys(b).filter((k) => !PROFILE_FIELDS.includes(k));
      const extended = b.extended_profile === undefined ? {} : obj(b.extended_profile);
      unknown.push(
        ...Object.keys(extended)
          .filter((k) => !EXTENDED_FIELDS.includes(k))
          .map((k) => `extended_profile.${k}`),
      );
      if (unknown.length) return orgError(400, `Unknown profile field(s): ${unknown.join(', ')}`);
      const values = [
        ...PROFILE_FIELDS.filter((k) => k !== 'extended_profile').map((k) => b[k]),
        ...Object.values(extended),
      ];
      if (values.some((v) => v !== undefined && typeof v !== 'string'))
        return orgError(400, 'Profile fields are strings.');
      const { extended_profile: _e, ...top } = b as Record<string, string>;
      Object.assign(account.profile, top);
      account.extended = { ...account.extended, ...(extended as Record<string, string>) };
      const user = state.users.get(accountId);
      if (user && typeof b.name === 'string') user.displayName = b.name;
      return ok({ account: { account_id: accountId, ...account.profile, extended_profile: account.extended ?? {} } });
    },
  },
];

const PROFILE_FIELDS = ['name', 'nickname', 'zoneinfo', 'locale', 'extended_profile'];
const EXTENDED_FIELDS = ['job_title', 'department', 'organization', 'location'];
const orgError = (status: number, detail: string) => ({
  status,
  body: { errors: [{ status: String(status), title: status === 400 ? 'Bad Request' : 'Error', detail }] },
});
