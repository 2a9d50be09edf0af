import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import JSON5 from 'json5';
import { z } from 'zod';
import { DEFAULT_SHARED_DIR } from './db/embedded';

/* The settings the server reads, by environment variable (or config.json key), and how each is checked. */

const port = z.coerce.number().int().min(1).max(65535);
const httpUrl = z
  .string()
  .url()
  .refine((u) => /^https?:\/\//.test(u), 'must be an http(s) URL')
  .transform((u) => u.replace(/\/+$/, ''));
const positiveInt = z.coerce.number().int().positive();
/** A file that must exist (CA certificates of the outbound clients). */
const existingFile = z
  .string()
  .min(1)
  .refine((f) => fs.existsSync(f), 'no such file')
  .optional();

/** Every setting, by the environment variable that sets it. */
export const settingsSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  PORT: port.default(3000),
  AC_LOCAL_BASE_URL: httpUrl.optional(),
  AC_HOST_WHITELIST: z.string().default(''),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\/.+/, 'must be a postgres:// connection URL')
    .optional(),
  DATABASE_POOL_MAX: positiveInt.default(10),
  DATA_DIR: z.string().min(1).optional(),
  EMBEDDED_PG_PORT: port.default(54329),
  EMBEDDED_PG_SHARED_DIR: z
    .string()
    .refine((p) => path.isAbsolute(p), 'must be an absolute path')
    .default(DEFAULT_SHARED_DIR),
  FORGE_APP_ID: z
    .string()
    .regex(
      /^(ari:cloud:ecosystem::app\/)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
      'must be the app id that `forge register` printed (ari:cloud:ecosystem::app/<uuid>)',
    )
    .optional(),
  FORGE_JWKS_URL: z.string().url().default('https://forge.cdn.prod.atlassian-dev.net/.well-known/jwks.json'),
  CONNECT_ONLY: z.enum(['true', 'false']).default('false'),
  APP_SECRET_KEY: z
    .string()
    .refine(isValidSecretKey, 'must be 32 random bytes, as 64 hex characters or as base64')
    .optional(),
  APP_SECRET_KEYS: z
    .string()
    .superRefine((value, ctx) => {
      const problem = secretKeyRingProblem(value);
      if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem });
    })
    .optional(),
  CONNECT_KEYS_CDN_URL: httpUrl.optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
  LOG_FORMAT: z.enum(['json', 'pretty']).optional(),
  JIRA_CONCURRENCY_PER_TENANT: positiveInt.max(32).default(10),
  JIRA_MAX_ATTEMPTS: positiveInt.max(20).default(5),
  JIRA_BACKOFF_BASE_MS: positiveInt.default(500),
  JIRA_BACKOFF_MAX_MS: positiveInt.default(30_000),
  JIRA_MAX_RETRY_WAIT_MS: positiveInt.default(120_000),
  JIRA_TIMEOUT_MS: positiveInt.default(30_000),
  ATLASSIAN_API_URL: httpUrl.default('https://api.atlassian.com'),
  SYNC_WORKER_CONCURRENCY: positiveInt.max(64).default(32),
  SYNC_POLL_MS: positiveInt.default(1000),
  SYNC_DEBOUNCE_MS: positiveInt.default(500),
  SYNC_MAX_DELAY_MS: positiveInt.default(30_000),
  SYNC_MAX_ATTEMPTS: positiveInt.max(50).default(8),
  SYNC_LEASE_MS: positiveInt.default(120_000),
  SYNC_HISTORY_DAYS: positiveInt.default(90),
  AUDIT_RETENTION_DAYS: positiveInt.max(3650).default(365),
  SYNC_RUN_RETRY_BASE_MS: positiveInt.default(30_000),
  SYNC_RUN_RETRY_MAX_MS: positiveInt.default(900_000),
  SYNC_RECONCILE_CHECK_MS: positiveInt.default(300_000),
  ENTRA_CA_FILE: existingFile,
  ENTRA_TIMEOUT_MS: positiveInt.default(60_000),
  ENTRA_MAX_ATTEMPTS: positiveInt.max(20).default(6),
  GOOGLE_API_URL: z.string().url().default('https://admin.googleapis.com'),
  GOOGLE_TOKEN_URL: z.string().url().default('https://oauth2.googleapis.com/token'),
  GOOGLE_CA_FILE: existingFile,
  GOOGLE_TIMEOUT_MS: positiveInt.default(60_000),
  GOOGLE_MAX_ATTEMPTS: positiveInt.max(20).default(6),
  GOOGLE_QUERIES_PER_MINUTE: positiveInt.default(2_400),
  OKTA_CA_FILE: existingFile,
  OKTA_TIMEOUT_MS: positiveInt.default(60_000),
  OKTA_MAX_ATTEMPTS: positiveInt.max(20).default(6),
  OKTA_RATE_LIMIT_RESERVE: z.coerce.number().min(0).max(0.9).default(0.1),
  KEYCLOAK_CA_FILE: existingFile,
  KEYCLOAK_TIMEOUT_MS: positiveInt.default(60_000),
  KEYCLOAK_MAX_ATTEMPTS: positiveInt.max(20).default(6),
  SCHEDULER_ENABLED: z.enum(['true', 'false']).default('true'),
  METRICS: z.enum(['on', 'off']).default('on'),
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters (openssl rand -hex 24)').optional(),
  METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  SCIM_REQUEST_TIMEOUT_MS: positiveInt.default(30_000),
  OTEL_EXPORTER_OTLP_ENDPOINT: httpUrl.optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: httpUrl.optional(),
  OTEL_SERVICE_NAME: z.string().min(1).max(100).default('idp-user-group-sync'),
  NOTIFY_CHECK_MS: positiveInt.default(30_000),
  NOTIFY_PAUSE_AFTER_FAILED_RUNS: z.coerce.number().int().min(0).max(100).default(5),
  NOTIFY_MAX_ATTEMPTS: positiveInt.max(10).default(5),
  NOTIFY_TIMEOUT_MS: positiveInt.default(10_000),
  NOTIFY_CA_FILE: existingFile,
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\/[^/]+/, 'must be an smtp:// or smtps:// URL (smtp://user:password@host:587)')
    .optional(),
  SMTP_FROM: z.string().min(3).optional(),
  SMTP_CA_FILE: existingFile,
  OUTBOUND_ALLOW: z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean),
    )
    .refine(
      (list) => list.every((c) => c === '*' || isCidr(c)),
      'must be CIDRs separated by commas (10.0.0.0/8, 127.0.0.1/32, fd00::/8), or *',
    ),
});

