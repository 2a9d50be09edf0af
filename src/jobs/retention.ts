import type { Logger } from '../logger';
import type { RunRepository } from '../provisioning/runs';

/** Deletes sync history older than SYNC_HISTORY_DAYS, hourly; returns the stop function. */
export function startRetention(runs: RunRepository, historyDays: number, logger: Logger): () => void {
  const timer = setInterval(() => {
    runs.purgeHistory(historyDays).then(
      (n) => n > 0 && logger.info({ runs: n }, 'old sync history deleted'),
      (err: unknown) => logger.warn({ err }, 'could not delete old sync history'),
    );
  }, 3_600_000);
  timer.unref();
  return () => clearInterval(timer);
}
