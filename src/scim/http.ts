import type { Request, Response } from 'express';
import type { ScimConnection } from './auth';
import { preconditionFailed } from './errors';
import { LIST_RESPONSE } from './schemas';

export const SCIM_CONTENT_TYPE = 'application/scim+json; charset=utf-8';

/** Sends a SCIM JSON body with the SCIM media type. */
export function sendScim(res: Response, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res
    .status(status)
    .set({ 'Content-Type': SCIM_CONTENT_TYPE, ...headers })
    .send(JSON.stringify(body));
}

/** Sends a page of resources as a SCIM ListResponse (RFC 7644 §3.4.2). */
export function sendList(res: Response, totalResults: number, startIndex: number, resources: unknown[]): void {
  sendScim(res, 200, {
    schemas: [LIST_RESPONSE],
    totalResults,
    startIndex,
    itemsPerPage: resources.length,
    Resources: resources,
  });
}

/** The connection the request authenticated for (set by requireScimToken). */
export function connectionOf(res: Response): ScimConnection {
  return res.locals.connection as ScimConnection;
}

/** The base URL of this connection's SCIM endpoint, for locations and $refs. */
export function baseUrlOf(req: Request, localBaseUrl: string): string {
  return `${localBaseUrl}/scim/v2/${req.params.connectionId}`;
}

/** Runs an async handler, passing its errors on. */
export { asyncHandler as handler } from '../http/asyncHandler';

const bare = (tag: string) => tag.trim().replace(/^W\//, '');

/** Honours If-Match (RFC 7644 §3.14): a stale version is 412. */
export function checkIfMatch(req: Request, currentEtag: string): void {
  const header = req.headers['if-match'];
  if (!header) return;
  const wanted = header.split(',').map((t) => t.trim());
  if (wanted.includes('*') || wanted.some((t) => bare(t) === bare(currentEtag))) return;
  throw preconditionFailed(`The resource has changed: its version is ${currentEtag}.`);
}

/** True when If-None-Match names the current version (GET answers 304). */
export function notModified(req: Request, currentEtag: string): boolean {
  const header = req.headers['if-none-match'];
  return Boolean(header && header.split(',').some((t) => bare(t) === bare(currentEtag)));
}
