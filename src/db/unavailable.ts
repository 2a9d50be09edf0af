import type { Logger } from '../logger';

/**
 * Whether an error means the database cannot be reached right now (stopped, restarting, the
 * connection cut, no connection to be had in time) rather than that the query was wrong. Callers
 * answer such errors 503 with Retry-After: the request may be sent again once Postgres is back, and
 * it left nothing behind (its transaction never committed).
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e = err as ErrorLike | undefined, depth = 0; e && depth < 4; e = e.parent ?? e.original, depth++) {
    if (typeof e !== 'object') return false;
    if (e.name && UNAVAILABLE_NAMES.has(e.name)) return true;
    if (typeof e.code === 'string' && (UNAVAILABLE_CODES.has(e.code) || e.code.startsWith('08'))) return true;
    if (e.code === 'ENOENT' && e.syscall === 'connect') return true; // the Unix socket of a stopped server
    // By message too: atlassian-connect-express hands a failed store lookup on as {code: 500, message}, with the cause in words.
    if (typeof e.message === 'string' && UNAVAILABLE_MESSAGES.some((m) => e.message!.includes(m))) return true;
  }
  return false;
}

/** How long a client is asked to wait before it tries again while the database is away (seconds). */
export const DATABASE_RETRY_AFTER_S = 5;

interface ErrorLike {
  name?: string;
  code?: unknown;
  syscall?: string;
  message?: string;
  parent?: ErrorLike;
  original?: ErrorLike;
}

/** Sequelize's names for failing to get a connection. */
const UNAVAILABLE_NAMES = new Set([
  'SequelizeConnectionError',
  'SequelizeConnectionRefusedError',
  'SequelizeConnectionTimedOutError',
  'SequelizeConnectionAcquireTimeoutError',
  'SequelizeHostNotFoundError',
  'SequelizeHostNotReachableError',
]);

/**
 * Postgres SQLSTATEs (class 08 "connection exception" is matched by prefix; 57P01–03 the server
 * shutting down or starting; 53300 too many connections) and the socket errors of a server gone.
 */
const UNAVAILABLE_CODES = new Set([
  '57P01',
  '57P02',
  '57P03',
  '53300',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
]);

/** node-postgres' and Postgres' messages for a connection that ended or could not be had, and Sequelize's names in words. */
const UNAVAILABLE_MESSAGES = [
  ...UNAVAILABLE_NAMES,
  'terminating connection due to administrator command',
  'the database system is starting up',
  'the database system is shutting down',
  'Connection terminated',
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
  'timeout exceeded when trying to connect',
];

/**
 * Logs a background job's failure (the executor's poll, the SCIM trigger): an unavailable database
 * as one warning per job until it answers again, anything else as an error with its stack.
 */
export class BackgroundFailures {
  private readonly away = new Set<string>();

  constructor(private readonly logger: Logger) {}

  /** `context`: what the failure concerns (a connection's id), logged with it; never a secret. */
  failed(job: string, err: unknown, context: Record<string, unknown> = {}): void {
    if (!isDatabaseUnavailable(err)) return this.logger.error({ ...context, err, job }, `${job} failed`);
    if (this.away.has(job)) return;
    this.away.add(job);
    this.logger.warn(
      { err: (err as Error)?.message, job },
      `${job}: the database is unavailable; retrying at each poll`,
    );
  }

  succeeded(job: string): void {
    if (this.away.delete(job)) this.logger.info({ job }, `${job}: the database is back`);
  }
}
