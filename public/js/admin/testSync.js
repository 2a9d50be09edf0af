/* Test Sync (LDAP, Google Workspace): one directory user by username, as the directory returns it and as the rules make it. Changes nothing. */
import { api } from './api.js';
import { $, append, button, field, h, message, text } from './dom.js';

function row(label, value) {
  return [
    h('dt', { text: label }),
    h('dd', { text: value === null || value === undefined || value === '' ? '—' : String(value) }),
  ];
}

function show(out, r) {
  out.textContent = '';
  if (!r.ok) return append(out, message('error', 'Test Sync failed', r.data.message));
  var d = r.data;
  if (!d.found) return append(out, message('warning', 'Not found', d.message));
  var jira = d.jira || {};
  var props = Object.keys(jira.properties || {}).map(function (k) {
    return k + ' = ' + (jira.properties[k] === null ? '(no value)' : jira.properties[k]);
  });
  append(out, [
    message(
      d.inScope ? 'success' : 'warning',
      d.inScope ? 'In scope' : 'Not in scope',
      d.inScope
        ? 'A sync would keep this user in Jira' + (d.active ? '.' : ', as deactivated (disabled in the directory).')
        : "The users' filter or the chosen groups leave this user out: a sync would not bring them to Jira.",
    ),
    h(
      'dl',
      { class: 'idp-details', id: 'test-sync-result' },
      row('Entry', d.dn || d.entry),
      row('Active in the directory', d.active ? 'yes' : 'no (disabled)'),
      row('Jira email', jira.email),
      row('Jira display name', jira.displayName),
      row(
        'Directory groups',
        d.groups
          .map(function (g) {
            return g.name + (g.direct ? '' : ' (nested)');
          })
          .join(', '),
      ),
      row('Jira groups', (jira.groups || []).join(', ')),
      row('Custom attributes', props.join('; ')),
    ),
    h(
      'details',
      {},
      h('summary', { text: 'Attributes as the directory returns them' }),
      h(
        'table',
        { class: 'aui idp-attributes' },
        h('thead', {}, h('tr', {}, h('th', { text: 'Attribute' }), h('th', { text: 'Values' }))),
        h(
          'tbody',
          {},
          Object.keys(d.attributes || {}).map(function (k) {
            return h('tr', {}, h('td', { text: k }), h('td', { text: d.attributes[k].join('\n') }));
          }),
        ),
      ),
    ),
  ]);
}

/** The Test Sync section of an LDAP connection's overview. */
export function testSyncSection(connectionId, help) {
  var out = h('div', { id: 'test-sync-output', 'aria-live': 'polite' });
  var form = h(
    'form',
    { class: 'aui', id: 'test-sync', novalidate: true },
    field(
      'test-sync-username',
      'Username',
      text('test-sync-username', '', { autocomplete: 'off', placeholder: 'jsmith' }),
      help || "The value of the connection's username attribute (for Active Directory, the sAMAccountName).",
    ),
    h(
      'div',
      { class: 'buttons-container' },
      h('div', { class: 'buttons' }, button('Test Sync', { type: 'submit', id: 'test-sync-run' })),
    ),
  );
  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var username = $('test-sync-username').value.trim();
    if (!username) return;
    out.textContent = 'Reading…';
    api('POST', '/connections/' + connectionId + '/test-user', { username: username }).then(function (r) {
      show(out, r);
    });
  });
  return h(
    'section',
    { class: 'idp-section' },
    h('h3', { text: 'Test Sync' }),
    h('p', { class: 'description', text: 'See what a sync would make of one user, without changing anything.' }),
    form,
    out,
  );
}
