import type { Config } from '../config';
import type { AuditRepository } from '../db/audit';
import { every } from '../every';
import type { Logger } from '../logger';
import type { RunRepository } from '../provisioning/stores/runs';

/**
 * Hourly: deletes sync history and notices older than SYNC_HISTORY_DAYS and audit events older
 * than AUDIT_RETENTION_DAYS; returns the stop function.
 */
export function startRetention(
  stores: { runs: RunRepository; audit: AuditRepository; notices: { prune(days: number): Promise<number> } },
  config: Pick<Config, 'sync' | 'auditRetentionDays'>,
  logger: Logger,
): () => void {
  const job = every(
    'deleting old sync history and audit events',
    3_600_000,
    async () => {
      const runs = await stores.runs.purgeHistory(config.sync.historyDays);
      if (runs > 0) logger.info({ runs }, 'old sync history deleted');
      const events = await stores.audit.purge(config.auditRetentionDays);
      if (events > 0) logger.info({ events }, 'old audit events deleted');
      const notices = await stores.notices.prune(config.sync.historyDays);
      if (notices > 0) logger.info({ notices }, 'old notices deleted');
    },
    logger,
  );
  return () => job.stop();
}
