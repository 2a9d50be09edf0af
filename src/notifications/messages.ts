import type { NoticeKind, WebhookFormat } from './settings';

/** A run a notice is about: how it started and ended, how many of its operations parked. */
export interface RunFacts {
  id: string;
  trigger: string;
  status: string;
  error: string | null;
  startedAt: Date;
  parked: number;
  total: number;
}

/** What a notice is about, as the notifier found it (the run, what parked, the silence…). */
export interface NoticeFacts {
  kind: NoticeKind;
  siteUrl: string;
  /** Where the site's admins open the app (its admin page). */
  link: string;
  at: Date;
  connection?: { id: string; name: string; kind: string };
  run?: RunFacts;
  /** The first parked operations' kinds and reasons. */
  parked?: Array<{ kind: string; reason: string }>;
  silent?: { days: number; lastPushAt: Date };
  paused?: { reason: string };
  /** A digest's alerts, oldest first. */
  digest?: Array<{ title: string; at: Date; repeats: number }>;
}

/** One message, whatever the channel: a title, a few sentences, facts, and where to act. */
export interface Message {
  kind: NoticeKind;
  title: string;
  text: string;
  facts: Array<{ name: string; value: string }>;
  link: string;
  site: string;
  connection: { id: string; name: string } | null;
  runId: string | null;
  at: string;
}

const q = (s: string) => `"${s}"`;
const utc = (d: Date) => `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** The message a notice becomes: what happened, why, and what the admin can do. */
export function compose(f: NoticeFacts): Message {
  const name = f.connection ? q(f.connection.name) : 'A connection';
  const facts: Message['facts'] = [];
  if (f.connection) facts.push({ name: 'Connection', value: `${f.connection.name} (${f.connection.kind})` });
  if (f.run) {
    facts.push({ name: 'Run', value: `${f.run.id} (${f.run.trigger}, started ${utc(f.run.startedAt)})` });
    if (f.run.total) facts.push({ name: 'Operations', value: `${f.run.total} planned, ${f.run.parked} parked` });
  }
  let title: string;
  let text: string;
  switch (f.kind) {
    case 'run.failed':
      title = `Sync of ${name} failed`;
      text = `${f.run?.error ?? 'The run failed.'} Nothing more of this run is applied; the next run tries again.`;
      break;
    case 'run.partial':
      title = `Sync of ${name} ended with ${f.run?.parked ?? 0} parked operation${f.run?.parked === 1 ? '' : 's'}`;
      text = `The rest was applied. ${reasons(f)}Fix the cause, then retry the parked operations from the run in the sync history.`;
      break;
    case 'credentials.failed':
      title = `Credentials of ${name} stopped working`;
      text =
        `${f.run?.error ?? reasons(f)} Save new credentials in the connection's settings (or the site-admin API token under Site credentials); the next run uses them.`.replace(
          /\s+/g,
          ' ',
        );
      break;
    case 'idp.silent':
      title = `${name} has received nothing from its IdP for ${f.silent?.days ?? '?'} days`;
      text = `Its IdP used to call the SCIM URL (last at ${f.silent ? utc(f.silent.lastPushAt) : 'unknown'}). Its provisioning may have been switched off, or the SCIM token it holds expired or was replaced: check the provisioning status in the IdP.`;
      break;
    case 'connection.paused':
      title = `${name} is paused: ${f.paused?.reason ?? 'repeated failures'}`;
      text = `No scheduled, SCIM-triggered or first-login run starts until it is resumed; SCIM changes are kept and applied then. Fix the cause (the last runs say it), then click Resume on the connection in the admin page (or POST /api/v1/connections/${f.connection?.id ?? '{id}'}/resume).`;
      break;
    case 'digest':
      title = `Daily summary: ${f.digest?.length ?? 0} alert${f.digest?.length === 1 ? '' : 's'}`;
      text = (f.digest ?? [])
        .map((d) => `• ${d.title} (${utc(d.at)}${d.repeats ? `, and ${d.repeats} more like it` : ''})`)
        .join('\n');
      break;
    default:
      title = 'Test notification from IdP User & Group Sync';
      text = `Notifications from ${f.siteUrl} reach this channel.`;
  }
  return {
    kind: f.kind,
    title: cut(title, 150),
    text: cut(text, 2900),
    facts,
    link: f.link,
    site: f.siteUrl,
    connection: f.connection ? { id: f.connection.id, name: f.connection.name } : null,
    runId: f.run?.id ?? null,
    at: f.at.toISOString(),
  };
}

function reasons(f: NoticeFacts): string {
  if (!f.parked?.length) return '';
  return `First reasons: ${f.parked.map((p) => `${p.kind}: ${cut(p.reason, 300)}`).join('; ')}. `;
}

/** The body a webhook of this format is sent: our JSON, Slack's Block Kit, or a Teams Adaptive Card. */
export function webhookBody(m: Message, format: WebhookFormat, repeats = 0): object {
  if (format === 'slack') return slack(m);
  if (format === 'teams') return teams(m);
  return {
    event: m.kind,
    title: m.title,
    text: m.text,
    site: m.site,
    connection: m.connection,
    runId: m.runId,
    facts: Object.fromEntries(m.facts.map((f) => [f.name, f.value])),
    link: m.link,
    at: m.at,
    repeats,
  };
}

/** Slack's mrkdwn needs &, < and > escaped (its docs: "Escaping text"). */
const slackEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function slack(m: Message): object {
  return {
    text: m.title,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: cut(m.title, 150) } },
      { type: 'section', text: { type: 'mrkdwn', text: cut(slackEscape(m.text), 3000) } },
      ...(m.facts.length
        ? [
            {
              type: 'section',
              fields: m.facts
                .slice(0, 10)
                .map((f) => ({ type: 'mrkdwn', text: cut(`*${slackEscape(f.name)}*\n${slackEscape(f.value)}`, 2000) })),
            },
          ]
        : []),
      {
        type: 'actions',
        elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open in Jira' }, url: m.link }],
      },
    ],
  };
}

function teams(m: Message): object {
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body: [
            { type: 'TextBlock', text: m.title, weight: 'Bolder', size: 'Medium', wrap: true },
            { type: 'TextBlock', text: m.text, wrap: true },
            ...(m.facts.length
              ? [{ type: 'FactSet', facts: m.facts.map((f) => ({ title: f.name, value: f.value })) }]
              : []),
          ],
          actions: [{ type: 'Action.OpenUrl', title: 'Open in Jira', url: m.link }],
        },
      },
    ],
  };
}

/** The e-mail a message becomes: subject, plain text and the same as simple HTML. */
export function email(m: Message): { subject: string; text: string; html: string } {
  const facts = m.facts.map((f) => `${f.name}: ${f.value}`).join('\n');
  const esc = (s: string) =>
    s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  return {
    subject: `[IdP Sync] ${m.title}`,
    text: `${m.title}\n\n${m.text}\n\n${facts}${facts ? '\n\n' : ''}Open: ${m.link}\n\n— IdP User & Group Sync for ${m.site}`,
    html:
      `<h2>${esc(m.title)}</h2><p>${esc(m.text).replace(/\n/g, '<br>')}</p>` +
      (m.facts.length
        ? `<table>${m.facts.map((f) => `<tr><th align="left">${esc(f.name)}</th><td>${esc(f.value)}</td></tr>`).join('')}</table>`
        : '') +
      `<p><a href="${esc(m.link)}">Open in Jira</a></p><p style="color:#6b778c">IdP User &amp; Group Sync for ${esc(m.site)}</p>`,
  };
}
