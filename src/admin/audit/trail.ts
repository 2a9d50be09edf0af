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
  snapshot?: Snapshot;
  /** The sentence shown in the trail, from the connection's name (or the answer's). */
  summary: (name: string, req: Request, answer: Record<string, unknown>) => string;
}

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
  },
  {
    method: 'POST',
    path: /^\/connections$/,
    kind: 'connection.created',
    summary: (_n, _r, a) => `Connection ${q(String(a.name))} created (${String(a.kind)})`,
  },
  {
    method: 'PATCH',
    path: /^\/connections\/([^/]+)$/,
    kind: 'connection.updated',
    snapshot: 'connection',
    summary: (n) => `Connection ${q(n)} updated`,
  },
  {
    method: 'DELETE',
    path: /^\/connections\/([^/]+)$/,
    kind: 'connection.deleted',
    snapshot: 'connection',
    summary: (n) => `Connection ${q(n)} deleted`,
  },
  {
    method: 'POST',
    path: /^\/connections\/([^/]+)\/token$/,
    kind: 'scim-token.rotated',
    summary: (n) => `SCIM token of ${q(n)} rotated`,
  },
  {
    method: 'PUT',
    path: /^\/connections\/([^/]+)\/rules$/,
    kind: 'rules.changed',
    snapshot: 'rules',
    summary: (n) => `Rules of ${q(n)} changed`,
  },
  {
    method: 'POST',
    path: /^\/connections\/([^/]+)\/sync$/,
    kind: (req) => ((req.body as { dryRun?: unknown } | undefined)?.dryRun === true ? 'sync.dry-run' : 'sync.started'),
    summary: (n, req) =>
      (req.body as { dryRun?: unknown } | undefined)?.dryRun === true
        ? `Dry run of ${q(n)}`
        : `Sync of ${q(n)} started`,
  },
  {
    method: 'POST',
    path: /^\/runs\/([^/]+)\/retry$/,
    kind: 'sync.parked-retried',
    summary: (_n, _r, a) => `Parked operations put back (${Number(a.requeued ?? 0)})`,
  },
  {
    method: 'POST',
    path: /^\/api-tokens$/,
    kind: 'api-token.created',
    summary: (_n, _r, a) =>
      `API token ${q(String(a.name))} created (${a.access === 'write' ? 'read-write' : 'read-only'})`,
  },
  {
    method: 'DELETE',
    path: /^\/api-tokens\/([^/]+)$/,
    kind: 'api-token.revoked',
    summary: (_n, _r, a) => `API token ${q(String(a.name))} revoked`,
  },
];

/** Which secret fields a body set (named, never shown) — "apiToken set", "orgApiKey removed". */
function secretFieldsNamed(req: Request, fields: string[]): string {
  const body = (req.body ?? {}) as Record<string, unknown>;
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
    const connectionId = route.path.exec(req.path)?.[1];
    const before =
      connectionId && isUuid(connectionId) && !req.path.startsWith('/api-tokens')
        ? snapshotOf(deps, req, connectionId, route.snapshot)
        : Promise.resolve(undefined);
    before.then(
      (b) => {
        holdAnswer(res, (answer) => record(deps, req, res, route, connectionId, b, answer));
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
  if (req.path.startsWith('/runs/')) return undefined;
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
function holdAnswer(res: Response, before: (answer: Record<string, unknown>) => Promise<void>): void {
  let answer: Record<string, unknown> = {};
  const json = res.json.bind(res);
  res.json = (body: unknown) => {
    if (body && typeof body === 'object') answer = body as Record<string, unknown>;
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
  connectionId: string | undefined,
  before: Seen | undefined,
  answer: Record<string, unknown>,
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
      connectionId: connectionOf(req, before, answer, connectionId),
      summary: route.summary(after?.name ?? before?.name ?? '', req, answer),
      details: detailsOf(req, route, before, after, answer),
    };
    // A user's name is asked of Jira when the trail is read (one call for a page), not on every change.
    await deps.audit.record(ctx.clientKey, event);
  } catch (err) {
    deps.logger.error({ err, kind: route.kind, status: res.statusCode }, 'an audit event could not be recorded');
  }
}

/** The connection an event is about: the route's, or the one the answer created. */
function connectionOf(
  req: Request,
  before: Seen | undefined,
  answer: Record<string, unknown>,
  fromPath: string | undefined,
): string | null {
  if (before) return before.connectionId;
  if (req.path === '/connections' && typeof answer.id === 'string') return answer.id;
  if (req.path.startsWith('/runs/') && typeof answer.connectionId === 'string') return answer.connectionId;
  return fromPath && isUuid(fromPath) && req.path.startsWith('/connections/') ? fromPath : null;
}

function detailsOf(
  req: Request,
  route: Audited,
  before: Seen | undefined,
  after: Seen | undefined,
  answer: Record<string, unknown>,
): Record<string, unknown> {
  const body = (req.body ?? {}) as Record<string, unknown>;
  if (route.snapshot && before?.state !== undefined) {
    const details: Record<string, unknown> = {
      changes: differences(before.state, after?.state),
    };
    const kind = kindOf(String((before.state as { kind?: string }).kind ?? ''));
    if (kind && kind.secretField in body) details.secret = `${kind.secretField} set`;
    return details;
  }
  if (req.path === '/connections') return { name: answer.name, kind: answer.kind, provider: answer.provider };
  if (req.path.endsWith('/sync'))
    return { dryRun: body.dryRun === true, mode: body.mode ?? null, runId: answer.id ?? null };
  if (req.path.startsWith('/runs/')) return { runId: answer.runId ?? null, requeued: answer.requeued ?? null };
  if (req.path.startsWith('/api-tokens'))
    return { tokenId: answer.id, name: answer.name, access: answer.access, expiresAt: answer.expiresAt ?? null };
  if (req.path === '/site-credentials')
    return {
      email: body.email ?? null,
      orgId: body.orgId ?? null,
      secrets: secretFieldsNamed(req, ['apiToken', 'orgApiKey']),
    };
  return {};
}