/** "10.0.0.0/8", "127.0.0.1", "fd00::/8": an address with an optional prefix length that fits it. */
function isCidr(c: string): boolean {
  const [address, bits, extra] = c.split('/');
  const family = net.isIP(address);
  if (!family || extra !== undefined) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return /^\d+$/.test(bits) && n >= 0 && n <= (family === 6 ? 128 : 32);
}

export type Settings = z.infer<typeof settingsSchema>;

function isValidSecretKey(value: string): boolean {
  return decodeSecretKey(value)?.length === 32;
}

/** `APP_SECRET_KEYS`' entries, newest first: `<id>:<key>` separated by commas. */
export function parseSecretKeyRing(value: string): Array<{ id: string; key: Buffer | undefined }> {
  return value
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)
    .map((entry) => {
      const at = entry.indexOf(':');
      return at < 0
        ? { id: '', key: undefined }
        : { id: entry.slice(0, at), key: decodeSecretKey(entry.slice(at + 1)) };
    });
}

function secretKeyRingProblem(value: string): string | undefined {
  const entries = parseSecretKeyRing(value);
  if (entries.length === 0) return 'must list at least one key as <id>:<key>, newest first';
  const seen = new Set<string>();
  for (const [i, e] of entries.entries()) {
    if (!/^[A-Za-z0-9_-]{1,32}$/.test(e.id) || e.id === 'legacy')
      return `entry ${i + 1} must be <id>:<key>, the id 1–32 of A–Z a–z 0–9 _ - (not "legacy")`;
    if (seen.has(e.id)) return `key id "${e.id}" is listed twice`;
    seen.add(e.id);
    if (e.key?.length !== 32) return `key "${e.id}" must be 32 random bytes, as 64 hex characters or as base64`;
  }
  return undefined;
}

export function decodeSecretKey(value: string): Buffer | undefined {
  if (/^[0-9a-fA-F]{64}$/.test(value)) return Buffer.from(value, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(value)) return Buffer.from(value, 'base64');
  return undefined;
}

/** A configuration problem: start-up stops with this message, which names the variable. */
export class ConfigError extends Error {}

/** config.json keys (ACE's names) and the environment variable each one stands for. */
const FILE_KEYS: Record<string, keyof Settings> = {
  port: 'PORT',
  localBaseUrl: 'AC_LOCAL_BASE_URL',
  whitelist: 'AC_HOST_WHITELIST',
};

/** The settings config.json's section for the mode gives (its $VAR values from the environment). */
export function readConfigFile(file: string, mode: string, env: NodeJS.ProcessEnv): Record<string, unknown> {
  if (!fs.existsSync(file)) return {};
  let all: unknown;
  try {
    all = JSON5.parse<unknown>(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`Invalid configuration: ${file} is not valid JSON5 (${(err as Error).message})`);
  }
  const section = (all as Record<string, unknown> | null)?.[mode];
  if (section === undefined) return {};
  if (typeof section !== 'object' || section === null) {
    throw new ConfigError(`Invalid configuration: ${file} section "${mode}" must be an object`);
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(section as Record<string, unknown>)) {
    const setting = FILE_KEYS[key];
    if (!setting) continue; // ACE-only keys are ACE's business
    const resolved = typeof value === 'string' && /^\$[A-Z_][A-Z0-9_]*$/.test(value) ? env[value.slice(1)] : value;
    if (resolved !== undefined && resolved !== '') out[setting] = resolved;
  }
  return out;
}
