import { ReadLedger } from '../directory/ledger';
import type { DirectoryChanges } from '../directory/types';
import { startingProgress, type ReadProgress } from './source';

const MAX_CONFLICTS_SHOWN = 20;

/**
 * A read's progress and ledger, and how it reports them: the phase, the counts, the conflicts (the
 * first 20), the rows written — sent to the run after every step. A source's read holds one.
 */
export class ReadReport {
  readonly progress: ReadProgress = startingProgress();
  /** What the read saw and changed (see ReadLedger). */
  ledger = new ReadLedger();

  constructor(private readonly sink: (p: ReadProgress) => void = () => undefined) {}

  step(phase: string): void {
    this.progress.phase = phase;
    this.tick();
  }

  tick(): void {
    this.progress.rowsWritten = this.ledger.rowsWritten;
    this.sink({ ...this.progress, conflicts: [...this.progress.conflicts] });
  }

  conflict(text: string): void {
    if (this.progress.conflicts.length < MAX_CONFLICTS_SHOWN) this.progress.conflicts.push(text);
  }

  /**
   * What the read changed, for its run to plan from: a full read's from its ledger (undefined when
   * most users changed: a full reconciliation), an incremental read's exactly what it wrote or removed.
   */
  changes(): DirectoryChanges | undefined {
    return this.progress.mode === 'full' ? this.ledger.changes() : this.ledger.delta();
  }

  /** The read is over: its last report. */
  done(): ReadProgress {
    this.progress.phase = 'read';
    this.tick();
    return { ...this.progress };
  }
}
