import { isForgeOnly } from '../db/tenants';
import { every, type Job } from '../every';
import { metrics } from '../metrics';
import type { Logger } from '../logger';
import type { Channels, Sent } from './channels';
import { compose, type Message, type NoticeFacts } from './messages';
import type { Delivery, DeliveryStore } from './deliveries';
import type { Notice, NoticeStore } from './notices';
import type { SettingsStore } from './settings';
import type { Watch } from './watch';

export interface NotifierOptions {
  /** How often the notifier looks for work (NOTIFY_CHECK_MS). */
  checkMs: number;
  /** Failed runs in a row that pause a connection (NOTIFY_PAUSE_AFTER_FAILED_RUNS; 0: never). */
  pauseAfterFailedRuns: number;
  /** Attempts per delivery before it is recorded as failed (NOTIFY_MAX_ATTEMPTS). */
  maxAttempts: number;
}

export interface NotifierDeps {
  settings: SettingsStore;
  notices: NoticeStore;
  deliveries: DeliveryStore;
  watch: Watch;
  channels: Channels;
  logger: Logger;
  /** The Connect app key (the admin page's URL on a Connect site). */
  addonKey: string;
  options: NotifierOptions;
}

/** Minutes between a delivery's attempts: 1, 4, 16, 64 … (never retried forever: NOTIFY_MAX_ATTEMPTS). */
const retryInMs = (attempts: number) => 60_000 * 4 ** (attempts - 1);

/**
 * Tells a site's admins what needs them, once per event and never a flood. Each round (every
 * instance; notices and deliveries are claimed with SKIP LOCKED): SCIM connections gone silent
 * become notices; new notices — runs that ended failed or partial, added by the database as they
 * end — are read up (the run, what parked), may pause their connection after repeated failures,
 * and are sent, folded into the same alert sent within the site's repeat window, or kept for the
 * daily digest; due digests go out; due deliveries are attempted, retried with growing waits, and
 * recorded as failed after the last attempt.
 */
export class Notifier {
  private job?: Job;

  constructor(private readonly d: NotifierDeps) {}

  start(): void {
    this.job = every('notifications', this.d.options.checkMs, () => this.round(), this.d.logger);
  }

  async stop(): Promise<void> {
    this.job?.stop();
    await this.job?.idle();
    this.job = undefined;
  }

  /** One round of everything (tests call it to run the notifier at once). */
  async round(): Promise<void> {
    await this.d.watch.noticeSilent();
    for (let batch = await this.d.notices.claimNew(); batch.length; batch = await this.d.notices.claimNew())
      for (const n of batch) await this.process(n);
    await this.digests();
    for (
      let due = await this.d.deliveries.claimDeliveries();
      due.length;
      due = await this.d.deliveries.claimDeliveries()
    )
      await Promise.all(due.map((d) => this.deliver(d)));
  }

  /** Reads a notice up, pauses its connection if it must, then sends, folds, keeps for the digest, or not. */
  private async process(n: Notice): Promise<void> {
    const { notices: store, settings: siteSettings, watch } = this.d;
    const about = await watch.about(n);
    if (!about) return void (await store.settle(n.id, 'off', n.details));
    if ((n.kind === 'run.failed' || n.kind === 'credentials.failed') && n.connectionId) {
      const reason = await this.d.watch.pauseAfterFailures(n.connectionId, this.d.options.pauseAfterFailedRuns);
      if (reason) {
        await store.add({ clientKey: n.clientKey, connectionId: n.connectionId, kind: 'connection.paused' });
        this.d.logger.warn({ connectionId: n.connectionId, reason }, 'connection paused after repeated failed runs');
      }
    }
    const silent = n.details as { days?: number; lastPushAt?: string };
    const facts: NoticeFacts = {
      kind: n.kind,
      siteUrl: about.siteUrl,
      link: this.linkOf(n.clientKey, about.siteUrl),
      at: n.createdAt,
      connection: about.connection,
      run: about.run,
      parked: about.parked,
      ...(n.kind === 'idp.silent'
        ? { silent: { days: Number(silent.days), lastPushAt: new Date(String(silent.lastPushAt)) } }
        : {}),
      ...(n.kind === 'connection.paused' ? { paused: { reason: about.pauseReason ?? 'repeated failures' } } : {}),
    };
    const message = compose(facts);
    const settings = await siteSettings.settings(n.clientKey);
    const targets = this.targetsOf(settings);
    if (targets.length === 0 || !(settings.events as string[]).includes(n.kind))
      return void (await store.settle(n.id, 'off', message));
    await store.sendOnce(n, settings.repeatHours, message, settings.digest ? 'digest' : targets);
  }

