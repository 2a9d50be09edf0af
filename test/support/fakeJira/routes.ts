import type { Principal } from './auth';
import { serviceDeskAndOrgRoutes } from './routesOrg';
import { appRoutes } from './routesApp';
import { jiraError, page, userJson, type FakeJiraState } from './state';

/**
 * Who may call a route. Like Jira, user and group writes are closed to Connect apps; creating a user
 * needs Administer Jira, while group writes and deleting users need a site administrator.
 * `app-or-administer`: the app's own JWT (its scopes allow it), or a Jira administrator's token.
 * `anyone`: anonymous calls too (the route itself decides).
 */
export type Access = 'anyone' | 'read' | 'administer' | 'site-admin' | 'org' | 'app-or-administer';

export interface RouteContext {
  state: FakeJiraState;
  base: string;
  params: string[];
  query: URLSearchParams;
  body: unknown;
  principal: Principal;
  /** The request's headers (lower-case names). */
  headers: Record<string, string | string[] | undefined>;
}

export interface Reply {
  status: number;
  body?: unknown;
}

export interface Route {
  method: string;
  pattern: RegExp;
  access: Access;
  handle(ctx: RouteContext): Reply;
}

const PRODUCTS = ['jira-software', 'jira-servicedesk', 'jira-core', 'jira-product-discovery'];
const NO_USER = jiraError(['Specified user does not exist or you do not have required permissions']);
export const ok = (body?: unknown, status = 200): Reply => ({ status, body });
export const bad = (messages: string[], errors: Record<string, string> = {}, status = 400): Reply => ({
  status,
  body: jiraError(messages, errors),
});
export const obj = (b: unknown): Record<string, unknown> =>
  typeof b === 'object' && b !== null && !Array.isArray(b) ? (b as Record<string, unknown>) : {};

function findGroup(ctx: RouteContext) {
  const id = ctx.query.get('groupId');
  const name = ctx.query.get('groupname');
  if (id) return ctx.state.groups.get(id);
  return name ? ctx.state.groupByName(name) : undefined;
}

