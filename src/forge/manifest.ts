/**
 * The Forge manifest ("Connect on Forge") built from the Connect descriptor, so that the two can
 * never drift: the same key, modules, lifecycle URLs and scopes, with our server as the remote.
 * Pure: `scripts/manifest.ts` reads the files, writes manifest.yml and validates it.
 */

/** The parts of atlassian-connect.json the manifest carries. */
export interface ConnectDescriptor {
  key: string;
  description?: string;
  authentication?: { type: string };
  lifecycle?: Record<string, string>;
  scopes?: string[];
  modules?: Record<string, unknown>;
}

export interface ManifestOptions {
  /** `ari:cloud:ecosystem::app/<uuid>`, as `forge register` gives it. */
  appId: string;
  /** Our server's public HTTPS base URL: the remote Jira calls. */
  baseUrl: string;
}

/** The Forge manifest, as a plain object (serialise it as YAML). */
export interface ForgeManifest {
  app: {
    id: string;
    description?: string;
    runtime: { name: string };
    connect: { key: string; remote: string; authentication: string };
  };
  remotes: Array<{ key: string; baseUrl: string }>;
  connectModules: Record<string, Array<Record<string, unknown>>>;
  permissions: { scopes: string[] };
}

/** The `remotes` entry that stands for our server. */
export const CONNECT_REMOTE = 'connect';

/** Placeholder until `forge register` gives the app its id. */
export const UNREGISTERED_APP_ID = 'ari:cloud:ecosystem::app/00000000-0000-0000-0000-000000000000';

/** Connect scopes and the Forge scopes that stand for them in a Connect-on-Forge app. */
const SCOPES: Record<string, string> = {
  READ: 'read:connect-jira',
  WRITE: 'write:connect-jira',
  ADMIN: 'admin:connect-jira',
  DELETE: 'delete:connect-jira',
  PROJECT_ADMIN: 'project-admin:connect-jira',
  ACT_AS_USER: 'act-as-user:connect-jira',
  ACCESS_EMAIL_ADDRESSES: 'access-email-addresses:connect-jira',
};

/** Builds the manifest for a descriptor; throws on a scope or module it cannot carry. */
export function buildManifest(descriptor: ConnectDescriptor, opts: ManifestOptions): ForgeManifest {
  const connectModules: ForgeManifest['connectModules'] = {};
  if (descriptor.lifecycle) connectModules['jira:lifecycle'] = [{ key: 'lifecycle', ...descriptor.lifecycle }];
  for (const [type, value] of Object.entries(descriptor.modules ?? {})) {
    const entries = (Array.isArray(value) ? value : [value]) as Array<Record<string, unknown>>;
    // Forge wants a key on every module; Connect webhooks have none, so one is made from the event.
    connectModules[`jira:${type}`] = entries.map((m) => ({ key: m.key ?? moduleKey(type, m), ...m }));
  }
  return {
    app: {
      id: opts.appId,
      ...(descriptor.description ? { description: descriptor.description } : {}),
      runtime: { name: 'nodejs24.x' }, // required by the schema; a Connect-on-Forge app runs no functions
      connect: {
        key: descriptor.key,
        remote: CONNECT_REMOTE,
        authentication: descriptor.authentication?.type ?? 'jwt',
      },
    },
    remotes: [{ key: CONNECT_REMOTE, baseUrl: opts.baseUrl }],
    connectModules,
    permissions: { scopes: (descriptor.scopes ?? []).map(forgeScope) },
  };
}

/** The Forge form of a Connect scope. */
export function forgeScope(scope: string): string {
  const forge = SCOPES[scope.toUpperCase()];
  if (!forge) throw new Error(`Connect scope "${scope}" has no Connect-on-Forge equivalent`);
  return forge;
}

