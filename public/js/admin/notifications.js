/* Notifications: where this site's alerts go (a webhook, e-mail), which, how often; a test; what was sent. */
import { api, must } from './api.js';
import {
  $,
  area,
  button,
  checkbox,
  field,
  h,
  lines,
  lozenge,
  message,
  select,
  showFieldErrors,
  text,
  when,
} from './dom.js';

var KIND_LABELS = {
  'run.failed': 'A sync run failed',
  'run.partial': 'A sync run ended with parked operations',
  'credentials.failed': 'Credentials stopped working (an IdP secret or key, an LDAP bind, the site-admin API token)',
  'idp.silent': 'A SCIM connection received nothing from its IdP for a number of days',
  'connection.paused': 'A connection was paused after repeated failed runs',
};
var FORMATS = [
  ['slack', 'Slack (incoming webhook)'],
  ['teams', 'Microsoft Teams (Workflows webhook)'],
  ['json', 'JSON (any HTTPS endpoint)'],
];

export function viewNotifications(mount) {
  return Promise.all([api('GET', '/notifications').then(must), api('GET', '/notifications/log').then(must)]).then(
    function (r) {
      var s = r[0];
      var result = h('div', { id: 'notification-result', 'aria-live': 'polite' });
      mount(
        h('h2', { text: 'Notifications' }),
        h(
          'p',
          { class: 'description' },
          "Tell this site's admins when a sync needs them — in Slack, Microsoft Teams, any HTTPS endpoint, or by e-mail. " +
            'The same alert for the same connection is sent once per repeat window (later ones are counted), or all of them once a day.',
        ),
        result,
        settingsForm(s, result, mount),
        h('h3', { text: 'Sent lately' }),
        logTable(r[1].notices),
      );
    },
  );
}

function settingsForm(s, result, mount) {
  var form = h(
    'form',
    { class: 'aui', id: 'notification-form', novalidate: true },
    whereFields(s),
    whatFields(s),
    howOftenFields(s),
    h(
      'div',
      { class: 'buttons-container' },
      button('Save', { class: 'aui-button aui-button-primary', type: 'submit' }),
      ' ',
      button('Send a test notification', { id: 'send-test', onclick: sendTest(result, mount) }),
    ),
  );
  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    api('PUT', '/notifications', formBody(s)).then(function (r) {
      if (!r.ok) {
        if (!showFieldErrors(form, r.data)) result.replaceChildren(message('error', 'Not saved', r.data.message));
        return;
      }
      viewNotifications(mount).then(function () {
        $('notification-result').replaceChildren(message('success', 'Notification settings saved', null));
      });
    });
  });
  return form;
}

function whereFields(s) {
  return [
    h('h3', { text: 'Where' }),
    field(
      'webhookUrl',
      'Webhook URL',
      text('webhookUrl', '', {
        placeholder: s.webhook
          ? 'Set (' + s.webhook.host + '): type a new URL to replace it'
          : 'https://hooks.slack.com/services/…',
      }),
      'HTTPS only. The URL is kept encrypted and never shown again (for Slack and Teams it is the credential).',
    ),
    s.webhook ? checkbox('removeWebhook', 'Remove the webhook to ' + s.webhook.host, false) : null,
    field('webhookFormat', 'Format', select('webhookFormat', FORMATS, s.webhook ? s.webhook.format : 'slack')),
    s.emailAvailable
      ? field(
          'emails',
          'E-mail addresses',
          area('emails', s.emails.join('\n'), 3, 'admins@example.com'),
          'One per line.',
        )
      : message('info', null, "E-mail is not offered: this deployment's operator has not configured a mail server."),
  ];
}

function whatFields(s) {
  return [
    h('h3', { text: 'What' }),
    h(
      'fieldset',
      { class: 'group', id: 'events' },
      h('legend', {}, h('span', { text: 'Alerts' })),
      s.kinds.map(function (k) {
        return checkbox('event-' + k, KIND_LABELS[k] || k, s.events.indexOf(k) >= 0);
      }),
      h('div', { class: 'error', id: 'events-error', 'aria-live': 'polite' }),
    ),
    field(
      'silentDays',
      'Gone silent after',
      select(
        'silentDays',
        [
          [1, '1 day'],
          [2, '2 days'],
          [3, '3 days'],
          [7, '7 days'],
          [14, '14 days'],
          [0, 'Never'],
        ],
        s.silentDays,
      ),
      'A SCIM connection that used to receive requests and has received none for this long.',
    ),
  ];
}

