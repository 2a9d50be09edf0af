import type { Watch } from './watch';
import type { Logger } from '../logger';

/**
 * When each SCIM connection's IdP last called (for "gone silent" alerts, measured in days): written
 * at most once every few minutes per connection and instance, so a request costs a map lookup.
 */
export class PushTracker {
  private readonly written = new Map<string, number>();

  constructor(
    private readonly watch: Pick<Watch, 'pushed'>,
    private readonly logger: Logger,
    private readonly everyMs = 300_000,
  ) {}

  seen(connectionId: string): void {
    const now = Date.now();
    const last = this.written.get(connectionId);
    if (last !== undefined && now - last < this.everyMs) return;
    this.written.set(connectionId, now);
    this.watch.pushed([connectionId]).catch((err: unknown) => {
      this.written.delete(connectionId);
      this.logger.warn({ err, connectionId }, 'could not record when the IdP last called');
    });
  }
}
