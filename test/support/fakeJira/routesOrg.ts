import type { Route } from './routes';
import { bad, obj, ok } from './routes';

/** Jira Service Management and the organization admin API (org API key) routes of the fake. */
export const serviceDeskAndOrgRoutes: Route[] = [
  {
    method: 'GET',
    pattern: /^\/rest\/servicedeskapi\/servicedesk$/,
    access: 'read',
    handle: ({ state, query }) => {
      const all = [...state.serviceDesks.values()].map(({ customers: _c, ...d }) => d);
      const start = Number(query.get('start') ?? 0) || 0;
      const limit = Math.min(100, Number(query.get('limit') ?? 50) || 50);
      const values = all.slice(start, start + limit);
      return ok({ size: values.length, start, limit, isLastPage: start + values.length >= all.length, values });
    },
  },
  {
    method: 'POST',
    pattern: /^\/rest\/servicedeskapi\/customer$/,
    access: 'read',
    handle: ({ state, body }) => {
      const b = obj(body);
      if (typeof b.email !== 'string' || !b.email.includes('@')) return bad(['An email address is required.']);
      if (state.userByEmail(b.email)) return bad([`An account already exists for this email.`]);
      const u = state.addUser({
        emailAddress: b.email,
        displayName: typeof b.displayName === 'string' ? b.displayName : undefined,
        accountType: 'customer',
        products: [],
      });
      return ok(
        { accountId: u.accountId, emailAddress: u.emailAddress, displayName: u.displayName, active: true },
        201,
      );
    },
  },
  ...(['POST', 'DELETE'] as const).map((method): Route => ({
    method,
    pattern: /^\/rest\/servicedeskapi\/servicedesk\/([^/]+)\/customer$/,
    access: 'administer',
    handle: ({ state, params, body }) => {
      const desk = state.serviceDesks.get(decodeURIComponent(params[0]));
      if (!desk) return bad(['The service desk does not exist.'], {}, 404);
      const ids = obj(body).accountIds;
      if (!Array.isArray(ids)) return bad(['accountIds is required.']);
      for (const id of ids as string[]) {
        if (method === 'POST') desk.customers.add(id);
        else desk.customers.delete(id);
      }
      return ok(undefined, 204);
    },
  })),
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
    method: 'PATCH',
    pattern: /^\/users\/([^/]+)\/manage\/profile$/,
    access: 'org',
    handle: ({ state, params, body }) => {
      const account = state.managedAccounts.get(decodeURIComponent(params[0]));
      if (!account)
        return { status: 404, body: { code: 404, message: 'The account is not managed by this organization.' } };
      Object.assign(account.profile, obj(body));
      return ok({ account_id: params[0], ...account.profile });
    },
  },
];