function moduleKey(type: string, module: Record<string, unknown>): string {
  const name = [module.event, module.url].find((v): v is string => typeof v === 'string') ?? type;
  return name
    .replace(/[^a-zA-Z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .toLowerCase();
}

// --- Forge Remote: the app after Connect ---------------------------------------------------------

/** The `remotes` entry of the Forge Remote manifest (our server). */
export const REMOTE = 'remote';

/** Our server's Forge endpoints: the module key, the path Forge calls, and what it is for. */
export const FORGE_ENDPOINTS = {
  'admin-api': { path: undefined, why: "the admin page's invokeRemote calls (paths under /forge/api/v1)" },
  'lifecycle-installed': { path: '/forge/lifecycle/installed', why: 'avi:forge:installed:app' },
  'lifecycle-upgraded': { path: '/forge/lifecycle/upgraded', why: 'avi:forge:upgraded:app' },
  'lifecycle-uninstalling': { path: '/forge/lifecycle/uninstalling', why: 'preUninstall' },
  'user-created': { path: '/forge/events/user-created', why: 'avi:jira:created:user (first login)' },
  scheduled: { path: '/forge/scheduled', why: 'the hourly scheduled trigger (fresh tokens, waiting runs)' },
} as const;

/**
 * The Forge scopes of what the server calls with the app system token (the Connect JWT's calls),
 * each with its reason. Writes to users and groups use the stored site-admin API token, not the app.
 */
export const FORGE_REMOTE_SCOPES: Record<string, string> = {
  'read:app-system-token': 'the app system token itself, handed to the remote on every call',
  'read:jira-user':
    "users, groups and members, application roles, the permission check behind the admin API, avi:jira:created:user, the site's serverInfo on an installation's first backend call",
  'read:app-data:jira':
    "the reserved app property that names a site's Connect clientKey, so a site on the Connect version carries over on its first Forge event",
  'read:jira-work': 'projects and components (default project and component lead)',
  'write:jira-work': 'the user property that links a Jira account to its IdP identity',
  'manage:jira-project': 'setting a project or component lead',
  'read:servicedesk-request': 'service desks and their customers (JSM Customer Sync)',
  'manage:servicedesk-customer': 'creating JSM customers and giving them portal access',
};

/** The Forge Remote manifest: Forge modules only, our server as the remote; a plain object (serialise it as YAML). */
export interface ForgeRemoteManifest {
  app: Omit<ForgeManifest['app'], 'connect'> & { connect: { key: string; remote: string } };
  remotes: Array<Record<string, unknown>>;
  modules: Record<string, Array<Record<string, unknown>>>;
  resources: Array<{ key: string; path: string }>;
  permissions: { scopes: string[] };
}

/**
 * The app after Connect: the admin page as a Custom UI resource calling our endpoints through
 * Forge, lifecycle and product events and an hourly wake-up as triggers on our remote, every
 * endpoint given the app system token. `app.connect.key` stays, so sites on the Connect version
 * upgrade in place and keep their data; no Connect modules are left.
 */
export function buildRemoteManifest(
  descriptor: ConnectDescriptor,
  opts: ManifestOptions & { adminBundlePath: string },
): ForgeRemoteManifest {
  const admin = (descriptor.modules?.adminPages as Array<{ name?: { value?: string } }> | undefined)?.[0];
  const title = admin?.name?.value ?? descriptor.key;
  const endpoint = (key: keyof typeof FORGE_ENDPOINTS) => {
    const path = FORGE_ENDPOINTS[key].path;
    return {
      key,
      remote: REMOTE,
      ...(path ? { route: { path } } : {}),
      auth: { appSystemToken: { enabled: true }, appUserToken: { enabled: false } },
    };
  };
  return {
    app: {
      id: opts.appId,
      ...(descriptor.description ? { description: descriptor.description } : {}),
      runtime: { name: 'nodejs24.x' },
      // No `authentication`: the validator takes it as the sign of remaining Connect modules.
      connect: { key: descriptor.key, remote: REMOTE },
    },
    remotes: [
      {
        key: REMOTE,
        baseUrl: opts.baseUrl,
        operations: ['storage', 'other'],
        storage: { inScopeEUD: true },
        auth: { appSystemToken: { enabled: true }, appUserToken: { enabled: false } },
      },
    ],
    modules: {
      'jira:adminPage': [
        {
          key: 'idp-sync-admin',
          title,
          resource: 'admin-page',
          resolver: { endpoint: 'admin-api' },
          useAsConfig: true,
        },
      ],
      endpoint: (Object.keys(FORGE_ENDPOINTS) as Array<keyof typeof FORGE_ENDPOINTS>).map(endpoint),
      trigger: [
        { key: 'on-installed', events: ['avi:forge:installed:app'], endpoint: 'lifecycle-installed' },
        { key: 'on-upgraded', events: ['avi:forge:upgraded:app'], endpoint: 'lifecycle-upgraded' },
        { key: 'on-user-created', events: ['avi:jira:created:user'], endpoint: 'user-created' },
      ],
      preUninstall: [{ key: 'on-uninstalling', endpoint: 'lifecycle-uninstalling' }],
      scheduledTrigger: [{ key: 'hourly-wake', endpoint: 'scheduled', interval: 'hour' }],
    },
    resources: [{ key: 'admin-page', path: opts.adminBundlePath }],
    permissions: { scopes: Object.keys(FORGE_REMOTE_SCOPES) },
  };
}
