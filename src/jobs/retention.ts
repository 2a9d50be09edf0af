import { every } from '../every';
import type { Logger } from '../logger';
import type { RunRepository } from '../provisioning/stores/runs';

/** Deletes sync history older than SYNC_HISTORY_DAYS, hourly; returns the stop function. */
export function startRetention(runs: RunRepository, historyDays: number, logger: Logger): () => void {
  const job = every(
    'deleting old sync history',
    3_600_000,
    async () => {
      const n = await runs.purgeHistory(historyDays);
      if (n > 0) logger.info({ runs: n }, 'old sync history deleted');
    },
    logger,
  );
  return () => job.stop();
}
