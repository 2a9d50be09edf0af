/* Customer Sync (a connection whose target is JSM customers): desks and organizations for everyone and by IdP group, chosen from the site's lists. */
import { api } from './api.js';
import { $, button, checkbox, field, h, message, select } from './dom.js';

/** Every page of a JSM list of the admin API (service desks or organizations). */
function all(path) {
  var out = [];
  function page(start) {
    return api('GET', path + '?limit=100&start=' + start).then(function (r) {
      if (!r.ok) throw new Error(r.data.message || 'Jira Service Management could not be read');
      out = out.concat(r.data.values);
      return r.data.isLastPage || r.data.values.length === 0 ? out : page(start + r.data.values.length);
    });
  }
  return page(0);
}

/** The site's service desks and organizations (or why they could not be read). */
export function loadJsmLists() {
  return Promise.all([all('/jsm/service-desks'), all('/jsm/organizations')]).then(
    function (x) {
      return { desks: x[0], orgs: x[1] };
    },
    function (e) {
      return { desks: [], orgs: [], error: e.message };
    },
  );
}

const deskLabel = (d) => d.projectKey + ' — ' + d.name;

/** A list of checkboxes, one per desk or organization, those in `chosen` ticked. */
function ticks(id, items, label, chosen) {
  return h(
    'fieldset',
    { class: 'group', id: id },
    h('legend', {}, h('span', { text: label })),
    items.length
      ? items.map(function (x) {
          return checkbox(id + '-' + x.id, x.projectKey ? deskLabel(x) : x.name, chosen.indexOf(x.id) >= 0);
        })
      : h('p', { class: 'idp-muted', text: 'None on this site.' }),
    h('div', { class: 'error', id: id + '-error', 'aria-live': 'polite' }),
  );
}

/** A multiple choice of desks or organizations for one mapping row. */
function multi(items, chosen, label, side) {
  var s = h(
    'select',
    {
      class: 'multi-select',
      multiple: true,
      'data-side': side,
      'aria-label': label,
      size: Math.min(6, Math.max(2, items.length)),
    },
    items.map(function (x) {
      return h('option', {
        value: x.id,
        selected: chosen.indexOf(x.id) >= 0 ? 'selected' : null,
        text: x.projectKey ? deskLabel(x) : x.name,
      });
    }),
  );
  return s;
}

function mappingRow(lists, i, m) {
  var tr = h(
    'tr',
    { 'data-mapping': 'customers' },
    h(
      'td',
      {},
      h('input', {
        class: 'text',
        type: 'text',
        'data-side': 'group',
        value: m.idpGroup,
        'aria-label': 'IdP group ' + (i + 1),
      }),
    ),
    h('td', {}, multi(lists.desks, m.serviceDesks, 'Service desks for mapping ' + (i + 1), 'desks')),
    h('td', {}, multi(lists.orgs, m.organizations, 'Organizations for mapping ' + (i + 1), 'orgs')),
    h(
      'td',
      {},
      button('Remove', {
        class: 'aui-button aui-button-subtle',
        'aria-label': 'Remove mapping ' + (i + 1),
        onclick: function () {
          tr.remove();
        },
      }),
    ),
  );
  return tr;
}

/** The form's fields for the customers part of the rules (the lists already read). */
export function customerFields(c, form, lists) {
  return [
    lists.error ? message('error', 'Could not read the service desks and organizations', lists.error) : null,
    ticks('customers-serviceDesksForAll', lists.desks, 'Portal access for every customer', c.serviceDesksForAll),
    ticks('customers-organizationsForAll', lists.orgs, 'Organizations every customer joins', c.organizationsForAll),
    h(
      'fieldset',
      { class: 'group' },
      h('legend', {}, h('span', { text: 'By IdP group: service desks and organizations' })),
      h(
        'table',
        { class: 'aui idp-pairs', id: 'customer-mapping' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'col', text: 'IdP group' }),
            h('th', { scope: 'col', text: 'Service desks' }),
            h('th', { scope: 'col', text: 'Organizations' }),
            h('th', {}),
          ),
        ),
        h(
          'tbody',
          {},
          c.groups.map(function (m, i) {
            return mappingRow(lists, i, m);
          }),
        ),
      ),
      button('Add mapping', {
        id: 'add-customer-mapping',
        onclick: function () {
          var tb = form.querySelector('#customer-mapping tbody');
          tb.appendChild(mappingRow(lists, tb.children.length, { idpGroup: '', serviceDesks: [], organizations: [] }));
        },
      }),
      h('div', { class: 'error', id: 'customers-groups-error', 'aria-live': 'polite' }),
    ),
    field(
      'customers-deprovision',
      'When a customer is disabled, deleted, or leaves the scope',
      select(
        'customers-deprovision',
        [
          ['removeAccess', 'Remove the portal access and organizations this connection gave'],
          ['keep', 'Keep them'],
        ],
        c.deprovision,
      ),
    ),
    checkbox(
      'customers-keepExisting',
      'Keep access this connection did not grant',
      c.keepExisting,
      'Off: the service desks and organizations chosen here mirror the IdP — a full sync withdraws anyone there whom the IdP does not give them, even customers an agent added by hand.',
    ),
  ];
}

/** The customers part of the rules, read back from the form. */
export function readCustomers(form) {
  const ticked = (id) =>
    Array.prototype.map.call(form.querySelectorAll('#' + id + ' input[type=checkbox]:checked'), function (x) {
      return x.id.slice(id.length + 1);
    });
  const chosen = (sel) =>
    Array.prototype.map.call(sel.selectedOptions, function (o) {
      return o.value;
    });
  return {
    serviceDesksForAll: ticked('customers-serviceDesksForAll'),
    organizationsForAll: ticked('customers-organizationsForAll'),
    groups: Array.prototype.map
      .call(form.querySelectorAll('tr[data-mapping="customers"]'), function (tr) {
        return {
          idpGroup: tr.querySelector('[data-side="group"]').value.trim(),
          serviceDesks: chosen(tr.querySelector('[data-side="desks"]')),
          organizations: chosen(tr.querySelector('[data-side="orgs"]')),
        };
      })
      .filter(function (m) {
        return m.idpGroup || m.serviceDesks.length || m.organizations.length;
      }),
    deprovision: $('customers-deprovision').value,
    keepExisting: $('customers-keepExisting').checked,
  };
}
