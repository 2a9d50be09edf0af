/* A connection's tabs and its overview: settings, Test connection, Rotate token. */
import { api, must } from './api.js';
import { $, append, button, checkbox, field, h, message, showFieldErrors, text } from './dom.js';
import { sourceOf } from './sources/index.js';
import { testSyncSection } from './testSync.js';
import { scimDetails } from './providers.js';

/** A paused connection says why, and offers Resume (it then starts runs by itself again). */
function pausedBanner(c) {
  if (!c.paused) return null;
  return message(
    'warning',
    'Paused: ' + c.paused.reason,
    'No scheduled, SCIM-triggered or first-login run starts until it is resumed; SCIM changes are kept and applied then. ' +
      'Fix the cause (the Sync History says it), then resume.',
    h(
      'p',
      {},
      button('Resume', {
        id: 'resume',
        class: 'aui-button aui-button-primary',
        onclick: function () {
          api('POST', '/connections/' + c.id + '/resume')
            .then(must)
            .then(function () {
              window.dispatchEvent(new HashChangeEvent('hashchange'));
            });
        },
      }),
    ),
  );
}

export function tabs(c, active) {
  var items =
    c.target === 'customers'
      ? [
          ['', 'Overview'],
          ['customers', 'Customer Sync Settings'],
          ['attributes', 'Attribute Mapping'],
          ['history', 'Sync History'],
        ]
      : [
          ['', 'Overview'],
          ['users', 'User Sync Settings'],
          ['attributes', 'Attribute Mapping'],
          ['groups', 'Group Sync Settings'],
          ['history', 'Sync History'],
        ];
  return h(
    'div',
    {},
    pausedBanner(c),
    h(
      'div',
      { class: 'idp-toolbar' },
      h('h2', { text: c.name }),
      h(
        'span',
        { class: 'idp-actions' },
        button('Synchronize', {
          class: 'aui-button aui-button-primary',
          id: 'synchronize',
          onclick: function () {
            location.hash = '#/c/' + c.id + '/sync';
          },
        }),
        button('Dry run', {
          id: 'dry-run',
          onclick: function () {
            location.hash = '#/c/' + c.id + '/dryrun';
          },
        }),
      ),
    ),
    h(
      'nav',
      { class: 'aui-tabs horizontal-tabs idp-tabs', 'aria-label': 'Connection settings' },
      h(
        'ul',
        { class: 'tabs-menu' },
        items.map(function (t) {
          return h(
            'li',
            { class: 'menu-item' + (t[0] === active ? ' active-tab' : '') },
            h('a', {
              href: '#/c/' + c.id + (t[0] ? '/' + t[0] : ''),
              'aria-current': t[0] === active ? 'page' : null,
              text: t[1],
            }),
          );
        }),
      ),
    ),
  );
}

export function loadConnection(id) {
  return api('GET', '/connections/' + id).then(must);
}

export function viewOverview(id, query, mount) {
  return loadConnection(id).then(function (c) {
    var source = sourceOf(c.kind);
    var del = deleteSection(c, id);
    mount(
      tabs(c, ''),
      query.created ? message('success', 'Connection created', 'Test it, then Synchronize.') : null,
      source ? null : [scimDetails(c, null), rotateButton(c, id, mount)],
      h(
        'section',
        { class: 'idp-section' },
        h('h3', { text: 'Settings' }),
        settingsForm(c, id, source),
        h('div', { id: 'test-result', 'aria-live': 'polite' }),
      ),
      source && source.testsUsers ? testSyncSection(id, source.testSyncHelp) : null,
      del.section,
    );
    if (query['delete']) del.open();
  });
}

