import type { RequestHandler } from 'express';
import { z } from 'zod';
import { asyncHandler } from '../../http/asyncHandler';
import { requireContext } from '../../http/context';
import { badRequest, invalidField } from '../../http/errors';
import type { Notifier } from '../../notifications/notifier';
import type { LoggedNotice, NoticeStore } from '../../notifications/notices';
import { ALERT_KINDS, type SettingsStore } from '../../notifications/settings';
import type { AddressGuard } from '../../sources/outbound';
import { differences } from '../audit/diff';
import { withBody, withQuery } from '../validate';

export interface NotificationDeps {
  notificationSettings: SettingsStore;
  notices: NoticeStore;
  notifier: Notifier;
  /** The outbound rules a webhook URL must obey (it is typed by the site's admin). */
  guard: AddressGuard;
  /** Whether the operator configured a mail server (SMTP_URL). */
  emailAvailable: boolean;
}

const settingsSchema = z
  .object({
    webhookUrl: z
      .string()
      .trim()
      .max(2048, 'at most 2,048 characters')
      .url('must be a URL')
      .refine((u) => u.startsWith('https://'), 'must be an https:// URL')
      .nullable(),
    webhookFormat: z.enum(['json', 'slack', 'teams'], {
      errorMap: () => ({ message: 'must be "json", "slack" or "teams"' }),
    }),
    emails: z.array(z.string().trim().email('must be e-mail addresses').max(254)).max(20, 'at most 20 addresses'),
    events: z
      .array(z.enum(ALERT_KINDS, { errorMap: () => ({ message: `must be among ${ALERT_KINDS.join(', ')}` }) }))
      .refine((e) => new Set(e).size === e.length, 'must not repeat a kind'),
    silentDays: z.number().int().min(0).max(365),
    repeatHours: z.number().int().min(0).max(168),
    digest: z.boolean(),
    digestHour: z.number().int().min(0).max(23),
  })
  .partial()
  .strict();

const logQuery = z
  .object({
    before: z
      .string()
      .regex(/^\d{1,18}$/, 'must be a notice id')
      .optional(),
  })
  .strict();

/** The settings as the API shows them, with what the page needs to offer (e-mail, the kinds). */
const present = (deps: NotificationDeps, s: Awaited<ReturnType<SettingsStore['settings']>>) => ({
  ...s,
  emailAvailable: deps.emailAvailable,
  kinds: ALERT_KINDS,
});

/** GET /api/v1/notifications: the site's settings (the webhook URL never: its host and format). */
export const getNotifications = (deps: NotificationDeps): RequestHandler =>
  asyncHandler(async (req, res) => {
    res.json(present(deps, await deps.notificationSettings.settings(requireContext(req).clientKey)));
  });

/** PUT /api/v1/notifications: changes the settings given (the others are kept); the audit trail gets the difference. */
export const putNotifications = (deps: NotificationDeps): RequestHandler =>
  withBody(settingsSchema, async (body, req, res) => {
    const { clientKey } = requireContext(req);
    if (body.webhookUrl) {
      try {
        await deps.guard.checkName(new URL(body.webhookUrl).hostname);
      } catch (err) {
        throw invalidField('webhookUrl', `The webhook URL is not called: ${(err as Error).message}.`);
      }
    }
    if (body.emails?.length && !deps.emailAvailable)
      throw invalidField(
        'emails',
        "E-mail needs a mail server this deployment's operator has not configured (SMTP_URL): use a webhook.",
      );
    const before = await deps.notificationSettings.settings(clientKey);
    const after = await deps.notificationSettings.save(clientKey, body);
    // The trail shows what changed; a new webhook URL only as changed (the URL is the credential of Slack's and Teams' hooks).
    const shown = (s: typeof before) => ({ ...s, updatedAt: undefined });
    res.locals.auditDetails = {
      changes: differences(shown(before), shown(after)),
      ...(body.webhookUrl !== undefined ? { webhookUrl: body.webhookUrl === null ? 'removed' : 'set' } : {}),
    };
    res.json(present(deps, after));
  });

/** POST /api/v1/notifications/test: sends a test notice to each channel now and says how each went. */
export const testNotifications = (deps: NotificationDeps): RequestHandler =>
  asyncHandler(async (req, res) => {
    const { clientKey } = requireContext(req);
    const sent = await deps.notifier.sendTest(clientKey);
    if (!sent) throw badRequest('Nothing to send to: set a webhook URL or e-mail addresses first.');
    res.json({ deliveries: sent.map(presentDelivery) });
  });

/** GET /api/v1/notifications/log: the site's notices, newest first, with each delivery (`before` pages on). */
export const notificationLog = (deps: NotificationDeps): RequestHandler =>
  withQuery(logQuery, async (query, req, res) => {
    const notices = await deps.notices.log(requireContext(req).clientKey, { before: query.before, limit: 50 });
    res.json({
      notices: notices.map(presentNotice),
      next: notices.length === 50 ? notices[notices.length - 1].id : null,
    });
  });

const presentDelivery = (d: LoggedNotice['deliveries'][number]) => ({
  channel: d.channel,
  target: d.target,
  status: d.status,
  attempts: d.attempts,
  error: d.error,
  sentAt: d.sentAt?.toISOString() ?? null,
});

const presentNotice = (n: LoggedNotice) => ({
  id: n.id,
  at: n.createdAt.toISOString(),
  kind: n.kind,
  status: n.status,
  title: typeof n.details.title === 'string' ? n.details.title : null,
  text: typeof n.details.text === 'string' ? n.details.text : null,
  connection: n.connectionId ? { id: n.connectionId, name: n.connectionName } : null,
  runId: n.runId,
  repeats: n.repeats,
  deliveries: n.deliveries.map(presentDelivery),
});
