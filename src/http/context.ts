import type { Request } from 'express';

/**
 * Who is calling, as the host's authentication established it: the site (tenant), the user and
 * the site's base URL. A host (Connect today through ACE, Forge later) leaves it on the request;
 * the routes behind it read it here without knowing which host it was.
 */
export interface RequestContext {
  clientKey: string;
  userAccountId?: string;
  hostBaseUrl?: string;
  /** Set when a script called with one of the site's admin API tokens (then there is no user). */
  apiToken?: { id: string; name: string; access: 'read' | 'write' };
}

/** Leaves a verified context on the request (what a host's authentication does). */
export function setRequestContext(req: Request, ctx: RequestContext): void {
  (req as Request & { context?: RequestContext }).context = ctx;
}

/** The verified context of a request, or undefined before authentication. */
export function requestContext(req: Request): RequestContext | undefined {
  const ctx = (req as Request & { context?: Partial<RequestContext> }).context;
  return ctx?.clientKey ? (ctx as RequestContext) : undefined;
}

/** The verified context; only for handlers behind the authentication middleware. */
export function requireContext(req: Request): RequestContext {
  const ctx = requestContext(req);
  if (!ctx) throw new Error('route is missing its authentication middleware');
  return ctx;
}
