import { Client } from 'pg';
import type { Sequelize } from 'sequelize';
import type { Logger } from '../logger';

/**
 * A dedicated Postgres connection that LISTENs on a channel and hands each payload on. While it is
 * not connected, `live` is false (so caches built on it must not be trusted); it reconnects by itself.
 */
export class ChannelListener {
  private client?: Client;
  private stopped = false;
  private retryMs = 250;
  live = false;

  constructor(
    private readonly sequelize: Sequelize,
    private readonly channel: string,
    private readonly onMessage: (payload: string) => void,
    private readonly onReset: () => void,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    const c = this.sequelize.config;
    const client = new Client({
      host: c.host,
      port: Number(c.port),
      user: c.username,
      password: c.password ?? undefined,
      database: c.database,
    });
    client.on('notification', (msg) => msg.channel === this.channel && msg.payload && this.onMessage(msg.payload));
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${this.channel}`);
      this.client = client;
      this.live = true;
      this.retryMs = 250;
    } catch (err) {
      this.logger.warn({ err: (err as Error).message, channel: this.channel }, 'could not LISTEN; retrying');
      this.lost(client);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.live = false;
    await this.client?.end().catch(() => undefined);
  }

  private lost(client: Client): void {
    if (this.client && this.client !== client) return;
    this.live = false;
    this.client = undefined;
    this.onReset(); // anything learnt while deaf may be stale
    client.end().catch(() => undefined);
    if (this.stopped) return;
    setTimeout(() => void this.start(), this.retryMs).unref();
    this.retryMs = Math.min(this.retryMs * 2, 10_000);
  }
}
