/* The audit log: every change made to this site's configuration, by whom, filtered, paged, exported. */
import { api, must } from './api.js';
import { $, button, field, h, message, select, text, when } from './dom.js';

var KINDS = [
  ['', 'Any change'],
  ['connection', 'Connections (created, updated, deleted)'],
  ['rules.changed', 'Rules changed'],
  ['scim-token.rotated', 'SCIM token rotated'],
  ['sync', 'Syncs, dry runs, retries'],
  ['site-credentials.saved', 'Site credentials saved'],
  ['api-token', 'API tokens'],
];

/** The query string of the filters (and a cursor). */
function queryOf(q, extra) {
  var parts = [];
  ['connectionId', 'kind', 'actor'].forEach(function (k) {
    if (q[k]) parts.push(k + '=' + encodeURIComponent(q[k]));
  });
  Object.keys(extra || {}).forEach(function (k) {
    parts.push(k + '=' + encodeURIComponent(extra[k]));
  });
  return parts.length ? '?' + parts.join('&') : '';
}

export function viewAudit(q, mount) {
  return Promise.all([
    api('GET', '/connections').then(must),
    api('GET', '/audit' + queryOf(q, { limit: 50 })).then(must),
  ]).then(function (x) {
    var rows = h('tbody', {});
    var more = h('div', { class: 'buttons-container' });
    mount(
      h('h2', { text: 'Audit log' }),
      h(
        'p',
        { class: 'description' },
        'Every change to this app\u2019s configuration: who made it (a Jira administrator, or a script with an API token), when, from where, and what changed. Secrets are never recorded.',
      ),
      filters(q, x[0].connections),
      x[1].events.length
        ? h(
            'div',
            { class: 'idp-table-wrap' },
            h(
              'table',
              { class: 'aui', id: 'audit' },
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  ['When', 'Who', 'Via', 'What'].map(function (t) {
                    return h('th', { text: t });
                  }),
                ),
              ),
              rows,
            ),
          )
        : message('info', 'Nothing recorded', 'No change matches these filters yet.'),
      more,
    );
    showPage(q, x[1], rows, more);
  });
}

function showPage(q, page, rows, more) {
  page.events.forEach(function (e) {
    rows.appendChild(eventRow(e));
  });
  more.textContent = '';
  if (page.next)
    more.appendChild(
      button('Older', {
        id: 'audit-older',
        onclick: function () {
          api('GET', '/audit' + queryOf(q, { limit: 50, before: page.next }))
            .then(must)
            .then(function (next) {
              showPage(q, next, rows, more);
            });
        },
      }),
    );
}

function eventRow(e) {
  var who = e.actor.kind === 'api-token' ? 'API token \u201c' + e.actor.name + '\u201d' : e.actor.name || e.actor.id;
  var changes = (e.details && e.details.changes) || [];
  return h(
    'tr',
    {},
    h('td', { text: when(e.at) }),
    h('td', { text: who, title: e.actor.id }),
    h('td', { text: { connect: 'Admin page', forge: 'Admin page', 'api-token': 'API' }[e.via] || e.via }),
    h(
      'td',
      {},
      h('div', { text: e.summary }),
      changes.length
        ? h(
            'details',
            {},
            h('summary', { text: changes.length + (changes.length === 1 ? ' change' : ' changes') }),
            h(
              'ul',
              {},
              changes.map(function (c) {
                return h('li', {}, h('code', { text: c.path }), ': ' + show(c.before) + ' \u2192 ' + show(c.after));
              }),
            ),
          )
        : null,
    ),
  );
}

function show(v) {
  return v === undefined ? '(none)' : JSON.stringify(v);
}

function filters(q, connections) {
  var form = h(
    'form',
    { class: 'aui idp-filters', id: 'audit-filters' },
    field(
      'audit-connection',
      'Connection',
      select(
        'audit-connection',
        [['', 'Any connection']].concat(
          connections.map(function (c) {
            return [c.id, c.name];
          }),
        ),
        q.connectionId || '',
      ),
    ),
    field('audit-kind', 'Change', select('audit-kind', KINDS, q.kind || '')),
    field('audit-actor', 'Who (account or token id)', text('audit-actor', q.actor || '')),
    h(
      'div',
      { class: 'buttons-container' },
      button('Filter', { class: 'aui-button', type: 'submit' }),
      ' ',
      button('Download CSV', {
        id: 'audit-csv',
        onclick: function () {
          download(q, 'csv');
        },
      }),
      ' ',
      button('Download JSON', {
        id: 'audit-json',
        onclick: function () {
          download(q, 'json');
        },
      }),
    ),
  );
  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    location.hash =
      '#/audit' +
      queryOf({
        connectionId: $('audit-connection').value,
        kind: $('audit-kind').value,
        actor: $('audit-actor').value.trim(),
      });
  });
  return form;
}

/** The export as a file: the API's JSON export, saved as is or as CSV (the same columns as the API's CSV). */
function download(q, format) {
  api('GET', '/audit/export' + queryOf(q, { format: 'json' }))
    .then(must)
    .then(function (events) {
      var body = format === 'json' ? JSON.stringify(events, null, 2) : toCsv(events);
      var a = h('a', {
        href: URL.createObjectURL(new Blob([body], { type: format === 'json' ? 'application/json' : 'text/csv' })),
        download: 'audit-' + new Date().toISOString().slice(0, 10) + '.' + format,
      });
      document.body.appendChild(a);
      a.click();
      a.remove();
    });
}

var COLUMNS = ['id', 'at', 'actorKind', 'actorId', 'actorName', 'via', 'kind', 'connectionId', 'summary', 'details'];

function toCsv(events) {
  return (
    [COLUMNS.join(',')]
      .concat(
        events.map(function (e) {
          return [
            e.id,
            e.at,
            e.actor.kind,
            e.actor.id,
            e.actor.name || '',
            e.via,
            e.kind,
            e.connectionId || '',
            e.summary,
            JSON.stringify(e.details),
          ]
            .map(csvField)
            .join(',');
        }),
      )
      .join('\r\n') + '\r\n'
  );
}

/** As the server's: quoted when it must be, and a formula-like cell made text. */
function csvField(value) {
  var v = String(value);
  var safe = /^[=+\-@\t\r]/.test(v) ? "'" + v : v;
  return /[",\r\n]/.test(safe) || safe !== v ? '"' + safe.replace(/"/g, '""') + '"' : safe;
}
