import type { SecretBox } from '../crypto/secrets';
import { secretContexts } from '../db/sealed';
import type { Sql } from '../db/sql';

/** What a site's admins can be told of, each a notice kind they may turn off. */
export const ALERT_KINDS = [
  'run.failed',
  'run.partial',
  'credentials.failed',
  'idp.silent',
  'connection.paused',
] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];
/** Every notice kind: the alerts, a test sent from the admin page, and a daily digest of alerts. */
export type NoticeKind = AlertKind | 'test' | 'digest';

export type WebhookFormat = 'json' | 'slack' | 'teams';

/** A site's notification settings as the admin API shows them: the webhook URL itself never (it is a secret). */
export interface NotificationSettings {
  webhook: { host: string; format: WebhookFormat } | null;
  emails: string[];
  events: AlertKind[];
  /** Days a SCIM connection that used to receive requests may go without one before "gone silent" (0: never). */
  silentDays: number;
  /** The same alert for the same connection is sent at most once in this many hours (later ones are counted). */
  repeatHours: number;
  /** Alerts wait for one message a day, at `digestHour` (UTC). */
  digest: boolean;
  digestHour: number;
  updatedAt: string | null;
}

/** The settings with the webhook URL opened: for the notifier only. */
export interface SiteChannels extends NotificationSettings {
  webhookUrl: string | null;
}

export const DEFAULT_SETTINGS: NotificationSettings = {
  webhook: null,
  emails: [],
  events: [...ALERT_KINDS],
  silentDays: 3,
  repeatHours: 24,
  digest: false,
  digestHour: 8,
  updatedAt: null,
};

/** A change to the settings: `webhookUrl` null removes it, undefined keeps it. */
export type SettingsChange = Partial<Omit<NotificationSettings, 'webhook' | 'updatedAt'>> & {
  webhookUrl?: string | null;
  webhookFormat?: WebhookFormat;
};

interface SettingsRow {
  webhook_url_enc: string | null;
  webhook_host: string | null;
  webhook_format: WebhookFormat;
  emails: string[];
  events: AlertKind[];
  silent_days: number;
  repeat_hours: number;
  digest: boolean;
  digest_hour: number;
  updated_at: Date;
}

const toSettings = (r: SettingsRow | undefined): NotificationSettings =>
  r
    ? {
        webhook: r.webhook_url_enc && r.webhook_host ? { host: r.webhook_host, format: r.webhook_format } : null,
        emails: r.emails,
        events: r.events,
        silentDays: r.silent_days,
        repeatHours: r.repeat_hours,
        digest: r.digest,
        digestHour: r.digest_hour,
        updatedAt: r.updated_at.toISOString(),
      }
    : DEFAULT_SETTINGS;

const ctx = (clientKey: string) => secretContexts.notificationWebhook(clientKey);

/** A site's notification settings: its channels (the webhook URL sealed) and what to send. */
export class SettingsStore {
  constructor(
    private readonly sql: Sql,
    private readonly box: SecretBox,
  ) {}

  async settings(clientKey: string): Promise<NotificationSettings> {
    return toSettings(await this.row(clientKey));
  }

  /** The settings with the webhook URL in the clear (the notifier sends to it). */
  async channels(clientKey: string): Promise<SiteChannels> {
    const row = await this.row(clientKey);
    return {
      ...toSettings(row),
      webhookUrl: row?.webhook_url_enc ? this.box.open(row.webhook_url_enc, ctx(clientKey)) : null,
    };
  }

  /** Saves a change over the stored settings (or the defaults) and returns them. */
  async save(clientKey: string, change: SettingsChange): Promise<NotificationSettings> {
    const current = await this.row(clientKey);
    const was = toSettings(current);
    const url = change.webhookUrl;
    const sealed = url === undefined ? (current?.webhook_url_enc ?? null) : url && this.box.seal(url, ctx(clientKey));
    const host = url === undefined ? (current?.webhook_host ?? null) : url && new URL(url).host;
    const [row] = await this.sql.query<SettingsRow>(
      `INSERT INTO notification_settings (client_key, webhook_url_enc, webhook_host, webhook_format, emails, events,
         silent_days, repeat_hours, digest, digest_hour, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now())
       ON CONFLICT (client_key) DO UPDATE SET webhook_url_enc = $2, webhook_host = $3, webhook_format = $4, emails = $5,
         events = $6, silent_days = $7, repeat_hours = $8, digest = $9, digest_hour = $10, updated_at = now()
       RETURNING *`,
      [
        clientKey,
        sealed,
        host,
        change.webhookFormat ?? current?.webhook_format ?? 'json',
        change.emails ?? was.emails,
        change.events ?? was.events,
        change.silentDays ?? was.silentDays,
        change.repeatHours ?? was.repeatHours,
        change.digest ?? was.digest,
        change.digestHour ?? was.digestHour,
      ],
    );
    return toSettings(row);
  }

  /** The site's URL (messages name the site and link to it). */
  async siteUrl(clientKey: string): Promise<string | undefined> {
    const [row] = await this.sql.query<{ base_url: string }>('SELECT base_url FROM tenants WHERE client_key = $1', [
      clientKey,
    ]);
    return row?.base_url;
  }

  private async row(clientKey: string): Promise<SettingsRow | undefined> {
    const [row] = await this.sql.query<SettingsRow>('SELECT * FROM notification_settings WHERE client_key = $1', [
      clientKey,
    ]);
    return row;
  }
}
