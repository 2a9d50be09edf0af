import type { Reply, Route, RouteContext } from './routes';
import { bad, obj, ok } from './routes';
import { userJson, type FakeJiraState } from './state';

/**
 * Jira Service Management's REST API as the fake serves it, after Atlassian's reference: JSM's own
 * pages (`start`, `limit`, `size`, `isLastPage`, `values`), the experimental calls not processed
 * without `X-ExperimentalApi: opt-in`, 409 for a customer whose email has an account when
 * `strictConflictStatusCode` is asked for (400 otherwise), 400 for removing customers from a desk
 * with open access, 404 for an unknown desk or organization, 400 for unknown accounts.
 */
const optedIn = (headers: Record<string, string | string[] | undefined>) =>
  String(headers['x-experimentalapi'] ?? '').toLowerCase() === 'opt-in';
/** An experimental JSM call without the opt-in header is not processed (the status is the fake's choice: 412). */
const notOptedIn = () =>
  bad(['This API is experimental. Send the header X-ExperimentalApi: opt-in to use it.'], {}, 412);

/** A JSM page of a list: `start`, `limit` (at most 50 by default, 100 at most), `size`, `isLastPage`, `values`. */
function jsmPage<T>(all: T[], query: URLSearchParams) {
  const start = Math.max(0, Number(query.get('start') ?? 0) || 0);
  const limit = Math.min(100, Math.max(1, Number(query.get('limit') ?? 50) || 50));
  const values = all.slice(start, start + limit);
  return ok({ size: values.length, start, limit, isLastPage: start + values.length >= all.length, values });
}

/** The body's `accountIds`: a non-empty array of known accounts, or JSM's 400. */
function accountIdsOf(body: unknown, state: FakeJiraState): string[] | Reply {
  const ids = obj(body).accountIds;
  if (!Array.isArray(ids) || ids.length === 0 || ids.some((id) => typeof id !== 'string'))
    return bad(['accountIds must be a non-empty list of account IDs.']);
  const unknown = (ids as string[]).filter((id) => !state.users.has(id));
  if (unknown.length > 0) return bad([`These accounts do not exist: ${unknown.join(', ')}`]);
  return ids as string[];
}

const desk = ({ state, params }: RouteContext) => state.serviceDesks.get(decodeURIComponent(params[0]));
const org = ({ state, params }: RouteContext) => state.organizations.get(decodeURIComponent(params[0]));
const noDesk = () => bad(['The service desk does not exist.'], {}, 404);
const noOrg = () => bad(['The organization does not exist.'], {}, 404);

export const jsmRoutes: Route[] = [
  {
    method: 'GET',
    pattern: /^\/rest\/servicedeskapi\/servicedesk$/,
    access: 'read',
    handle: ({ state, query }) =>
      jsmPage(
        [...state.serviceDesks.values()].map(({ customers: _c, openAccess: _o, ...d }) => d),
        query,
      ),
  },
  {
    // Jira administrators (or the app, with its ADMIN scope) create customers.
    method: 'POST',
    pattern: /^\/rest\/servicedeskapi\/customer$/,
    access: 'app-or-administer',
    handle: ({ state, body, query }) => {
      const b = obj(body);
      if (typeof b.email !== 'string' || !/^[^@\s]+@[^@\s]+$/.test(b.email))
        return bad(['An email address is required.']);
      if (b.displayName !== undefined && typeof b.displayName !== 'string')
        return bad(['displayName must be a string.']);
      if (state.userByEmail(b.email))
        return bad(
          ['An account already exists for this email.'],
          {},
          query.get('strictConflictStatusCode') === 'true' ? 409 : 400,
        );
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
  // A desk's customers: listing and removing are experimental (not processed without the opt-in
  // header); removing is closed to Connect apps; a desk open to everyone keeps no list to remove from.
  ...accountListRoutes(/^\/rest\/servicedeskapi\/servicedesk\/([^/]+)\/customer$/, {
    find: (ctx) => desk(ctx)?.customers ?? noDesk(),
    experimental: true,
    beforeRemove: (ctx) =>
      desk(ctx)?.openAccess
        ? bad([
            'Customers cannot be removed from a service project that anyone can access (open access or public signup).',
          ])
        : undefined,
  }),
  {
    method: 'GET',
    pattern: /^\/rest\/servicedeskapi\/organization$/,
    access: 'read',
    handle: ({ state, query }) =>
      jsmPage(
        [...state.organizations.values()].map(({ members: _m, ...o }) => o),
        query,
      ),
  },
  // An organization's members: the app's JWT (WRITE) or an agent's token adds; removing needs the
  // DELETE scope this app does not ask for.
  ...accountListRoutes(/^\/rest\/servicedeskapi\/organization\/([^/]+)\/user$/, {
    find: (ctx) => org(ctx)?.members ?? noOrg(),
    experimental: false,
  }),
];

/**
 * A list of accounts as JSM keeps them (a desk's customers, an organization's members): GET a page
 * of them, POST `accountIds` to add (the app's JWT or a Jira administrator's token), DELETE to
 * remove (a token only).
 */
function accountListRoutes(
  pattern: RegExp,
  o: {
    find: (ctx: RouteContext) => Set<string> | Reply;
    experimental: boolean;
    beforeRemove?: (ctx: RouteContext) => Reply | undefined;
  },
): Route[] {
  const change = (method: 'POST' | 'DELETE'): Route => ({
    method,
    pattern,
    access: method === 'POST' ? 'app-or-administer' : 'administer',
    handle: (ctx) => {
      if (method === 'DELETE' && o.experimental && !optedIn(ctx.headers)) return notOptedIn();
      const set = o.find(ctx);
      if (!(set instanceof Set)) return set;
      const refused = method === 'DELETE' ? o.beforeRemove?.(ctx) : undefined;
      if (refused) return refused;
      const ids = accountIdsOf(ctx.body, ctx.state);
      if (!Array.isArray(ids)) return ids;
      for (const id of ids)
        if (method === 'POST') set.add(id);
        else set.delete(id);
      return ok(undefined, 204);
    },
  });
  return [
    {
      method: 'GET',
      pattern,
      access: 'read',
      handle: (ctx) => {
        if (o.experimental && !optedIn(ctx.headers)) return notOptedIn();
        const set = o.find(ctx);
        if (!(set instanceof Set)) return set;
        const all = [...set].map((id) => ctx.state.users.get(id)).filter((u) => u !== undefined);
        return jsmPage(
          all.map((u) => userJson(ctx.base, u)),
          ctx.query,
        );
      },
    },
    change('POST'),
    change('DELETE'),
  ];
}