/** The connection's settings (a pull source's own fields too), saved with PATCH; a pull source's Test connection. */
function settingsForm(c, id, source) {
  var form = h(
    'form',
    { class: 'aui', id: 'connection-settings', novalidate: true },
    field('name', 'Name', text('name', c.name, { required: true }), null, true),
    checkbox('importUsers', 'Import users: create Jira accounts for new IdP users', c.importUsers),
    checkbox('importGroups', 'Import groups: create missing Jira groups', c.importGroups),
    source ? source.fields(c[source.settingsField], false) : null,
    h(
      'div',
      { class: 'buttons-container' },
      h(
        'div',
        { class: 'buttons' },
        h('button', { class: 'aui-button aui-button-primary', type: 'submit', id: 'save-connection' }, 'Save'),
        source ? button('Test connection', { id: 'test-connection', onclick: testConnection }) : null,
        h('span', { class: 'idp-status', id: 'connection-status', 'aria-live': 'polite' }),
      ),
    ),
  );
  /** A pull connection's settings and (when typed) secret, as the form holds them. */
  function pullSettings() {
    return source ? source.read(false) : {};
  }
  function testConnection() {
    $('connection-status').textContent = 'Testing…';
    api('POST', '/connections/' + id + '/test', pullSettings()).then(function (r) {
      $('connection-status').textContent = '';
      var out = $('test-result');
      out.textContent = '';
      if (!r.ok) {
        if (!showFieldErrors(form, r.data)) append(out, message('error', 'Test failed', r.data.message));
        return;
      }
      append(
        out,
        r.data.ok
          ? message(
              'success',
              'Connection works',
              r.data.message + (r.data.sampleUser ? ' First user: ' + r.data.sampleUser + '.' : ''),
            )
          : message('error', 'Connection failed', r.data.message),
      );
    });
  }
  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var body = {
      name: $('name').value.trim(),
      importUsers: $('importUsers').checked,
      importGroups: $('importGroups').checked,
    };
    Object.assign(body, pullSettings());
    $('connection-status').textContent = 'Saving…';
    api('PATCH', '/connections/' + id, body).then(function (r) {
      $('connection-status').textContent = r.ok ? 'Saved.' : '';
      if (!r.ok && !showFieldErrors(form, r.data)) $('connection-status').textContent = r.data.message;
      if (r.ok) showFieldErrors(form, {});
    });
  });
  return form;
}

/** A SCIM connection's Rotate token: the new token is shown once, the old one stops working. */
function rotateButton(c, id, mount) {
  return h(
    'p',
    {},
    button('Rotate token', {
      id: 'rotate-token',
      onclick: function () {
        api('POST', '/connections/' + id + '/token')
          .then(must)
          .then(function (t) {
            mount(
              tabs(c, ''),
              message(
                'success',
                'Token rotated',
                'The old token stopped working. Update it in ' + c.providerLabel + '.',
              ),
              scimDetails(Object.assign({}, c, { scim: t }), t.token),
            );
          });
      },
    }),
  );
}

/** Delete…, and the confirmation it opens (`open`: as the overview's ?delete link asks). */
function deleteSection(c, id) {
  var confirmBox = h(
    'div',
    { id: 'delete-confirm', hidden: true },
    message(
      'warning',
      'Delete ' + c.name + '?',
      'Its directory, schedule, history and SCIM token go with it. Users and groups in Jira stay as they are.',
    ),
    button('Delete connection', {
      class: 'aui-button aui-button-primary idp-danger',
      id: 'confirm-delete',
      onclick: function () {
        api('DELETE', '/connections/' + id).then(function (r) {
          if (r.ok) location.hash = '#/';
        });
      },
    }),
    ' ',
    button('Cancel', {
      onclick: function () {
        confirmBox.hidden = true;
      },
    }),
  );
  function open() {
    confirmBox.hidden = false;
    confirmBox.scrollIntoView();
    $('confirm-delete').focus();
  }
  var section = h(
    'section',
    { class: 'idp-section' },
    h('h3', { text: 'Delete' }),
    button('Delete…', {
      id: 'delete',
      onclick: function () {
        confirmBox.hidden = false;
        $('confirm-delete').focus();
      },
    }),
    confirmBox,
  );
  return { section: section, open: open };
}
