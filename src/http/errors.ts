import type { ErrorRequestHandler } from 'express';
import type { ZodError } from 'zod';
import { DATABASE_RETRY_AFTER_S, isDatabaseUnavailable } from '../db/unavailable';
import type { Logger } from '../logger';
import { TooDeep } from './jsonDepth';

/** What a URL that cannot be percent-decoded is told (admin API and SCIM alike). */
export const MALFORMED_URL = 'The URL has a malformed percent-encoding (each % must start a valid UTF-8 escape).';
/** What a request is told while the database is away (admin API and SCIM alike). */
export const DATABASE_UNAVAILABLE =
  'The database is unavailable for a moment: the change was most likely not stored, but may have been if the connection broke as it committed. Sending the request again is safe.';

/** An error with a stable code and HTTP status, rendered as `{error, message}` on the admin API. */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export const unauthorized = (message = 'A valid Jira context JWT is required.') =>
  new AppError(401, 'unauthorized', message);
export const forbidden = (message = 'Only Jira administrators can use this.') =>
  new AppError(403, 'forbidden', message);
export const notFound = (message = 'Not found.') => new AppError(404, 'not_found', message);
export const badRequest = (message: string, details?: Record<string, unknown>) =>
  new AppError(400, 'invalid_request', message, details);
export const jiraUnavailable = (message: string) => new AppError(502, 'jira_unavailable', message);
/** `502 idp_unavailable`: the identity provider could not be read (the message says what to fix). */
export const idpUnavailable = (message: string) => new AppError(502, 'idp_unavailable', message);
/** `400 not_supported`: what this kind of connection cannot do, and where it is done instead. */
/** 414: a URL over the limit (`http/limits.ts`). */
export const uriTooLong = (message: string) => new AppError(414, 'uri_too_long', message);
export const notSupported = (message: string) => new AppError(400, 'not_supported', message);
/** `409` with its code (`conflict`, `run_in_progress`, …): the request clashes with the state it found. */
export const conflict = (code: string, message: string, details?: Record<string, unknown>) =>
  new AppError(409, code, message, details);

/** `400 validation_failed` for one field: the sentence said, and what the form shows beside the field. */
export const invalidField = (field: string, sentence: string, beside = sentence) =>
  new AppError(400, 'validation_failed', sentence, { fields: { [field]: beside } });

/** A validation failure, naming each wrong field. */
export function validationError(err: ZodError, prefix?: string): AppError {
  const fields: Record<string, string> = {};
  for (const issue of err.issues)
    fields[[...(prefix ? [prefix] : []), ...issue.path].join('.') || '(body)'] = issue.message;
  return invalidFields(fields);
}

/** `400 validation_failed` naming each wrong field (`{field: message}`), whatever found them wrong. */
export function invalidFields(fields: Record<string, string>): AppError {
  const summary = Object.entries(fields)
    .map(([f, m]) => `${f}: ${m}`)
    .join('; ');
  return new AppError(400, 'validation_failed', `Invalid request: ${summary}`, { fields });
}

interface BodyParserError {
  type?: string;
  status?: number;
  expose?: boolean;
}
interface AceAuthError {
  code?: number;
  message?: string;
}

/** Turns anything thrown on an admin or lifecycle route into `{error, message}`; unknown errors say nothing of their insides. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) return next(err);
    const e = toAppError(err);
    if (e.status >= 500 && e.code === 'internal') logger.error({ err, path: req.path }, 'unhandled error');
    if (e.code === 'database_unavailable') {
      logger.warn({ err: (err as Error).message, path: req.path }, 'database unavailable');
      res.setHeader('Retry-After', String(DATABASE_RETRY_AFTER_S));
    }
    res.status(e.status).json({ error: e.code, message: e.message, ...(e.details ?? {}) });
  };
}

function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const bp = err as BodyParserError;
  if (bp?.type === 'entity.too.large')
    return new AppError(413, 'payload_too_large', 'The request body is larger than 1 MB.');
  if (err instanceof URIError) return new AppError(400, 'invalid_request', MALFORMED_URL);
  if (err instanceof TooDeep) return new AppError(400, 'invalid_request', err.message);
  if (bp?.type === 'entity.parse.failed')
    return new AppError(400, 'malformed_json', 'The request body is not valid JSON.');
  if (bp?.type && bp.status && bp.status < 500)
    return new AppError(bp.status, 'invalid_request', 'The request body could not be read.');
  if (isDatabaseUnavailable(err)) return new AppError(503, 'database_unavailable', DATABASE_UNAVAILABLE);
  // atlassian-connect-express hands its authentication failures on as {code, message}.
  const ace = err as AceAuthError;
  if (typeof ace?.code === 'number' && ace.code >= 400 && ace.code < 500) return unauthorized(ace.message ?? undefined);
  return new AppError(500, 'internal', 'Something went wrong on our side; it has been logged.');
}
