/* API tokens: scripts of this site call /api/v1 with them (shown once, revocable). */
import { api, must } from './api.js';
import { $, button, copyButton, field, h, lozenge, message, select, showFieldErrors, text, when } from './dom.js';

export function viewApiTokens(mount) {
  return api('GET', '/api-tokens')
    .then(must)
    .then(function (data) {
      var shown = h('div', { id: 'new-token', 'aria-live': 'polite' });
      mount(
        h('h2', { text: 'API tokens' }),
        h(
          'p',
          { class: 'description' },
          'Scripts and pipelines call the admin API (/api/v1) with a token as "Authorization: Bearer …". ' +
            'A read-only token may only read; a read-write token may change what this page changes, but never API tokens. ' +
            'Every change a token makes is in the audit log under its name. A token is shown once; only its last characters are kept.',
        ),
        shown,
        tokenForm(shown, mount),
        h('h3', { text: 'Tokens of this site' }),
        tokenTable(data.tokens, mount),
      );
    });
}

function tokenForm(shown, mount) {
  var form = h(
    'form',
    { class: 'aui', id: 'api-token-form', novalidate: true },
    field('name', 'Name', text('name', '', { placeholder: 'e.g. Terraform, nightly report' }), 'What uses it.', true),
    field(
      'access',
      'Access',
      select('access', [
        ['read', 'Read-only'],
        ['write', 'Read-write'],
      ]),
    ),
    field(
      'expiresInDays',
      'Expires',
      select(
        'expiresInDays',
        [
          ['30', 'In 30 days'],
          ['90', 'In 90 days'],
          ['180', 'In 180 days'],
          ['366', 'In a year'],
          ['never', 'Never'],
        ],
        '90',
      ),
    ),
    h(
      'div',
      { class: 'buttons-container' },
      button('Create token', { class: 'aui-button aui-button-primary', type: 'submit' }),
    ),
  );
  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var days = $('expiresInDays').value;
    var body = {
      name: $('name').value.trim(),
      access: $('access').value,
      expiresInDays: days === 'never' ? null : Number(days),
    };
    api('POST', '/api-tokens', body).then(function (r) {
      if (!r.ok) {
        if (!showFieldErrors(form, r.data)) shown.textContent = r.data.message || 'Creating the token failed.';
        return;
      }
      viewApiTokens(mount).then(function () {
        var box = $('new-token');
        box.textContent = '';
        box.appendChild(
          message(
            'success',
            'Token "' + r.data.name + '" created',
            'Copy it now: it is not shown again.',
            h(
              'p',
              {},
              h('code', { id: 'api-token-value', text: r.data.token }),
              ' ',
              copyButton('Copy token', function () {
                return r.data.token;
              }),
            ),
          ),
        );
      });
    });
  });
  return form;
}

function tokenTable(tokens, mount) {
  if (!tokens.length) return message('info', 'No API tokens yet', 'Create one above for a script.');
  return h(
    'div',
    { class: 'idp-table-wrap' },
    h(
      'table',
      { class: 'aui', id: 'api-tokens' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Name', 'Access', 'Token', 'Created', 'Expires', 'Last used', 'Status', ''].map(function (t) {
            return h('th', { text: t });
          }),
        ),
      ),
      h(
        'tbody',
        {},
        tokens.map(function (t) {
          return h(
            'tr',
            {},
            h('td', { text: t.name }),
            h('td', { text: t.access === 'write' ? 'Read-write' : 'Read-only' }),
            h('td', {}, h('code', { text: t.tokenHint })),
            h('td', { text: when(t.createdAt) }),
            h('td', { text: t.expiresAt ? when(t.expiresAt) : 'Never' }),
            h('td', { text: t.lastUsedAt ? when(t.lastUsedAt) : 'Never' }),
            h('td', {}, lozenge(t.status === 'active' ? 'active' : t.status)),
            h('td', {}, t.status === 'active' ? revokeButton(t, mount) : null),
          );
        }),
      ),
    ),
  );
}

function revokeButton(t, mount) {
  return button('Revoke', {
    'aria-label': 'Revoke ' + t.name,
    onclick: function (ev) {
      var b = ev.currentTarget;
      if (b.dataset.confirm !== 'yes') {
        b.dataset.confirm = 'yes';
        b.textContent = 'Revoke now: scripts using it stop';
        b.setAttribute('aria-label', 'Confirm: revoke ' + t.name + ' (scripts using it stop)');
        return;
      }
      api('DELETE', '/api-tokens/' + t.id)
        .then(must)
        .then(function () {
          return viewApiTokens(mount);
        });
    },
  });
}
