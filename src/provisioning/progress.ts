import type { Clock } from '../clock';

/** How often a reading run's progress is written at most. */
const EVERY_MS = 500;

/**
 * Writes a reading run's progress at most twice a second; the latest report is never lost (a
 * trailing write follows a burst). `settle()` waits for the writes under way and drops a trailing
 * one still waiting: the caller then writes the final figures itself.
 */
export class ProgressReporter {
  last: Record<string, unknown> = {};
  private sentAt = 0;
  private trailing: NodeJS.Timeout | undefined;
  private sending: Promise<void> = Promise.resolve();

  constructor(
    private readonly clock: Clock,
    private readonly write: (progress: Record<string, unknown>) => Promise<void>,
  ) {}

  report(progress: Record<string, unknown>): void {
    this.last = progress;
    const since = this.clock.now() - this.sentAt;
    if (since >= EVERY_MS) this.send();
    else this.trailing ??= setTimeout(() => this.send(), EVERY_MS - since);
  }

  /** Sends the last progress now (a run that ends on an error shows how far it came). */
  async flush(): Promise<void> {
    clearTimeout(this.trailing);
    this.send();
    await this.sending;
  }

  async settle(): Promise<void> {
    clearTimeout(this.trailing);
    this.trailing = undefined;
    await this.sending;
  }

  private send(): void {
    this.trailing = undefined;
    this.sentAt = this.clock.now();
    const snapshot = this.last;
    this.sending = this.sending.then(() => this.write(snapshot)).catch(() => undefined);
  }
}
