import type { Request, RequestHandler, Response } from 'express';
import type { AuditActor, AuditEvent, AuditRepository } from '../../db/audit';
import type { ConnectionRepository } from '../../db/connections';
import { isUuid } from '../../db/ids';
import { requireContext } from '../../http/context';
import type { Logger } from '../../logger';
import { rulesOf } from '../../provisioning/rules';
import { kindOf } from '../../sources/registry';
import { presentConnection } from '../presenters';
import { differences } from './diff';

/** What the trail needs: where to write, what a connection looks like before and after, who a user is. */
export interface TrailDeps {
  audit: AuditRepository;
  connections: ConnectionRepository;
  localBaseUrl: string;
  /** Which host the admin API is mounted for (a token's calls say `api-token`). */
  host: 'connect' | 'forge';
  logger: Logger;
}

type Snapshot = 'connection' | 'rules';

/** One audited route: its method and path (relative to /api/v1), what it is, and what to compare. */
interface Audited {
  method: string;
  path: RegExp;
  kind: string | ((req: Request) => string);
  /** The path's id is a connection's (looked up before the change, for its name and what to compare). */
  onConnection?: true;
  snapshot?: Snapshot;
  /** The sentence shown in the trail, from the connection's name (or the answer's). */
  summary: (name: string, req: Request, answer: Answer) => string;
  /** What the event keeps besides a snapshot's difference (never a secret). */
  details?: (req: Request, answer: Answer) => Record<string, unknown>;
  /** The connection an event is about when the path names none (the answer's). */
  connectionIn?: (answer: Answer) => unknown;
}

type Answer = Record<string, unknown>;
const bodyOf = (req: Request) => (req.body ?? {}) as Record<string, unknown>;
const dryRun = (req: Request) => bodyOf(req).dryRun === true;

const q = (name: string) => `"${name}"`;

/**
 * Every change the admin API makes. Tests (test/admin/audit.test.ts) call each; reads, tests of a
 * connection and previews change nothing and are not recorded.
 */
const AUDITED: Audited[] = [
  {
    method: 'PUT',
    path: /^\/site-credentials$/,
    kind: 'site-credentials.saved',
    summary: (_n, req) => `Site credentials saved (${secretFieldsNamed(req, ['apiToken', 'orgApiKey'])})`,
    details: (req) => ({
      email: bodyOf(req).email ?? null,
      orgId: bodyOf(req).orgId ?? null,
      secrets: secretFieldsNamed(req, ['apiToken', 'orgApiKey']),
    }),
  },
  {
    method: 'POST',
    path: /^\/connections$/,
    kind: 'connection.created',
    summary: (_n, _r, a) => `Connection ${q(String(a.name))} created (${String(a.kind)})`,
    details: (_r, a) => ({ name: a.name, kind: a.kind, provider: a.provider }),
    connectionIn: (a) => a.id,
  },
  {
    method: 'PATCH',
    path: /^\/connections\/([^/]+)$/,
    kind: 'connection.updated',
    onConnection: true,
    snapshot: 'connection',
    summary: (n) => `Connection ${q(n)} updated`,
  },
  {
    method: 'DELETE',
    path: /^\/connections\/([^/]+)$/,
    kind: 'connection.deleted',
    onConnection: true,
    snapshot: 'connection',
    summary: (n) => `Connection ${q(n)} deleted`,
  },
  {
    method: 'POST',
    path: /^\/connections\/([^/]+)\/token$/,
    kind: 'scim-token.rotated',
    onConnection: true,
    summary: (n) => `SCIM token of ${q(n)} rotated`,
  },
  {
    method: 'PUT',
    path: /^\/connections\/([^/]+)\/rules$/,
    kind: 'rules.changed',
    onConnection: true,
    snapshot: 'rules',
    summary: (n) => `Rules of ${q(n)} changed`,
  },
  {
    method: 'POST',
    path: /^\/connections\/([^/]+)\/sync$/,
    kind: (req) => (dryRun(req) ? 'sync.dry-run' : 'sync.started'),
    onConnection: true,
    summary: (n, req) => (dryRun(req) ? `Dry run of ${q(n)}` : `Sync of ${q(n)} started`),
    details: (req, a) => ({ dryRun: dryRun(req), mode: bodyOf(req).mode ?? null, runId: a.id ?? null }),
  },
  {
    method: 'POST',
    path: /^\/runs\/([^/]+)\/retry$/,
    kind: 'sync.parked-retried',
    summary: (_n, _r, a) => `Parked operations put back (${Number(a.requeued ?? 0)})`,
    details: (_r, a) => ({ runId: a.id ?? null, requeued: a.requeued ?? null }),
    connectionIn: (a) => a.connectionId,
  },
  {
    method: 'POST',
    path: /^\/connections\/([^/]+)\/resume$/,
    kind: 'connection.resumed',
    onConnection: true,
    summary: (n) => `Connection ${q(n)} resumed`,
  },
  {
    method: 'PUT',
    path: /^\/notifications$/,
    kind: 'notifications.changed',
    summary: () => 'Notification settings changed',
  },
  {
    method: 'POST',
    path: /^\/notifications\/test$/,
    kind: 'notifications.tested',
    summary: (_n, _r, a) => `Test notification sent (${deliveriesSaid(a)})`,
  },
  {
    method: 'POST',
    path: /^\/api-tokens$/,
    kind: 'api-token.created',
    summary: (_n, _r, a) =>
      `API token ${q(String(a.name))} created (${a.access === 'write' ? 'read-write' : 'read-only'})`,
    details: (_r, a) => tokenDetails(a),
  },
  {
    method: 'DELETE',
    path: /^\/api-tokens\/([^/]+)$/,
    kind: 'api-token.revoked',
    summary: (_n, _r, a) => `API token ${q(String(a.name))} revoked`,
    details: (_r, a) => tokenDetails(a),
  },
];

