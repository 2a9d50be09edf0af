/* Add new app: a SCIM connection per provider, or a pull source (its form from sources/). */
import { api } from './api.js';
import { $, field, h, message, select, showFieldErrors, text } from './dom.js';
import { sourceOf } from './sources/index.js';
import { PROVIDERS, scimDetails } from './providers.js';

export function viewNew(providerKey, mount) {
  var p = PROVIDERS.filter(function (x) {
    return x.key === providerKey;
  })[0];
  var source = p && sourceOf(p.kind);
  if (!p) return chooseProvider(mount);
  var form = h(
    'form',
    { class: 'aui', id: 'new-connection', novalidate: true },
    field(
      'name',
      'Name',
      text('name', p.title, { required: true, autocomplete: 'off' }),
      'How this connection is shown here and in the sync history.',
      true,
    ),
    field(
      'target',
      'Provision as',
      select(
        'target',
        [
          ['users', 'Jira users (licensed, in Jira groups)'],
          ['customers', 'JSM customers (portal access by group, no licence)'],
        ],
        'users',
      ),
      'Customers get access to service desk portals and JSM organizations. This cannot be changed later.',
    ),
    source ? source.fields(source.defaults, true) : null,
    h(
      'div',
      { class: 'buttons-container' },
      h(
        'div',
        { class: 'buttons' },
        h('button', { class: 'aui-button aui-button-primary', type: 'submit', id: 'create' }, 'Create'),
        h('a', { class: 'aui-button aui-button-link', href: '#/new', text: 'Cancel' }),
      ),
    ),
  );
  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var body = { name: $('name').value.trim(), kind: p.kind, target: $('target').value };
    if (source) Object.assign(body, source.read(true));
    else body.provider = p.provider;
    api('POST', '/connections', body).then(function (r) {
      if (!r.ok) {
        if (!showFieldErrors(form, r.data)) mount(form, message('error', 'Not created', r.data.message));
        return;
      }
      if (!source) {
        mount(
          h('h2', { text: r.data.name }),
          message('success', 'Connection created', 'Give these details to ' + r.data.providerLabel + '.'),
          scimDetails(r.data, r.data.scim.token),
          h('p', {}, h('a', { class: 'aui-button aui-button-primary', href: '#/c/' + r.data.id, text: 'Done' })),
        );
      } else location.hash = '#/c/' + r.data.id + '?created=1';
    });
  });
  mount(h('h2', { text: 'Add ' + p.title }), h('p', { class: 'description', text: p.text }), form);
  $('name').focus();
}

/** Add new app: a card for each identity provider. */
function chooseProvider(mount) {
  return mount(
    h('h2', { text: 'Add new app' }),
    h('p', { text: 'Choose the identity provider to connect.' }),
    h(
      'ul',
      { class: 'idp-cards' },
      PROVIDERS.map(function (x) {
        return h(
          'li',
          {},
          h(
            'a',
            { class: 'idp-card', href: '#/new/' + x.key },
            h('strong', { text: x.title }),
            h('span', { text: x.text }),
          ),
        );
      }),
    ),
  );
}