export const routes: Route[] = [
  {
    method: 'GET',
    pattern: /^\/rest\/api\/3\/myself$/,
    access: 'read',
    handle: ({ state, base, principal }) => {
      if (principal.kind === 'jwt' || principal.kind === 'forge')
        return ok({
          accountId: `addon-${principal.appKey}`,
          accountType: 'app',
          displayName: principal.appKey,
          active: true,
        });
      const u = principal.kind === 'token' ? state.users.get(principal.accountId) : undefined;
      return u ? ok(userJson(base, u)) : bad(['Unauthorized'], {}, 401);
    },
  },
  {
    method: 'POST',
    pattern: /^\/rest\/api\/3\/permissions\/check$/,
    access: 'read',
    handle: ({ state, body }) => {
      const b = obj(body);
      const wanted = Array.isArray(b.globalPermissions) ? (b.globalPermissions as string[]) : [];
      const accountId = typeof b.accountId === 'string' ? b.accountId : undefined;
      if (accountId && !state.users.has(accountId)) return bad([], { accountId: 'The user does not exist.' });
      const granted = wanted.filter(
        (p) => p === 'ADMINISTER' && accountId !== undefined && state.administrators.has(accountId),
      );
      return ok({ globalPermissions: granted, projectPermissions: [] });
    },
  },
  {
    method: 'GET',
    pattern: /^\/rest\/api\/3\/user\/search$/,
    access: 'read',
    handle: ({ state, base, query }) => {
      const q = (query.get('query') ?? '').toLowerCase();
      // A whole email address is, in practice, a prefix of itself only: answer it from the index.
      if (q.includes('@')) {
        const exact = state.userByEmail(q);
        return ok(exact?.active ? [userJson(base, exact)] : []);
      }
      const matches = [...state.users.values()].filter(
        (u) =>
          u.active &&
          (u.emailAddress.toLowerCase().startsWith(q) ||
            u.displayName
              .toLowerCase()
              .split(/\s+/)
              .some((w) => w.startsWith(q))),
      );
      return ok(
        page(matches, query.get('startAt'), query.get('maxResults'), 50, 1000).values.map((u) => userJson(base, u)),
      );
    },
  },
  {
    // Get all users: active, inactive and app users alike, a plain array (no page bean), at most 1000 a page.
    method: 'GET',
    pattern: /^\/rest\/api\/3\/users\/search$/,
    access: 'read',
    handle: ({ state, base, query }) => {
      const all = [...state.users.values()].sort((a, b) => a.accountId.localeCompare(b.accountId));
      return ok(
        page(all, query.get('startAt'), query.get('maxResults'), 50, 1000).values.map((u) => userJson(base, u)),
      );
    },
  },
  {
    method: 'GET',
    pattern: /^\/rest\/api\/3\/user\/search\/query$/,
    access: 'read',
    handle: ({ state, base, query }) => {
      const m = /^\[([^\]]+)\]\.(\S+) is "([^"]*)"$/.exec(query.get('query') ?? '');
      if (!m) return bad(['The fake Jira supports only queries of the form [key].path is "value".']);
      const [, key, path, value] = m;
      const matches = [...state.users.values()].filter((u) => {
        let v: unknown = state.properties.get(u.accountId)?.get(key);
        for (const part of path.split('.')) v = obj(v)[part];
        return v === value;
      });
      const p = page(matches, query.get('startAt'), query.get('maxResults'), 100, 100);
      return ok({ ...p, values: p.values.map((u) => userJson(base, u)) });
    },
  },
  {
    method: 'GET',
    pattern: /^\/rest\/api\/3\/user$/,
    access: 'read',
    handle: ({ state, base, query }) => {
      const u = state.users.get(query.get('accountId') ?? '');
      return u ? ok(userJson(base, u)) : { status: 404, body: NO_USER };
    },
  },
  {
    method: 'GET',
    pattern: /^\/rest\/api\/3\/user\/bulk$/,
    access: 'read',
    handle: ({ state, base, query }) => {
      const found = query
        .getAll('accountId')
        .map((id) => state.users.get(id))
        .filter((u) => u !== undefined);
      const p = page(found, query.get('startAt'), query.get('maxResults'), 10, 200);
      return ok({ ...p, values: p.values.map((u) => userJson(base, u)) });
    },
  },
  {
    method: 'GET',
    pattern: /^\/rest\/api\/3\/user\/properties\/([^/]+)$/,
    access: 'read',
    handle: ({ state, params, query }) => {
      const accountId = query.get('accountId') ?? '';
      if (!state.users.has(accountId)) return { status: 404, body: NO_USER };
      const key = decodeURIComponent(params[0]);
      const props = state.properties.get(accountId);
      return props?.has(key)
        ? ok({ key, value: props.get(key) })
        : bad([`The property with key '${key}' was not found.`], {}, 404);
    },
  },
  {
    method: 'PUT',
    pattern: /^\/rest\/api\/3\/user\/properties\/([^/]+)$/,
    access: 'read',
    handle: ({ state, params, query, body }) => {
      const accountId = query.get('accountId') ?? '';
      if (!state.users.has(accountId)) return { status: 404, body: NO_USER };
      if (JSON.stringify(body ?? null).length > 32768) return bad(['The property value exceeds 32768 bytes.']);
      const key = decodeURIComponent(params[0]);
      const props = state.properties.get(accountId) ?? new Map<string, unknown>();
      const existed = props.has(key);
      props.set(key, body);
      state.properties.set(accountId, props);
      return ok(undefined, existed ? 200 : 201);
    },
  },
  {
    method: 'GET',
    pattern: /^\/rest\/api\/3\/group\/bulk$/,
    access: 'read',
    handle: ({ state, query }) => {
      const names = query.getAll('groupName').map((n) => n.toLowerCase());
      const ids = query.getAll('groupId');
      const all = [...state.groups.values()]
        .filter(
          (g) =>
            (names.length === 0 && ids.length === 0) || names.includes(g.name.toLowerCase()) || ids.includes(g.groupId),
        )
        .sort((a, b) => a.name.localeCompare(b.name));
      const p = page(all, query.get('startAt'), query.get('maxResults'), 50, 50);
      return ok({ ...p, values: p.values.map((g) => ({ name: g.name, groupId: g.groupId })) });
    },
  },
  {
    method: 'GET',
    pattern: /^\/rest\/api\/3\/group\/member$/,
    access: 'read',
    handle: (ctx) => {
      const group = findGroup(ctx);
      if (!group) return bad(['Specified group does not exist.'], {}, 404);
      const inactive = ctx.query.get('includeInactiveUsers') === 'true';
      const members = [...group.members]
        .map((id) => ctx.state.users.get(id)!)
        .filter((u) => u && (inactive || u.active));
      members.sort((a, b) => a.accountId.localeCompare(b.accountId));
      const p = page(members, ctx.query.get('startAt'), ctx.query.get('maxResults'), 50, 50);
      return ok({ ...p, values: p.values.map((u) => userJson(ctx.base, u)) });
    },
  },
  {
    method: 'POST',
    pattern: /^\/rest\/api\/3\/user$/,
    access: 'administer',
    handle: ({ state, base, body }) => {
      const b = obj(body);
      if (typeof b.emailAddress !== 'string' || !b.emailAddress.includes('@'))
        return bad([], { emailAddress: 'You must specify a valid email address.' });
      if (!Array.isArray(b.products)) return bad([], { products: 'products is required.' });
      const unknown = (b.products as unknown[]).filter((p) => typeof p !== 'string' || !PRODUCTS.includes(p));
      if (unknown.length) return bad([], { products: `Unknown product(s): ${unknown.join(', ')}` });
      const existing = state.userByEmail(b.emailAddress);
      // An existing account: returned (201) when it has Jira access, refused (400) when it has none.
      if (existing)
        return existing.products.length > 0
          ? ok(userJson(base, existing), 201)
          : bad(['The user already exists and does not have access to Jira.']);
      const full = () => [...state.users.values()].filter((u) => u.products.length > 0).length >= state.userLimit!;
      if ((b.products as string[]).length > 0 && state.userLimit !== undefined && full())
        return bad(['You have reached the maximum number of users allowed by your license.']);
      return ok(userJson(base, state.addUser({ emailAddress: b.emailAddress, products: b.products as string[] })), 201);
    },
  },
  {
    method: 'DELETE',
    pattern: /^\/rest\/api\/3\/user$/,
    access: 'site-admin',
    handle: ({ state, query }) => {
      const accountId = query.get('accountId') ?? '';
      if (!state.users.delete(accountId)) return { status: 404, body: NO_USER };
      for (const g of state.groups.values()) g.members.delete(accountId);
      return ok(undefined, 204);
    },
  },
  {
    method: 'POST',
    pattern: /^\/rest\/api\/3\/group$/,
    access: 'site-admin',
    handle: ({ state, base, body }) => {
      const name = obj(body).name;
      if (typeof name !== 'string' || !name.trim()) return bad([], { name: 'You must specify a group name.' });
      if (state.groupByName(name)) return bad(['A group with this name already exists.']);
      const g = state.addGroup(name);
      return ok(
        {
          name: g.name,
          groupId: g.groupId,
          self: `${base}/rest/api/3/group?groupId=${g.groupId}`,
          users: { size: 0, items: [] },
        },
        201,
      );
    },
  },
  {
    method: 'DELETE',
    pattern: /^\/rest\/api\/3\/group$/,
    access: 'site-admin',
    handle: (ctx) => {
      const group = findGroup(ctx);
      if (!group) return bad(['Specified group does not exist.'], {}, 404);
      ctx.state.groups.delete(group.groupId);
      return ok(undefined, 200);
    },
  },
  {
    method: 'POST',
    pattern: /^\/rest\/api\/3\/group\/user$/,
    access: 'site-admin',
    handle: (ctx) => {
      const group = findGroup(ctx);
      if (!group) return bad(['Specified group does not exist.'], {}, 404);
      const accountId = obj(ctx.body).accountId;
      if (typeof accountId !== 'string' || !ctx.state.users.has(accountId)) return { status: 404, body: NO_USER };
      if (group.members.has(accountId)) return bad([`Cannot add user. User is already a member of '${group.name}'`]);
      group.members.add(accountId);
      return ok({ name: group.name, groupId: group.groupId }, 201);
    },
  },
  {
    method: 'DELETE',
    pattern: /^\/rest\/api\/3\/group\/user$/,
    access: 'site-admin',
    handle: (ctx) => {
      const group = findGroup(ctx);
      if (!group) return bad(['Specified group does not exist.'], {}, 404);
      const accountId = ctx.query.get('accountId') ?? '';
      if (!ctx.state.users.has(accountId)) return { status: 404, body: NO_USER };
      if (!group.members.delete(accountId)) return bad([`Cannot remove user. User is not a member of '${group.name}'`]);
      return ok(undefined, 200);
    },
  },
  {
    method: 'GET',
    pattern: /^\/rest\/api\/3\/project\/search$/,
    access: 'read',
    handle: ({ state, base, query }) => {
      const all = [...state.projects.values()].sort((a, b) => a.key.localeCompare(b.key));
      const p = page(all, query.get('startAt'), query.get('maxResults'), 50, 100);
      const withLead = (query.get('expand') ?? '').split(',').includes('lead');
      return ok({
        ...p,
        values: p.values.map((x) => ({
          self: `${base}/rest/api/3/project/${x.id}`,
          id: x.id,
          key: x.key,
          name: x.name,
          ...(withLead ? { lead: { accountId: x.leadAccountId } } : {}),
        })),
      });
    },
  },
  {
    method: 'GET',
    pattern: /^\/rest\/api\/3\/project\/([^/]+)\/components$/,
    access: 'read',
    handle: ({ state, params }) => {
      const key = decodeURIComponent(params[0]);
      const project = state.projects.get(key) ?? [...state.projects.values()].find((p) => p.id === key);
      if (!project) return bad(['No project could be found with key or id.'], {}, 404);
      return ok(
        [...state.components.values()]
          .filter((c) => c.projectKey === project.key)
          .map((c) => ({
            id: c.id,
            name: c.name,
            ...(c.leadAccountId ? { lead: { accountId: c.leadAccountId } } : {}),
          })),
      );
    },
  },
  {
    method: 'PUT',
    pattern: /^\/rest\/api\/3\/project\/([^/]+)$/,
    access: 'read',
    handle: ({ state, params, body }) => {
      const key = decodeURIComponent(params[0]);
      const project = state.projects.get(key) ?? [...state.projects.values()].find((p) => p.id === key);
      if (!project) return bad(['No project could be found with key or id.'], {}, 404);
      const lead = obj(body).leadAccountId;
      if (typeof lead === 'string') {
        if (!state.users.has(lead)) return bad([], { projectLead: 'The project lead does not exist.' });
        project.leadAccountId = lead;
      }
      return ok({ id: project.id, key: project.key, lead: { accountId: project.leadAccountId } });
    },
  },
  {
    method: 'PUT',
    pattern: /^\/rest\/api\/3\/component\/([^/]+)$/,
    access: 'read',
    handle: ({ state, params, body }) => {
      const component = state.components.get(decodeURIComponent(params[0]));
      if (!component) return bad(['The component does not exist.'], {}, 404);
      const lead = obj(body).leadAccountId;
      if (typeof lead === 'string') component.leadAccountId = lead;
      return ok({ id: component.id, name: component.name, lead: { accountId: component.leadAccountId } });
    },
  },
  ...serviceDeskAndOrgRoutes,
  ...appRoutes,
];
