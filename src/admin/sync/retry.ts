import type { RequestHandler } from 'express';
import { isUuid } from '../../db/ids';
import { asyncHandler as wrap } from '../../http/asyncHandler';
import { requireContext } from '../../http/context';
import { conflict, notFound } from '../../http/errors';
import type { Logger } from '../../logger';
import type { ProvisioningEngine } from '../../provisioning/engine';
import type { ParkedOperations } from '../../provisioning/stores/parked';
import type { RunRepository } from '../../provisioning/stores/runs';
import { presentRun } from '../presenters';

export interface RetryDeps {
  runs: RunRepository;
  parked: ParkedOperations;
  engine: ProvisioningEngine;
  logger: Logger;
}

/**
 * POST /api/v1/runs/{id}/retry: puts a finished run's parked operations back to be applied (Jira is
 * back, a credential was saved); 202 with the run, applying again, and how many went back.
 */
export const retryParked = (deps: RetryDeps): RequestHandler =>
  wrap(async (req, res) => {
    const { clientKey, userAccountId } = requireContext(req);
    const id = req.params.id;
    const result = isUuid(id) ? await deps.parked.retry(clientKey, id) : ({ kind: 'not-found' } as const);
    switch (result.kind) {
      case 'not-found':
        throw notFound('No such run.');
      case 'busy':
        throw conflict(
          'run_in_progress',
          'This run, or another sync of its connection, is still going: retry its parked operations when it has ended.',
        );
      case 'nothing':
        throw conflict(
          'nothing_to_retry',
          result.superseded
            ? `Its ${result.superseded} parked operation(s) were planned again by a later sync, which saw fresher state: nothing is left to retry here.`
            : 'This run has no parked operations.',
          { superseded: result.superseded },
        );
      case 'requeued': {
        deps.logger.info(
          { runId: id, requeued: result.requeued, by: userAccountId ?? requireContext(req).apiToken?.name },
          'parked operations put back',
        );
        deps.engine.kick();
        const run = await deps.runs.run(clientKey, id);
        res.status(202).json({ ...presentRun(run!), requeued: result.requeued, superseded: result.superseded });
      }
    }
  });
