import type { RequestHandler, Response } from 'express';
import { z } from 'zod';
import type { AuditEvent, AuditFilter, AuditRepository } from '../../db/audit';
import { requireContext } from '../../http/context';
import type { JiraClientFactory } from '../../jira/factory';
import type { Logger } from '../../logger';
import { withQuery } from '../validate';

export interface AuditDeps {
  audit: AuditRepository;
  jira: JiraClientFactory;
  logger: Logger;
}

/** Jira allows up to 200 account ids in one bulk user call. */
const BULK_USERS = 200;

/**
 * Names the users of events recorded without one: Jira is asked once for a page's unnamed actors
 * (a bulk call of up to 200), and the names are kept, so a change costs no Jira call and a page
 * read once costs none the next time. When Jira does not answer, the account ids stand.
 */
async function named(deps: AuditDeps, clientKey: string, events: AuditEvent[]): Promise<AuditEvent[]> {
  const unnamed = [...new Set(events.filter((e) => e.actor.kind === 'user' && !e.actor.name).map((e) => e.actor.id))];
  if (unnamed.length === 0) return events;
  const names = new Map<string, string>();
  try {
    for (let i = 0; i < unnamed.length; i += BULK_USERS) {
      const page = await deps.jira.forTenant(clientKey).bulkGetUsers(unnamed.slice(i, i + BULK_USERS));
      for (const u of page.values) if (u.displayName) names.set(u.accountId, u.displayName);
    }
  } catch (err) {
    deps.logger.warn({ err, clientKey }, "audit trail: Jira did not say its users' names");
  }
  for (const [id, name] of names) await deps.audit.nameActor(clientKey, id, name);
  return events.map((e) =>
    e.actor.kind === 'user' && !e.actor.name && names.has(e.actor.id)
      ? { ...e, actor: { ...e.actor, name: names.get(e.actor.id)! } }
      : e,
  );
}

const filters = {
  connectionId: z.string().uuid({ message: 'must be a connection id' }).optional(),
  actor: z
    .string()
    .regex(/^[\x21-\x7e]{1,128}$/, 'must be a Jira account id or an API token id')
    .optional(),
  kind: z
    .string()
    .regex(/^[a-z][a-z.-]{0,63}$/, 'must be an event kind such as connection.updated, or its first part (connection)')
    .optional(),
};
const pageQuery = z
  .object({
    ...filters,
    before: z
      .string()
      .regex(/^\d{1,18}$/, "must be the previous page's `next`")
      .optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
  })
  .strict();
const exportQuery = z.object({ ...filters, format: z.enum(['csv', 'json']).default('json') }).strict();

/** An event as the API shows it. */
export const presentAuditEvent = (e: AuditEvent) => ({
  id: e.id,
  at: e.at.toISOString(),
  actor: e.actor,
  via: e.via,
  kind: e.kind,
  connectionId: e.connectionId,
  summary: e.summary,
  details: e.details,
});

/** GET /api/v1/audit: the site's audit trail, newest first, filtered, a page at a time (`next` for the next). */
export const listAudit = (deps: AuditDeps): RequestHandler =>
  withQuery(pageQuery, async ({ limit, ...filter }, req, res) => {
    const { clientKey } = requireContext(req);
    const events = await deps.audit.page(clientKey, filter, limit + 1);
    const page = await named(deps, clientKey, events.slice(0, limit));
    res.json({
      events: page.map(presentAuditEvent),
      next: events.length > limit ? page[page.length - 1].id : null,
    });
  });

const EXPORT_PAGE = 1000;
const CSV_COLUMNS = [
  'id',
  'at',
  'actorKind',
  'actorId',
  'actorName',
  'via',
  'kind',
  'connectionId',
  'summary',
  'details',
];

/** GET /api/v1/audit/export?format=csv|json: every event the filters keep, as a file (a page of the database at a time). */
export const exportAudit = (deps: AuditDeps): RequestHandler =>
  withQuery(exportQuery, async ({ format, ...filter }, req, res) => {
    const { clientKey } = requireContext(req);
    const stamp = new Date().toISOString().slice(0, 10);
    res.attachment(`audit-${stamp}.${format}`);
    res.type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8');
    if (format === 'csv') res.write(`${CSV_COLUMNS.join(',')}\r\n`);
    else res.write('[');
    let first = true;
    for await (const e of all(deps, clientKey, filter)) {
      if (format === 'csv') res.write(`${csvRow(e)}\r\n`);
      else res.write(`${first ? '' : ','}\n${JSON.stringify(presentAuditEvent(e))}`);
      first = false;
      await drained(res);
    }
    res.end(format === 'csv' ? '' : '\n]\n');
  });

async function* all(deps: AuditDeps, clientKey: string, filter: AuditFilter): AsyncGenerator<AuditEvent> {
  const { audit } = deps;
  let before: string | undefined;
  for (;;) {
    const page = await audit.page(clientKey, { ...filter, before }, EXPORT_PAGE);
    yield* await named(deps, clientKey, page);
    if (page.length < EXPORT_PAGE) return;
    before = page[page.length - 1].id;
  }
}

/** Waits while the client reads slower than the export is written. */
function drained(res: Response): Promise<void> {
  return res.writableNeedDrain ? new Promise((r) => res.once('drain', () => r())) : Promise.resolve();
}

function csvRow(e: AuditEvent): string {
  return [
    e.id,
    e.at.toISOString(),
    e.actor.kind,
    e.actor.id,
    e.actor.name ?? '',
    e.via,
    e.kind,
    e.connectionId ?? '',
    e.summary,
    JSON.stringify(e.details),
  ]
    .map(csvField)
    .join(',');
}

/** A CSV field: quoted when it must be, and never read as a formula by a spreadsheet (OWASP's CSV injection). */
export function csvField(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) || safe !== value ? `"${safe.replace(/"/g, '""')}"` : safe;
}