const deliveriesSaid = (a: Answer) =>
  ((a.deliveries ?? []) as Array<{ channel: string; status: string }>)
    .map((d) => `${d.channel} ${d.status}`)
    .join(', ');

const tokenDetails = (a: Answer) => ({
  tokenId: a.id,
  name: a.name,
  access: a.access,
  expiresAt: a.expiresAt ?? null,
});

/** Which secret fields a body set (named, never shown) — "apiToken set", "orgApiKey removed". */
function secretFieldsNamed(req: Request, fields: string[]): string {
  const body = bodyOf(req);
  const named = fields.filter((f) => f in body).map((f) => `${f} ${body[f] === null ? 'removed' : 'set'}`);
  return named.length ? named.join(', ') : 'no secret changed';
}

/**
 * Records every change made through the admin API in the site's audit trail: who (the Jira user or
 * the API token), when, through which host, what (for a connection or its rules, the difference;
 * a secret only as "set"). The answer waits for the record, so a change is never answered and then
 * lost from the trail; a record that cannot be written is logged and the answer goes out.
 */
export function auditTrail(deps: TrailDeps): RequestHandler {
  return (req, res, next) => {
    const route = AUDITED.find((a) => a.method === req.method && a.path.test(req.path));
    if (!route) return next();
    const connectionId = route.onConnection ? route.path.exec(req.path)?.[1] : undefined;
    const before =
      connectionId && isUuid(connectionId)
        ? snapshotOf(deps, req, connectionId, route.snapshot)
        : Promise.resolve(undefined);
    before.then(
      (b) => {
        holdAnswer(res, (answer) => record(deps, req, res, route, b, answer));
        next();
      },
      (err: unknown) => next(err),
    );
  };
}

interface Seen {
  name: string;
  connectionId: string;
  state?: unknown;
}

async function snapshotOf(deps: TrailDeps, req: Request, id: string, what?: Snapshot): Promise<Seen | undefined> {
  const c = await deps.connections.get(requireContext(req).clientKey, id);
  if (!c) return undefined;
  const state =
    what === 'rules'
      ? rulesOf(c.settings)
      : what === 'connection'
        ? { ...presentConnection(c, deps.localBaseUrl), updatedAt: undefined }
        : undefined;
  return { name: c.name, connectionId: c.id, state };
}

/** Holds the answer's end until `before` has run (with the JSON answer, when there is one). */
function holdAnswer(res: Response, before: (answer: Answer) => Promise<void>): void {
  let answer: Answer = {};
  const json = res.json.bind(res);
  res.json = (body: unknown) => {
    if (body && typeof body === 'object') answer = body as Answer;
    return json(body);
  };
  const end = res.end.bind(res) as (...args: unknown[]) => Response;
  res.end = ((...args: unknown[]) => {
    if (res.statusCode >= 400) return end(...args);
    void before(answer).finally(() => end(...args));
    return res;
  }) as Response['end'];
}

async function record(
  deps: TrailDeps,
  req: Request,
  res: Response,
  route: Audited,
  before: Seen | undefined,
  answer: Answer,
): Promise<void> {
  const ctx = requireContext(req);
  try {
    const after =
      before?.state !== undefined ? await snapshotOf(deps, req, before.connectionId, route.snapshot) : undefined;
    const actor: AuditActor = ctx.apiToken
      ? { kind: 'api-token', id: ctx.apiToken.id, name: ctx.apiToken.name }
      : { kind: 'user', id: ctx.userAccountId ?? 'unknown', name: null };
    const event: Omit<AuditEvent, 'id' | 'at'> = {
      actor,
      via: ctx.apiToken ? 'api-token' : deps.host,
      kind: typeof route.kind === 'string' ? route.kind : route.kind(req),
      connectionId: before?.connectionId ?? idOrNull(route.connectionIn?.(answer)),
      summary: route.summary(after?.name ?? before?.name ?? '', req, answer),
      // A handler that knows the difference itself (settings that are not a connection's) leaves it in res.locals.
      details: {
        ...route.details?.(req, answer),
        ...differenceOf(req, before, after),
        ...(res.locals.auditDetails as Record<string, unknown> | undefined),
      },
    };
    // A user's name is asked of Jira when the trail is read (one call for a page), not on every change.
    await deps.audit.record(ctx.clientKey, event);
  } catch (err) {
    deps.logger.error({ err, path: req.path, status: res.statusCode }, 'an audit event could not be recorded');
  }
}

const idOrNull = (v: unknown) => (typeof v === 'string' && isUuid(v) ? v : null);

/** For a connection or its rules: what changed (`changes`), and a source's secret only as "set". */
function differenceOf(req: Request, before: Seen | undefined, after: Seen | undefined): Record<string, unknown> {
  if (before?.state === undefined) return {};
  const details: Record<string, unknown> = { changes: differences(before.state, after?.state) };
  const kind = kindOf(String((before.state as { kind?: string }).kind ?? ''));
  if (kind && kind.secretField in bodyOf(req)) details.secret = `${kind.secretField} set`;
  return details;
}
