import type { Sequelize } from 'sequelize';
import type { ConnectionRepository } from '../db/connections';
import { ChannelListener } from '../db/notifications';
import type { Logger } from '../logger';

type Credentials = { id: string; clientKey: string; tokenHash: string; provider: string };

const TTL_MS = 60_000;
const MAX_ENTRIES = 10_000;

/**
 * The SCIM token hash of each connection, cached so a SCIM request costs one database round trip
 * instead of two. Postgres tells every instance when a token is rotated or a connection deleted
 * (trigger + LISTEN), and the entry is dropped at once; while that channel is down, nothing is
 * cached. The TTL is only a backstop.
 */
export class ScimTokenCache {
  private readonly entries = new Map<string, Credentials & { until: number }>();
  private readonly listener: ChannelListener;

  constructor(
    private readonly connections: ConnectionRepository,
    sequelize: Sequelize,
    logger: Logger,
  ) {
    this.listener = new ChannelListener(
      sequelize,
      'idp_sync_connections',
      (id) => this.entries.delete(id),
      () => this.entries.clear(),
      logger,
    );
  }

  start(): Promise<void> {
    return this.listener.start();
  }

  stop(): Promise<void> {
    return this.listener.stop();
  }

  /** Drops a connection's entry (its token was rotated or it was deleted in this instance; others hear it from Postgres). */
  forget(id: string): void {
    this.entries.delete(id);
  }

  /** The connection's stored credentials, from the cache when it can be trusted. */
  async get(id: string): Promise<Credentials | undefined> {
    const hit = this.entries.get(id);
    if (hit && hit.until > Date.now() && this.listener.live) return hit;
    const fresh = await this.connections.scimCredentials(id);
    if (fresh && this.listener.live) {
      if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(id, { ...fresh, until: Date.now() + TTL_MS });
    }
    return fresh;
  }
}
