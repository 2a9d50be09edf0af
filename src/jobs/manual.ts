import type { Connection } from '../db/connections';
import type { ProvisioningEngine, RunResult } from '../provisioning/engine';
import type { PullSources } from '../sources/registry';

/**
 * The manual trigger (Synchronize / Dry run in the admin page): a pull connection reads its IdP
 * first — everything with `mode: 'full'`, else the changes since the last read when it can.
 */
export function startManualSync(
  d: { engine: ProvisioningEngine; sources: PullSources },
  c: Connection,
  opts: { dryRun?: boolean; mode?: 'full' | 'incremental' },
): Promise<RunResult> {
  const pull = d.sources.for(c)?.pull(c, opts.mode === 'full' ? 'full' : 'auto');
  return d.engine.run(c, 'manual', { dryRun: opts.dryRun, pull });
}
