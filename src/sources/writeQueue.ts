/**
 * Directory writes kept in flight while a source goes on reading: at most `depth` at once (each on a
 * connection of the pool, so Postgres works on more than one core while the reader decodes). The
 * first write that fails is rethrown by the next `push` or by `drain`; no failure goes unheard.
 */
export class WriteQueue {
  private pending: Array<Promise<void>> = [];
  private failed = false;
  private failure: unknown;

  constructor(private readonly depth: number) {}

  /** Starts `write` once fewer than `depth` writes are in flight. */
  async push(write: () => Promise<void>): Promise<void> {
    while (this.pending.length >= this.depth) await this.pending.shift();
    this.rethrow();
    this.pending.push(
      write().catch((err: unknown) => {
        if (!this.failed) [this.failed, this.failure] = [true, err];
      }),
    );
  }

  /** Waits for every write in flight; rethrows the first failure. */
  async drain(): Promise<void> {
    await Promise.all(this.pending);
    this.pending = [];
    this.rethrow();
  }

  private rethrow(): void {
    if (this.failed) throw this.failure;
  }
}
