import { AsyncLocalStorage } from 'node:async_hooks';
import pino from 'pino';
import pretty from 'pino-pretty';

export type Logger = pino.Logger;

/** The request a piece of work runs for (its id), so every log line it writes names it. */
export const requestScope = new AsyncLocalStorage<{ reqId: string }>();

/** Field names whose values are secrets: never written to a log line, wherever they appear. */
const SECRET_FIELDS = [
  'authorization',
  'Authorization',
  'apiToken',
  'orgApiKey',
  'sharedSecret',
  'password',
  'token',
  'clientSecret',
  'bindPassword',
  'serviceAccountKey',
  'oktaCredential',
  'keycloakClientSecret',
  'client_secret',
  'client_assertion',
  'dpop',
  'private_key',
  'privateKey',
  'assertion',
  'access_token',
  'secret',
  'jwt',
];

/**
 * Builds the process logger with secrets redacted at any depth we log: JSON lines on stdout (the
 * production format, for log shippers), or readable lines (`pretty`, the development default).
 */
export function createLogger(
  level: string,
  destination?: pino.DestinationStream,
  format: 'json' | 'pretty' = 'json',
): Logger {
  const paths = SECRET_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`, `req.headers.${f.toLowerCase()}`]);
  const out =
    format === 'pretty'
      ? pretty({
          colorize: process.stdout.isTTY,
          translateTime: 'SYS:HH:MM:ss',
          ignore: 'pid,hostname',
          singleLine: true,
          sync: true,
          destination: destination ?? 1,
        })
      : destination;
  return pino(
    {
      level,
      redact: { paths, censor: '[redacted]' },
      base: undefined,
      // Every line written while a request is being handled carries its id (src/http/requestLog.ts).
      mixin: () => requestScope.getStore() ?? {},
    },
    out,
  );
}

/**
 * A console-shaped logger for atlassian-connect-express. ACE passes request bodies as context
 * objects (which may hold API tokens), so only its text arguments are kept.
 */
export function aceLogger(logger: Logger): Console {
  const text = (args: unknown[]): string =>
    args.filter((a): a is string | number => typeof a === 'string' || typeof a === 'number').join(' ');
  const adapter = {
    log: (...a: unknown[]) => logger.debug({ source: 'ace' }, text(a)),
    debug: (...a: unknown[]) => logger.debug({ source: 'ace' }, text(a)),
    info: (...a: unknown[]) => logger.debug({ source: 'ace' }, text(a)),
    warn: (...a: unknown[]) => logger.info({ source: 'ace' }, text(a)),
    error: (...a: unknown[]) => logger.warn({ source: 'ace' }, text(a)),
  };
  return adapter as unknown as Console;
}
