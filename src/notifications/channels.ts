import nodemailer, { type Transporter } from 'nodemailer';
import { OutboundHttp } from '../sources/http';
import { OutboundRefused, RedirectRefused, type AddressGuard } from '../sources/outbound';
import { USER_AGENT } from '../instance';
import { email, webhookBody, type Message } from './messages';
import type { WebhookFormat } from './settings';

/** How one attempt went: sent, or why not and whether another attempt could do better. */
export type Sent = { ok: true; note?: string } | { ok: false; error: string; permanent: boolean };

/** The operator's mail server (SMTP_URL, SMTP_FROM); absent, sites can use webhooks only. */
export interface SmtpOptions {
  url: string;
  from: string;
  /** Extra CA certificates (PEM) trusted for the mail server (a private CA, tests). */
  caPem?: string;
}

export interface ChannelOptions {
  guard: AddressGuard;
  /** Extra CA certificates (PEM) trusted for webhook URLs (tests, a TLS-inspecting proxy). */
  webhookCaPem?: string;
  timeoutMs: number;
  smtp?: SmtpOptions;
}

/**
 * Sends a message to a site's channels: a webhook URL the site's admin typed (HTTPS, through the
 * outbound rules, never a redirect followed) and e-mail through the operator's SMTP server
 * (nodemailer). One attempt each: the notifier decides when to try again.
 */
export class Channels {
  private readonly http: OutboundHttp;
  private readonly mail?: Transporter;

  constructor(o: ChannelOptions) {
    this.http = new OutboundHttp({
      caPem: o.webhookCaPem,
      timeoutMs: o.timeoutMs,
      maxAttempts: 1,
      guard: o.guard,
      headers: { 'user-agent': USER_AGENT },
    });
    if (o.smtp)
      this.mail = nodemailer.createTransport(
        {
          url: o.smtp.url,
          connectionTimeout: o.timeoutMs,
          greetingTimeout: o.timeoutMs,
          socketTimeout: o.timeoutMs,
          ...(o.smtp.caPem ? { tls: { ca: o.smtp.caPem } } : {}),
        },
        { from: o.smtp.from },
      );
  }

  /** Whether e-mail can be sent at all (the operator configured SMTP). */
  get emailAvailable(): boolean {
    return this.mail !== undefined;
  }

  async webhook(url: string, format: WebhookFormat, m: Message, repeats: number): Promise<Sent> {
    try {
      const res = await this.http.request(
        'POST',
        url,
        { 'content-type': 'application/json' },
        JSON.stringify(webhookBody(m, format, repeats)),
        { retryStatus: false },
      );
      if (res.status >= 200 && res.status < 300) return { ok: true };
      const said = res.text.trim().slice(0, 200);
      return {
        ok: false,
        error: `${new URL(url).host} answered ${res.status}${said ? `: ${said}` : ''}`,
        permanent: res.status !== 429 && res.status !== 408 && res.status < 500,
      };
    } catch (err) {
      const permanent = err instanceof OutboundRefused || err instanceof RedirectRefused;
      const code = (err as NodeJS.ErrnoException).code;
      return {
        ok: false,
        error: `${new URL(url).host}: ${(err as Error).message}${code && !permanent ? ` (${code})` : ''}`,
        permanent,
      };
    }
  }

  async email(to: string[], m: Message): Promise<Sent> {
    if (!this.mail) return { ok: false, error: 'no mail server is configured (SMTP_URL)', permanent: true };
    try {
      const info = (await this.mail.sendMail({ to, ...email(m) })) as {
        rejected?: Array<string | { address: string }>;
      };
      // Sent to the addresses the server took; the ones it refused are said beside it.
      const refused = (info.rejected ?? []).map((r) => (typeof r === 'string' ? r : r.address));
      return refused.length ? { ok: true, note: `refused by the mail server: ${refused.join(', ')}` } : { ok: true };
    } catch (err) {
      const e = err as Error & { responseCode?: number; response?: string; code?: string };
      // A 5xx reply is the server's final word (an unknown recipient, a refused sender); 4xx and the network may pass.
      const permanent = typeof e.responseCode === 'number' && e.responseCode >= 500;
      return { ok: false, error: `mail server: ${e.response ?? e.message}${e.code ? ` (${e.code})` : ''}`, permanent };
    }
  }

  close(): void {
    this.http.close();
    this.mail?.close();
  }
}
