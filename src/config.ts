import fs from 'node:fs';
import path from 'node:path';
import {
  ConfigError,
  decodeSecretKey,
  parseSecretKeyRing,
  readConfigFile,
  settingsSchema,
  type Settings,
} from './configSchema';

/** The project's root folder (where package.json, config.json and the descriptor live). */
export const PROJECT_ROOT = findProjectRoot(__dirname);

function findProjectRoot(start: string): string {
  let dir = start;
  while (!fs.existsSync(path.join(dir, 'atlassian-connect.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
  return dir;
}

/** The name of every environment variable the server reads (docs/configuration.md lists them). */
export const SETTING_NAMES: readonly string[] = Object.keys(settingsSchema.shape);

/** The validated configuration the whole process runs on. */
export interface Config {
  env: Settings['NODE_ENV'];
  port: number;
  localBaseUrl: string;
  hostWhitelist: string;
  database: { url?: string; poolMax: number; embeddedPort: number; embeddedSharedDir: string };
  dataDir: string;
  /**
   * The single 32-byte key for secrets at rest (`APP_SECRET_KEY`); with a ring it only opens the
   * `v1:` values it sealed. Neither set means "generate one into dataDir" (not in production).
   */
  appSecretKey?: Buffer;
  /** The key ring (`APP_SECRET_KEYS`), newest first: the first seals, every one opens what names it. */
  appSecretKeys?: Array<{ id: string; key: Buffer }>;
  /** Days an audit event is kept (AUDIT_RETENTION_DAYS). */
  auditRetentionDays: number;
  connectKeysCdnUrl?: string;
  logLevel: NonNullable<Settings['LOG_LEVEL']>;
  /** JSON lines (production, log shippers) or readable lines (development). */
  logFormat: NonNullable<Settings['LOG_FORMAT']>;
  /** The Forge app id (`ari:cloud:ecosystem::app/<uuid>`) written into manifest.yml, once registered. */
  forgeAppId?: string;
  /** Where Forge publishes the keys its invocation tokens are signed with. */
  forgeJwksUrl: string;
  /** The operator says this server serves only sites still on the Connect version (no Forge app id needed in production). */
  connectOnly: boolean;
  jira: {
    concurrencyPerTenant: number;
    maxAttempts: number;
    backoffBaseMs: number;
    backoffMaxMs: number;
    maxRetryWaitMs: number;
    timeoutMs: number;
  };
  atlassianApiUrl: string;
  sync: {
    workerConcurrency: number;
    pollMs: number;
    debounceMs: number;
    maxDelayMs: number;
    maxAttempts: number;
    leaseMs: number;
    historyDays: number;
    /** A run that could not start for want of Jira is tried again after this backoff. */
    runRetry: { backoffBaseMs: number; backoffMaxMs: number };
    /** How often this instance looks for SCIM connections due a full reconciliation. */
    reconcileCheckMs: number;
    /**
     * At most this many of a site's operations are claimed at once (across instances): what its Jira
     * calls in flight can use, and as many again to overlap the database work. More would only wait
     * in the site's queue, where another run's change of the same site could not pass them.
     */
    perSiteInFlight: number;
  };
  entra: {
    /** Extra CA certificates (PEM) trusted for the Microsoft endpoints: TLS-inspecting proxies, tests. */
    caPem?: string;
    timeoutMs: number;
    maxAttempts: number;
  };
  google: {
    /** The Admin SDK's root and the token endpoint: Google's, unless the operator points them elsewhere (a proxy, the tests' fake). */
    apiUrl: string;
    tokenUrl: string;
    caPem?: string;
    timeoutMs: number;
    maxAttempts: number;
    /** Requests per minute per connection, under Google's per-user quota (2,400 by default). */
    queriesPerMinute: number;
  };
  okta: {
    /** Extra CA certificates (PEM) trusted for Okta orgs: TLS-inspecting proxies, tests. */
    caPem?: string;
    timeoutMs: number;
    maxAttempts: number;
    /** The share of each of Okta's rate-limit buckets a read leaves to the org's other clients (pausing till the reset). */
    rateLimitReserve: number;
  };
  keycloak: {
    /** Extra CA certificates (PEM) trusted for Keycloak servers: a private CA, a TLS-inspecting proxy, tests. */
    caPem?: string;
    timeoutMs: number;
    maxAttempts: number;
  };
  schedulerEnabled: boolean;
  /** /metrics: counted at all (METRICS), shown on the public port with a token, or on a port of its own. */
  metrics: { enabled: boolean; token?: string; port?: number };
  /** Private, loopback and link-local ranges the server may call at URLs a site admin typed (CIDRs, or "*"). */
  outboundAllow: string[];
  /** How long a SCIM request may take before it is answered 503 (the database hangs, unreachable). */
  scimRequestTimeoutMs: number;
  /** OpenTelemetry traces to this OTLP/HTTP endpoint (`…/v1/traces`); off when unset. */
  tracing: { tracesUrl?: string; serviceName: string };
  /** Alerts for sites' admins: how often to look, when to pause a connection, delivery attempts, the mail server. */
  notifications: {
    checkMs: number;
    pauseAfterFailedRuns: number;
    maxAttempts: number;
    timeoutMs: number;
    webhookCaPem?: string;
    smtp?: { url: string; from: string; caPem?: string };
  };
}

export { ConfigError } from './configSchema';

/** Builds the configuration from config.json's section for NODE_ENV and the environment. */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  configFile: string = path.join(PROJECT_ROOT, 'config.json'),
): Config {
  const mode = env.NODE_ENV ?? 'development';
  const fromFile = readConfigFile(configFile, mode, env);
  const raw: Record<string, unknown> = { ...fromFile };
  for (const key of Object.keys(settingsSchema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  const parsed = settingsSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  return toConfig(parsed.data);
}

/** The single key and the key ring, decoded (the schema checked them). */
function secretKeys(s: Settings): Pick<Config, 'appSecretKey' | 'appSecretKeys'> {
  return {
    appSecretKey: s.APP_SECRET_KEY ? decodeSecretKey(s.APP_SECRET_KEY) : undefined,
    appSecretKeys: s.APP_SECRET_KEYS
      ? parseSecretKeyRing(s.APP_SECRET_KEYS).map((e) => ({ id: e.id, key: e.key! }))
      : undefined,
  };
}

/** Production needs a public URL, a database and a key: refused at start, each named. */
function requireForProduction(s: Settings): void {
  if (s.NODE_ENV !== 'production') return;
  const missing = [
    ...(['AC_LOCAL_BASE_URL', 'DATABASE_URL'] as const).filter((k) => !s[k]),
    ...(s.APP_SECRET_KEY || s.APP_SECRET_KEYS ? [] : ['APP_SECRET_KEYS (or APP_SECRET_KEY)']),
  ];
  if (missing.length > 0)
    throw new ConfigError(
      `Invalid configuration:\n  ${missing.map((k) => `${k}: required in production`).join('\n  ')}`,
    );
}

function toConfig(s: Settings): Config {
  requireForProduction(s);
  return Object.freeze({
    env: s.NODE_ENV,
    port: s.PORT,
    localBaseUrl: s.AC_LOCAL_BASE_URL ?? `http://localhost:${s.PORT}`,
    hostWhitelist: s.AC_HOST_WHITELIST,
    database: {
      url: s.DATABASE_URL,
      poolMax: s.DATABASE_POOL_MAX,
      embeddedPort: s.EMBEDDED_PG_PORT,
      embeddedSharedDir: s.EMBEDDED_PG_SHARED_DIR,
    },
    dataDir: path.resolve(PROJECT_ROOT, s.DATA_DIR ?? '.data'),
    ...secretKeys(s),
    auditRetentionDays: s.AUDIT_RETENTION_DAYS,
    connectKeysCdnUrl: s.CONNECT_KEYS_CDN_URL,
    logLevel: s.LOG_LEVEL ?? (s.NODE_ENV === 'test' ? 'silent' : 'info'),
    logFormat: s.LOG_FORMAT ?? (s.NODE_ENV === 'development' ? 'pretty' : 'json'),
    forgeJwksUrl: s.FORGE_JWKS_URL,
    connectOnly: s.CONNECT_ONLY === 'true',
    forgeAppId:
      s.FORGE_APP_ID &&
      (s.FORGE_APP_ID.startsWith('ari:') ? s.FORGE_APP_ID : `ari:cloud:ecosystem::app/${s.FORGE_APP_ID}`),
    jira: {
      concurrencyPerTenant: s.JIRA_CONCURRENCY_PER_TENANT,
      maxAttempts: s.JIRA_MAX_ATTEMPTS,
      backoffBaseMs: s.JIRA_BACKOFF_BASE_MS,
      backoffMaxMs: s.JIRA_BACKOFF_MAX_MS,
      maxRetryWaitMs: s.JIRA_MAX_RETRY_WAIT_MS,
      timeoutMs: s.JIRA_TIMEOUT_MS,
    },
    atlassianApiUrl: s.ATLASSIAN_API_URL,
    sync: {
      workerConcurrency: s.SYNC_WORKER_CONCURRENCY,
      pollMs: s.SYNC_POLL_MS,
      debounceMs: s.SYNC_DEBOUNCE_MS,
      maxDelayMs: s.SYNC_MAX_DELAY_MS,
      maxAttempts: s.SYNC_MAX_ATTEMPTS,
      leaseMs: s.SYNC_LEASE_MS,
      historyDays: s.SYNC_HISTORY_DAYS,
      runRetry: { backoffBaseMs: s.SYNC_RUN_RETRY_BASE_MS, backoffMaxMs: s.SYNC_RUN_RETRY_MAX_MS },
      reconcileCheckMs: s.SYNC_RECONCILE_CHECK_MS,
      perSiteInFlight: 2 * s.JIRA_CONCURRENCY_PER_TENANT,
    },
    entra: {
      caPem: s.ENTRA_CA_FILE ? fs.readFileSync(s.ENTRA_CA_FILE, 'utf8') : undefined,
      timeoutMs: s.ENTRA_TIMEOUT_MS,
      maxAttempts: s.ENTRA_MAX_ATTEMPTS,
    },
    google: {
      apiUrl: s.GOOGLE_API_URL.replace(/\/+$/, ''),
      tokenUrl: s.GOOGLE_TOKEN_URL,
      caPem: s.GOOGLE_CA_FILE ? fs.readFileSync(s.GOOGLE_CA_FILE, 'utf8') : undefined,
      timeoutMs: s.GOOGLE_TIMEOUT_MS,
      maxAttempts: s.GOOGLE_MAX_ATTEMPTS,
      queriesPerMinute: s.GOOGLE_QUERIES_PER_MINUTE,
    },
    okta: {
      caPem: s.OKTA_CA_FILE ? fs.readFileSync(s.OKTA_CA_FILE, 'utf8') : undefined,
      timeoutMs: s.OKTA_TIMEOUT_MS,
      maxAttempts: s.OKTA_MAX_ATTEMPTS,
      rateLimitReserve: s.OKTA_RATE_LIMIT_RESERVE,
    },
    keycloak: {
      caPem: s.KEYCLOAK_CA_FILE ? fs.readFileSync(s.KEYCLOAK_CA_FILE, 'utf8') : undefined,
      timeoutMs: s.KEYCLOAK_TIMEOUT_MS,
      maxAttempts: s.KEYCLOAK_MAX_ATTEMPTS,
    },
    schedulerEnabled: s.SCHEDULER_ENABLED === 'true',
    metrics: { enabled: s.METRICS === 'on', token: s.METRICS_TOKEN, port: s.METRICS_PORT },
    outboundAllow: s.OUTBOUND_ALLOW,
    scimRequestTimeoutMs: s.SCIM_REQUEST_TIMEOUT_MS,
    tracing: tracingOf(s),
    notifications: notificationsOf(s),
  });
}

/** Where traces go: OTLP/HTTP's traces path under OTEL_EXPORTER_OTLP_ENDPOINT, unless the traces endpoint is named. */
function tracingOf(s: Settings): Config['tracing'] {
  const base = s.OTEL_EXPORTER_OTLP_ENDPOINT;
  return {
    tracesUrl: s.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? (base && `${base}/v1/traces`),
    serviceName: s.OTEL_SERVICE_NAME,
  };
}

/** The notifier's settings and the operator's mail server. */
function notificationsOf(s: Settings): Config['notifications'] {
  return {
    checkMs: s.NOTIFY_CHECK_MS,
    pauseAfterFailedRuns: s.NOTIFY_PAUSE_AFTER_FAILED_RUNS,
    maxAttempts: s.NOTIFY_MAX_ATTEMPTS,
    timeoutMs: s.NOTIFY_TIMEOUT_MS,
    webhookCaPem: s.NOTIFY_CA_FILE ? fs.readFileSync(s.NOTIFY_CA_FILE, 'utf8') : undefined,
    smtp: s.SMTP_URL
      ? {
          url: s.SMTP_URL,
          from:
            s.SMTP_FROM ??
            `IdP User & Group Sync <no-reply@${new URL(s.SMTP_URL.replace(/^smtps?/, 'http')).hostname}>`,
          caPem: s.SMTP_CA_FILE ? fs.readFileSync(s.SMTP_CA_FILE, 'utf8') : undefined,
        }
      : undefined,
  };
}

/**
 * New sites install only through Forge, so a production server without the Forge app id (its
 * invocation tokens' audience) would refuse every install: it does not start, unless the operator
 * says it serves only sites still on the Connect version. Called once the app id has been looked
 * for everywhere (FORGE_APP_ID, then the manifest `forge register` wrote).
 */
export function requireForgeAppId(config: Pick<Config, 'env' | 'forgeAppId' | 'connectOnly'>): void {
  if (config.env !== 'production' || config.forgeAppId || config.connectOnly) return;
  throw new ConfigError(
    'FORGE_APP_ID is required in production, since new sites install only through Forge: set it to the id `forge register` printed (ari:cloud:ecosystem::app/<uuid>), or set CONNECT_ONLY=true if this server serves only sites still on the Connect version.',
  );
}
