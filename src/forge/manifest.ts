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