  /** Each site whose digest is due gets one message listing the alerts kept for it. */
  private async digests(): Promise<void> {
    for (const { clientKey, notices } of await this.d.notices.claimDigests()) {
      const first = notices[0];
      const siteUrl = first && (await this.d.settings.siteUrl(clientKey));
      if (!siteUrl) continue;
      const digest = await this.d.notices.add({ clientKey, connectionId: null, kind: 'digest', status: 'sent' });
      const message = compose({
        kind: 'digest',
        siteUrl,
        link: this.linkOf(clientKey, siteUrl),
        at: digest.createdAt,
        digest: notices.map((n) => ({ title: String(n.details.title), at: n.createdAt, repeats: n.repeats })),
      });
      await this.d.notices.settle(
        digest.id,
        'sent',
        message,
        this.targetsOf(await this.d.settings.settings(clientKey)),
      );
    }
  }

  /**
   * Sends a test notice to each of the site's channels now and says how each went (it is in the
   * log too). Undefined when the site has no channel.
   */
  async sendTest(clientKey: string): Promise<Delivery[] | undefined> {
    const targets = this.targetsOf(await this.d.settings.settings(clientKey));
    const siteUrl = (await this.d.settings.siteUrl(clientKey)) ?? '';
    if (targets.length === 0) return undefined;
    const notice = await this.d.notices.add({ clientKey, connectionId: null, kind: 'test', status: 'sent' });
    const message = compose({ kind: 'test', siteUrl, link: this.linkOf(clientKey, siteUrl), at: notice.createdAt });
    const taken = await this.d.notices.settle(notice.id, 'sent', message, targets, true);
    const out: Delivery[] = [];
    for (const d of taken) out.push(await this.deliver(d));
    return out;
  }

  /** One attempt of one delivery, recorded: sent, to be tried again, or failed for good. */
  private async deliver(d: Delivery): Promise<Delivery> {
    const notice = await this.d.notices.notice(d.noticeId);
    if (!notice) return this.d.deliveries.delivered(d.id, { ok: false, error: 'the notice is gone' });
    const channels = await this.d.settings.channels(notice.clientKey);
    const message = notice.details as unknown as Message;
    let sent: Sent;
    if (d.channel === 'webhook')
      sent = channels.webhookUrl
        ? await this.d.channels.webhook(
            channels.webhookUrl,
            channels.webhook?.format ?? 'json',
            message,
            notice.repeats,
          )
        : { ok: false, error: 'the webhook was removed before it was sent', permanent: true };
    else
      sent = channels.emails.length
        ? await this.d.channels.email(channels.emails, message)
        : { ok: false, error: 'the e-mail addresses were removed before it was sent', permanent: true };
    const last = !sent.ok && (sent.permanent || d.attempts >= this.d.options.maxAttempts);
    metrics.notifications.inc({ channel: d.channel, outcome: sent.ok ? 'sent' : last ? 'failed' : 'retry' });
    if (sent.ok) return this.d.deliveries.delivered(d.id, sent);
    this.d.logger.warn(
      {
        clientKey: notice.clientKey,
        noticeId: notice.id,
        channel: d.channel,
        attempts: d.attempts,
        last,
        error: sent.error,
      },
      'a notification could not be delivered',
    );
    return this.d.deliveries.delivered(d.id, {
      ok: false,
      error: sent.error,
      retryInMs: last ? undefined : retryInMs(d.attempts),
    });
  }

  private targetsOf(s: {
    webhook: { host: string } | null;
    emails: string[];
  }): Array<{ channel: Delivery['channel']; target: string }> {
    return [
      ...(s.webhook ? [{ channel: 'webhook' as const, target: s.webhook.host }] : []),
      ...(s.emails.length && this.d.channels.emailAvailable
        ? [{ channel: 'email' as const, target: s.emails.join(', ') }]
        : []),
    ];
  }

  /** Where the site's admins open the app: the Connect admin page, or Jira's Apps settings for a site on Forge alone. */
  private linkOf(clientKey: string, siteUrl: string): string {
    return isForgeOnly(clientKey)
      ? `${siteUrl}/jira/settings/apps`
      : `${siteUrl}/plugins/servlet/ac/${this.d.addonKey}/idp-sync-admin`;
  }
}