function howOftenFields(s) {
  var hours = [];
  for (var i = 0; i < 24; i++) hours.push([i, (i < 10 ? '0' : '') + i + ':00 UTC']);
  return [
    h('h3', { text: 'How often' }),
    field(
      'repeatHours',
      'Repeat the same alert at most',
      select(
        'repeatHours',
        [
          [1, 'Once an hour'],
          [6, 'Once in 6 hours'],
          [24, 'Once a day'],
          [0, 'Every time'],
        ],
        s.repeatHours,
      ),
    ),
    checkbox('digest', 'Send one daily digest instead of each alert', s.digest),
    field('digestHour', 'Digest at', select('digestHour', hours, s.digestHour)),
  ];
}

/** What the form asks to save: a typed URL replaces the webhook, "Remove" removes it, else it is kept. */
function formBody(s) {
  var body = {
    webhookFormat: $('webhookFormat').value,
    events: s.kinds.filter(function (k) {
      return $('event-' + k).checked;
    }),
    silentDays: Number($('silentDays').value),
    repeatHours: Number($('repeatHours').value),
    digest: $('digest').checked,
    digestHour: Number($('digestHour').value),
  };
  var url = $('webhookUrl').value.trim();
  if (url) body.webhookUrl = url;
  else if ($('removeWebhook') && $('removeWebhook').checked) body.webhookUrl = null;
  if ($('emails')) body.emails = lines($('emails').value);
  return body;
}

function sendTest(result, mount) {
  return function () {
    api('POST', '/notifications/test').then(function (r) {
      if (!r.ok) return result.replaceChildren(message('warning', 'Nothing sent', r.data.message));
      viewNotifications(mount).then(function () {
        var failed = r.data.deliveries.filter(function (d) {
          return d.status !== 'sent';
        });
        $('notification-result').replaceChildren(
          message(
            failed.length ? 'warning' : 'success',
            failed.length ? 'The test notification did not reach every channel' : 'Test notification sent',
            null,
            h(
              'ul',
              { id: 'test-deliveries' },
              r.data.deliveries.map(function (d) {
                return h('li', { text: deliverySaid(d) });
              }),
            ),
          ),
        );
      });
    });
  };
}

function deliverySaid(d) {
  var what = d.channel === 'webhook' ? 'Webhook to ' + d.target : 'E-mail to ' + d.target;
  if (d.status === 'sent') return what + ': sent';
  if (d.status === 'pending') return what + ': not delivered yet (' + d.error + '); it is tried again';
  return what + ': failed (' + d.error + ')';
}

var STATUS_WORDS = {
  sent: 'sent',
  folded: 'repeat, counted',
  digest: 'waits for the digest',
  digested: 'in a digest',
  off: 'not sent',
  new: 'pending',
  working: 'pending',
};

function logTable(notices) {
  if (!notices.length) return message('info', 'Nothing sent yet', 'Alerts and test notifications appear here.');
  return h(
    'div',
    { class: 'idp-table-wrap' },
    h(
      'table',
      { class: 'aui', id: 'notices' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['When', 'Alert', 'Connection', 'Status', 'Deliveries'].map(function (t) {
            return h('th', { text: t });
          }),
        ),
      ),
      h(
        'tbody',
        {},
        notices.map(function (n) {
          return h(
            'tr',
            {},
            h('td', { text: when(n.at) }),
            h('td', { text: (n.title || n.kind) + (n.repeats ? ' (and ' + n.repeats + ' more like it)' : '') }),
            h(
              'td',
              {},
              n.connection ? h('a', { href: '#/c/' + n.connection.id, text: n.connection.name || '—' }) : '—',
            ),
            h('td', { text: STATUS_WORDS[n.status] || n.status }),
            h(
              'td',
              {},
              n.deliveries.map(function (d) {
                return h(
                  'div',
                  {},
                  lozenge(d.status),
                  ' ',
                  d.channel + ' (' + d.target + ')',
                  d.error ? ': ' + d.error : '',
                );
              }),
            ),
          );
        }),
      ),
    ),
  );
}
