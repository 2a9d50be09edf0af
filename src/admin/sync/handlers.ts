import type { RequestHandler } from 'express';
import { z } from 'zod';
import { asyncHandler as wrap } from '../../http/asyncHandler';
import { requireContext } from '../../http/context';
import { isUuid } from '../../db/ids';
import type { ConnectionRepository } from '../../db/connections';
import type { ProvisioningEngine } from '../../provisioning/engine';
import { previewMapping } from '../../provisioning/planning/groupMapping';
import { rulesOf, rulesSchema } from '../../provisioning/rules';
import type { Outbox } from '../../provisioning/stores/outbox';
import type { RunRepository } from '../../provisioning/stores/runs';
import { startManualSync } from '../../jobs/manual';
import { conflict, idpUnavailable, invalidField, jiraUnavailable, notFound } from '../../http/errors';
import { kindOf, type PullSources } from '../../sources/registry';
import { presentOperation, presentPlanned, whoOf } from '../presentOperations';
import { presentRun } from '../presenters';
import type { LinkRepository, Names } from '../../provisioning/stores/links';
import type { Operation } from '../../provisioning/planning/types';
import type { JsmCatalog } from '../jsm/known';
import { withBody, withQuery } from '../validate';

export interface SyncDeps {
  connections: ConnectionRepository;
  /** The site's JSM desks and organizations, to refuse rules that name ones that do not exist. */
  jsm: JsmCatalog;
  engine: ProvisioningEngine;
  runs: RunRepository;
  links: LinkRepository;
  outbox: Outbox;
  sources: PullSources;
}

/** The emails and names of who a page of operations is about, looked up in one go. */
async function namesFor(deps: SyncDeps, connectionId: string, ops: Operation[]): Promise<Names> {
  const { userIds, accountIds } = whoOf(ops);
  return deps.links.names(connectionId, userIds.filter(isUuid), accountIds);
}

export const syncBodySchema = z
  .object({
    dryRun: z.boolean().default(false),
    /** Pull connections: "full" reads everything; "incremental" (the default) reads changes since the last sync when it can. */
    mode: z
      .enum(['full', 'incremental'], { errorMap: () => ({ message: 'must be "full" or "incremental"' }) })
      .optional(),
  })
  .strict();
export const previewSchema = z
  .object({ samples: z.array(z.string().max(255)).max(100), rules: rulesSchema.optional() })
  .strict();

async function connectionOr404(deps: SyncDeps, clientKey: string, id: string) {
  const c = await deps.connections.get(clientKey, id);
  if (!c) throw notFound('No such connection.');
  return c;
}

/** GET /api/v1/connections/{id}/rules: the rules in force, defaults filled in. */
export const getRules = (deps: SyncDeps): RequestHandler =>
  wrap(async (req, res) => {
    const c = await connectionOr404(deps, requireContext(req).clientKey, req.params.id);
    res.json(rulesOf(c.settings));
  });

/** PUT /api/v1/connections/{id}/rules: validates (naming each wrong field), fills defaults, stores, and asks for a run. */
export const putRules = (deps: SyncDeps): RequestHandler =>
  withBody(rulesSchema, async (rules, req, res) => {
    const { clientKey } = requireContext(req);
    await connectionOr404(deps, clientKey, req.params.id);
    await deps.jsm.check(clientKey, rules);
    await deps.connections.saveSettings(clientKey, req.params.id, { rules });
    // New rules concern every user: a run plans them all (from the Jira state the app knows) once the admin is done.
    await deps.outbox.requestRun(req.params.id, 'rules');
    res.json(rules);
  });

/** POST /api/v1/connections/{id}/rules/preview: what sample IdP group names map to (saved or given rules). */
export const previewRules = (deps: SyncDeps): RequestHandler =>
  withBody(previewSchema, async (body, req, res) => {
    const c = await connectionOr404(deps, requireContext(req).clientKey, req.params.id);
    const rules = body.rules ?? rulesOf(c.settings);
    res.json({ mappings: previewMapping(body.samples, rules.groups) });
  });

/** POST /api/v1/connections/{id}/sync: a dry run returns the plan; otherwise a run starts (202). */
export const startSync = (deps: SyncDeps): RequestHandler =>
  withBody(syncBodySchema, async ({ dryRun, mode }, req, res) => {
    const c = await connectionOr404(deps, requireContext(req).clientKey, req.params.id);
    if (mode && !kindOf(c.kind))
      throw invalidField(
        'mode',
        'mode: only for connections that read the IdP (a SCIM connection is pushed to)',
        'only for pull connections',
      );
    const result = await startManualSync(deps, c, { dryRun, mode });
    switch (result.kind) {
      case 'plan': {
        const names = await namesFor(
          deps,
          c.id,
          result.plan.operations.map((p) => p.op),
        );
        res.json({
          dryRun: true,
          operations: result.plan.operations.map((p) => presentPlanned(p, names)),
          warnings: result.plan.warnings,
        });
        return;
      }
      case 'started':
        res.status(202).location(`/api/v1/runs/${result.run.id}`).json(presentRun(result.run));
        return;
      case 'busy':
        throw conflict('run_in_progress', 'A sync of this connection is already running; wait for it to finish.', {
          runId: result.runId ?? null,
        });
      case 'failed':
        if (result.needs) throw conflict('needs_credentials', result.error, { needs: result.needs });
        throw deps.sources.for(c) && !result.error.startsWith('Could not read Jira')
          ? idpUnavailable(result.error)
          : jiraUnavailable(result.error);
    }
  });

/** GET /api/v1/connections/{id}/runs: the sync history, newest first. */
export const listRuns = (deps: SyncDeps): RequestHandler =>
  wrap(async (req, res) => {
    const c = await connectionOr404(deps, requireContext(req).clientKey, req.params.id);
    res.json({ runs: (await deps.runs.runs(c.id)).map(presentRun) });
  });

/** GET /api/v1/runs/{id}?status=parked&limit=100&after=…: one run with a page of its operations (optionally of one status). */
export const getRun = (deps: SyncDeps): RequestHandler =>
  withQuery(runQuerySchema, async ({ status, limit, after }, req, res) => {
    const { clientKey } = requireContext(req);
    const run = isUuid(req.params.id) ? await deps.runs.run(clientKey, req.params.id) : undefined;
    if (!run) throw notFound('No such run.');
    const ops = await deps.runs.operations(run.id, status, { limit: limit + 1, after });
    const page = ops.slice(0, limit);
    const names = await namesFor(
      deps,
      run.connectionId,
      page.map((o) => o.payload as unknown as Operation),
    );
    res.json({
      ...presentRun(run),
      operations: page.map((o) => presentOperation(o, names)),
      nextOperations: ops.length > limit ? (page[page.length - 1]?.id ?? after ?? '0') : null,
    });
  });

export const runQuerySchema = z
  .object({
    status: z
      .enum(['pending', 'running', 'done', 'parked'], {
        errorMap: () => ({ message: 'must be pending, running, done or parked' }),
      })
      .optional(),
    limit: z.coerce
      .number({ invalid_type_error: 'must be a number' })
      .int('must be a whole number')
      .min(0, 'must be 0–1000')
      .max(1000, 'must be 0–1000')
      .default(500),
    after: z
      .string()
      .regex(/^\d{1,18}$/, 'must be an operation id (from nextOperations)')
      .optional(),
  })
  .passthrough();
