import { Router, type Request, type RequestHandler } from 'express';
import { asyncHandler } from '../http/asyncHandler';
import type { Logger } from '../logger';
import type { ForgeTrust } from './authenticate';
import { answerMiss, logFound } from './lifecycle';

/** What Forge's `avi:jira:created:user` says of the new user (the event's `user`, Jira's UserDetails). */
export interface CreatedUser {
  accountId?: string;
  emailAddress?: string;
  accountType?: string;
}

export interface ForgeEventDeps {
  trust: ForgeTrust;
  logger: Logger;
  /** Queues first-login work for a new Jira user; must not wait for it (Forge gives events 5 s). */
  userCreated: (clientKey: string, user: CreatedUser) => void;
  /** The scheduled trigger woke the remote for a site (its token, if fresh, is already kept). */
  scheduled: (clientKey: string) => Promise<void>;
}

/**
 * Forge's product events and scheduled trigger, as endpoints of our remote. Both answer at once
 * (Forge waits 5 s, then retries up to 4 times): the work is queued, and a retry of the same event
 * finds it done or queued. Like every backend call they carry no `context`: the site is found from
 * the installation (ForgeSites). A call for an installation this server has no site for is answered
 * too (202), so Forge does not retry what cannot succeed.
 */
export function forgeEventsRouter(deps: ForgeEventDeps): Router {
  const router = Router();
  // A new user on a site this server has no site for needs nothing: the site has no connections.
  router.post(
    '/forge/events/user-created',
    event(deps, 'Forge user-created event', { create: false }, async (clientKey, req) => {
      const payload = eventPayload(req);
      const user = (payload.user ?? {}) as CreatedUser;
      if (payload.eventType && payload.eventType !== 'avi:jira:created:user') return;
      if (typeof user.accountId === 'string') deps.userCreated(clientKey, user);
    }),
  );
  // The hourly trigger may make the site: it heals an install whose lifecycle event never arrived.
  router.post(
    '/forge/scheduled',
    event(deps, 'Forge scheduled trigger', { create: true }, (clientKey) => deps.scheduled(clientKey)),
  );
  return router;
}

function event(
  deps: ForgeEventDeps,
  what: string,
  opts: { create: boolean },
  handle: (clientKey: string, req: Request) => Promise<void>,
): RequestHandler {
  return asyncHandler(async (req, res) => {
    const call = await deps.trust.verify(req, opts);
    if (!call.tenant) return answerMiss(deps.logger, what, call, res);
    if (call.found.how !== 'known') logFound(deps.logger, what, call);
    await handle(call.tenant.clientKey, req);
    res.status(204).end();
  });
}

/** Forge sends an event as `{payload: {...}}` (with `retryContext` on a redelivery); a bare event is read too. */
function eventPayload(req: Request): Record<string, unknown> {
  const body = (req.body ?? {}) as Record<string, unknown>;
  const payload = body.payload;
  return payload && typeof payload === 'object' ? (payload as Record<string, unknown>) : body;
}
