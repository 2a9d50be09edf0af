import type { Request } from 'express';

/** What ACE's authentication leaves on the request. */
export interface ConnectContext {
  clientKey: string;
  userAccountId?: string;
  hostBaseUrl?: string;
}

/** The verified Connect context of a request, or undefined before authentication. */
export function connectContext(req: Request): ConnectContext | undefined {
  const ctx = (req as Request & { context?: Partial<ConnectContext> }).context;
  return ctx?.clientKey ? (ctx as ConnectContext) : undefined;
}

/** The verified context; only for handlers behind the authentication middleware. */
export function requireContext(req: Request): ConnectContext {
  const ctx = connectContext(req);
  if (!ctx) throw new Error('route is missing its authentication middleware');
  return ctx;
}
