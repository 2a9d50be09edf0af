import { QueryTypes } from 'sequelize';
import { registry } from '../../src/metrics';
import { FakeSmtp } from '../support/fakeSmtp';
import { sample } from '../support/prometheus';
import { FakeWebhooks } from '../support/fakeWebhooks';
import { entraUser, startScim, type ScimHarness } from '../support/scim';

/**
 * Alerts for a site's admins (docs/notifications.md): settings through the admin API, a test
 * notification to Slack and by e-mail, a run that ended partial and credentials that stopped
 * working told once (repeats folded), the daily digest, an IdP gone silent, deliveries that fail
 * recorded and given up — over real HTTPS webhooks and a real SMTP server, under both hosts.
 */
jest.setTimeout(90_000);

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

describe.each(['connect', 'forge'] as const)('through %s', (host) => {
  let s: ScimHarness;
  let hooks: FakeWebhooks;
  let smtp: FakeSmtp;

  beforeEach(async () => {
    hooks = await new FakeWebhooks().start();
    smtp = await new FakeSmtp().start();
    s = await startScim(
      'entra',
      {
        NOTIFY_CA_FILE: hooks.certFile,
        SMTP_URL: smtp.url,
        SMTP_FROM: 'IdP Sync <alerts@example.com>',
        SMTP_CA_FILE: smtp.certFile,
        NOTIFY_CHECK_MS: '3600000',
        NOTIFY_MAX_ATTEMPTS: '2',
      },
      { host },
    );
    await s.storeSiteToken();
  });
  afterEach(async () => {
    await s.close();
    await smtp.stop();
    await hooks.stop();
  });

  const rows = (sql: string, bind: unknown[] = []) =>
    s.app.db.sequelize.query<Record<string, Any>>(sql, { bind, type: QueryTypes.SELECT });
  const log = async () => (await s.adminApi('GET', '/notifications/log')).body.notices as Any[];

  it('keeps the webhook URL sealed and never shows it; refuses what it could not send to; the trail has the change', async () => {
    const defaults = await s.adminApi('GET', '/notifications');
    expect(defaults.status).toBe(200);
    expect(defaults.body).toMatchObject({
      webhook: null,
      emails: [],
      events: ['run.failed', 'run.partial', 'credentials.failed', 'idp.silent', 'connection.paused'],
      silentDays: 3,
      repeatHours: 24,
      digest: false,
      emailAvailable: true,
    });
    const bad = await s.adminApi('PUT', '/notifications', {
      webhookUrl: 'http://hooks.example.com/x',
      emails: ['not an address'],
      events: ['run.failed', 'nope'],
      digestHour: 24,
    });
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.body.fields).sort()).toEqual(['digestHour', 'emails.0', 'events.1', 'webhookUrl']);
    const inside = await s.adminApi('PUT', '/notifications', { webhookUrl: 'https://10.1.2.3/hook' });
    expect(inside.status).toBe(400);
    expect(inside.body.message).toMatch(/10\.1\.2\.3 is a private address, which this server does not call/);

    const url = hooks.hook('slack');
    const saved = await s.adminApi('PUT', '/notifications', {
      webhookUrl: url,
      webhookFormat: 'slack',
      emails: ['admins@example.com'],
      repeatHours: 12,
    });
    expect(saved.status).toBe(200);
    expect(saved.body.webhook).toEqual({ host: new URL(url).host, format: 'slack' });
    expect(JSON.stringify((await s.adminApi('GET', '/notifications')).body)).not.toContain('secretpart');
    const [stored] = await rows('SELECT webhook_url_enc FROM notification_settings');
    expect(stored.webhook_url_enc).toMatch(/^v\d:/);
    expect(stored.webhook_url_enc).not.toContain('secretpart');

    const [event] = (await s.adminApi('GET', '/audit?kind=notifications')).body.events;
    expect(event).toMatchObject({ kind: 'notifications.changed', summary: 'Notification settings changed' });
    expect(event.details.webhookUrl).toBe('set');
    expect(event.details.changes).toEqual(
      expect.arrayContaining([
        { path: 'repeatHours', before: 24, after: 12 },
        expect.objectContaining({ path: expect.stringMatching(/^webhook/) }),
      ]),
    );
    expect(JSON.stringify(await rows('SELECT * FROM audit_events'))).not.toContain('secretpart');
    expect(s.app.logs.join('\n')).not.toContain('secretpart');
  });

  it('"Send a test notification" reaches Slack (Block Kit) and the mail server now, and says how each went', async () => {
    expect((await s.adminApi('POST', '/notifications/test')).status).toBe(400); // nothing to send to yet
    await s.adminApi('PUT', '/notifications', {
      webhookUrl: hooks.hook('slack'),
      webhookFormat: 'slack',
      emails: ['admins@example.com', 'oncall@example.com'],
    });
    const sent = await s.adminApi('POST', '/notifications/test');
    expect(sent.status).toBe(200);
    expect(sent.body.deliveries).toEqual([
      expect.objectContaining({ channel: 'webhook', status: 'sent', attempts: 1, error: null }),
      expect.objectContaining({ channel: 'email', target: 'admins@example.com, oncall@example.com', status: 'sent' }),
    ]);
    const [slack] = hooks.to(hooks.hook('slack'));
    expect(slack.body.text).toBe('Test notification from IdP User & Group Sync');
    expect(slack.userAgent).toMatch(/^idp-user-group-sync\//);
    const [mail] = smtp.mails;
    expect(mail).toMatchObject({ from: 'alerts@example.com', to: ['admins@example.com', 'oncall@example.com'] });
    expect(mail.subject).toBe('[IdP Sync] Test notification from IdP User & Group Sync');
    expect((await log())[0]).toMatchObject({ kind: 'test', status: 'sent' });
    const [event] = (await s.adminApi('GET', '/audit?kind=notifications.tested')).body.events;
    expect(event.summary).toBe('Test notification sent (webhook sent, email sent)');
  });

  it('mail the server refuses every address of (550) fails at once; a refused address among others is named', async () => {
    await s.adminApi('PUT', '/notifications', { emails: ['nobody@elsewhere.org'] });
    const refused = await s.adminApi('POST', '/notifications/test');
    expect(refused.body.deliveries).toEqual([
      expect.objectContaining({ channel: 'email', status: 'failed', attempts: 1, error: expect.stringMatching(/550/) }),
    ]);
    await s.adminApi('PUT', '/notifications', { emails: ['admins@example.com', 'nobody@elsewhere.org'] });
    const some = await s.adminApi('POST', '/notifications/test');
    expect(some.body.deliveries).toEqual([
      expect.objectContaining({
        status: 'sent',
        error: 'refused by the mail server: nobody@elsewhere.org',
      }),
    ]);
    expect(smtp.mails.map((m) => m.to)).toEqual([['admins@example.com']]);
  });

  it('a run that ended partial and credentials that stopped working are each told once; repeats are counted, not sent', async () => {
    await s.adminApi('PUT', '/notifications', { webhookUrl: hooks.hook('teams'), webhookFormat: 'teams' });
    const refusal = { status: 400, body: { errorMessages: ['Jira is read-only for maintenance.'], errors: {} } };
    s.jira.failNextOn('/rest/api/3/user', refusal);
    await s.post('/Users', entraUser('ann')).expect(201);
    await s.settle();
    await s.app.notifier.round();
    const [card] = hooks.to(hooks.hook('teams'));
    const content = (card.body as Any).attachments[0].content;
    expect(content.body[0].text).toMatch(/^Sync of "Test IdP" ended with 1 parked operation$/);
    expect(content.body[1].text).toMatch(/First reasons: ensureUser: .*read-only for maintenance/);
    expect(content.actions[0].url).toMatch(
      host === 'connect' ? /\/plugins\/servlet\/ac\/idp-user-group-sync\/idp-sync-admin$/ : /\/jira\/settings\/apps$/,
    );

    // The site-admin token is revoked in Jira: the next runs' writes are refused 401.
    s.jira.revokeApiToken(s.jira.admin);
    for (const name of ['bob', 'cid']) {
      await s.post('/Users', entraUser(name)).expect(201);
      await s.settle();
      await s.app.notifier.round();
    }
    const teams = hooks.to(hooks.hook('teams'));
    expect(teams).toHaveLength(2);
    expect((teams[1].body as Any).attachments[0].content.body[0].text).toBe(
      'Credentials of "Test IdP" stopped working',
    );
    const notices = await log();
    expect(notices.map((n) => [n.kind, n.status, n.repeats])).toEqual([
      ['credentials.failed', 'folded', 0],
      ['credentials.failed', 'sent', 1],
      ['run.partial', 'sent', 0],
    ]);
    expect(notices[1].deliveries).toEqual([expect.objectContaining({ channel: 'webhook', status: 'sent' })]);
  });

  it('keeps alerts for the daily digest and sends them as one message at its hour', async () => {
    await s.adminApi('PUT', '/notifications', {
      webhookUrl: hooks.hook('json'),
      webhookFormat: 'json',
      digest: true,
      digestHour: new Date().getUTCHours(),
    });
    s.jira.revokeApiToken(s.jira.admin);
    await s.post('/Users', entraUser('dee')).expect(201);
    await s.settle();
    // Processed, then the digest is due at once (its hour has come today and none was sent).
    await s.app.notifier.round();
    const [digest] = hooks.to(hooks.hook('json'));
    expect(digest.body).toMatchObject({
      event: 'digest',
      title: 'Daily summary: 1 alert',
      text: expect.stringContaining('Credentials of "Test IdP" stopped working'),
    });
    expect((await log()).map((n) => [n.kind, n.status])).toEqual([
      ['digest', 'sent'],
      ['credentials.failed', 'digested'],
    ]);
    await s.app.notifier.round();
    expect(hooks.to(hooks.hook('json'))).toHaveLength(1); // one digest a day
  });

  it('tells of an IdP gone silent once per silence; a connection that never received anything is not silent', async () => {
    await s.adminApi('PUT', '/notifications', { webhookUrl: hooks.hook('json'), silentDays: 2 });
    await s.get('/Users?count=1').expect(200);
    const quiet = await s.newConnection('Never used');
    const shown = await s.adminApi('GET', `/connections/${s.connectionId}`);
    expect(Date.parse(shown.body.scim.lastRequestAt)).toBeGreaterThan(Date.now() - 60_000);
    await s.app.notifier.round();
    expect(hooks.received).toHaveLength(0);

    await rows("UPDATE connections SET pushed_at = now() - interval '3 days' WHERE id = $1", [s.connectionId]);
    await s.app.notifier.round();
    await s.app.notifier.round();
    const sent = hooks.to(hooks.hook('json'));
    expect(sent).toHaveLength(1);
    expect(sent[0].body).toMatchObject({
      event: 'idp.silent',
      title: '"Test IdP" has received nothing from its IdP for 2 days',
      connection: { id: s.connectionId, name: 'Test IdP' },
    });
    expect(JSON.stringify(sent[0].body)).not.toContain(quiet.id);
  });

  it("keeps a paused SCIM connection's changes without applying them, and applies them once it is resumed", async () => {
    await rows("UPDATE connections SET paused_at = now(), pause_reason = '5 runs in a row failed' WHERE id = $1", [
      s.connectionId,
    ]);
    await s.post('/Users', entraUser('eve')).expect(201);
    await s.app.outbox.drain(); // an outbox round: the paused connection's change stays in the outbox
    expect((await s.adminApi('GET', `/connections/${s.connectionId}/runs`)).body.runs).toEqual([]);
    expect(await rows('SELECT 1 FROM sync_requests WHERE processed_at IS NULL')).toHaveLength(1);
    const resumed = await s.adminApi('POST', `/connections/${s.connectionId}/resume`);
    expect(resumed.body.paused).toBeNull();
    await s.settle();
    expect([...s.jira.state.users.values()].some((u) => u.emailAddress.startsWith('eve@'))).toBe(true);
  });

  it('records a delivery that failed, tries again later, and gives up after the last attempt; a refusal ends it at once', async () => {
    const url = hooks.hook('slack');
    await s.adminApi('PUT', '/notifications', { webhookUrl: url, webhookFormat: 'slack' });
    hooks.fail(url, 503, 5, 'service unavailable');
    const sent = await s.adminApi('POST', '/notifications/test');
    expect(sent.body.deliveries[0]).toMatchObject({ status: 'pending', attempts: 1 });
    expect(sent.body.deliveries[0].error).toMatch(/answered 503: service unavailable/);
    await s.app.notifier.round(); // not due yet: one minute later
    expect((await log())[0].deliveries[0]).toMatchObject({ status: 'pending', attempts: 1 });
    await rows('UPDATE notice_deliveries SET next_attempt_at = now()');
    await s.app.notifier.round();
    expect((await log())[0].deliveries[0]).toMatchObject({ status: 'failed', attempts: 2 });

    // A redirect is never followed (the URL the admin typed must answer itself): failed at once.
    hooks.fail(url, 302, 1, '', { location: 'https://elsewhere.example/hook' });
    const moved = await s.adminApi('POST', '/notifications/test');
    expect(moved.body.deliveries[0]).toMatchObject({ status: 'failed', attempts: 1 });
    expect(moved.body.deliveries[0].error).toMatch(
      /redirect \(to elsewhere\.example\), which this server does not follow/,
    );

    hooks.fail(url, 410, 1, 'channel_is_archived');
    const gone = await s.adminApi('POST', '/notifications/test');
    expect(gone.body.deliveries[0]).toMatchObject({ status: 'failed', attempts: 1 });
    expect(gone.body.deliveries[0].error).toMatch(/answered 410: channel_is_archived/);
    expect(hooks.received).toHaveLength(0);
    // Operators see it in the log (never the URL) and in /metrics, by channel and outcome (never by site).
    const warned = s.app.logs.filter((l) => l.includes('a notification could not be delivered'));
    expect(warned.length).toBeGreaterThanOrEqual(3);
    expect(warned.join('\n')).not.toContain('secretpart');
    const scraped = await registry.metrics();
    expect(
      sample(scraped, 'idp_notification_deliveries_total', { channel: 'webhook', outcome: 'retry' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sample(scraped, 'idp_notification_deliveries_total', { channel: 'webhook', outcome: 'failed' }),
    ).toBeGreaterThanOrEqual(2);
  });

  it('keeps notices SYNC_HISTORY_DAYS, and removes the settings and notices with the site', async () => {
    await s.adminApi('PUT', '/notifications', { webhookUrl: hooks.hook('json') });
    await s.adminApi('POST', '/notifications/test');
    await s.adminApi('POST', '/notifications/test');
    await rows("UPDATE notices SET created_at = now() - interval '91 days' WHERE id = (SELECT min(id) FROM notices)");
    expect(await s.app.notices.prune(90)).toBe(1);
    expect(await rows('SELECT id FROM notices')).toHaveLength(1);
    if (host === 'connect') expect((await s.jira.uninstall(s.app.url, s.keys)).status).toBe(204);
    else expect((await s.installation!.uninstall()).statuses).toEqual([204]);
    expect(await rows('SELECT 1 FROM notification_settings UNION ALL SELECT 1 FROM notices')).toEqual([]);
    expect(await rows('SELECT 1 FROM notice_deliveries')).toEqual([]);
  });
});

describe('without a mail server', () => {
  it('offers webhooks only: e-mail addresses are refused with the reason', async () => {
    const s = await startScim('entra');
    try {
      expect((await s.adminApi('GET', '/notifications')).body.emailAvailable).toBe(false);
      const res = await s.adminApi('PUT', '/notifications', { emails: ['admins@example.com'] });
      expect(res.status).toBe(400);
      expect(res.body.fields.emails).toMatch(/SMTP_URL/);
    } finally {
      await s.close();
    }
  });
});
