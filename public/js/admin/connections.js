/* Configured IdPs: the list, with the last run and Synchronize / Dry run / Edit / Delete. */
import { refreshBanners } from './banners.js';
import { button, h, lozenge, message, when } from './dom.js';
import { customerSummary } from './runWords.js';
import { sourceOf } from './sources/index.js';

export function viewConnections(mount) {
  mount(h('h2', { text: 'Configured IdPs' }), h('p', { class: 'idp-loading', text: 'Loading…' }));
  return refreshBanners().then(function (all) {
    if (!all.length) {
      return mount(
        h('h2', { text: 'Configured IdPs' }),
        message(
          'info',
          'No identity provider yet',
          'Add one to start keeping Jira in step with it.',
          h('p', {}, h('a', { class: 'aui-button aui-button-primary', href: '#/new', text: 'Add new app' })),
        ),
      );
    }
    var rows = all.map(function (x) {
      return connectionRow(x.c, x.runs[0]);
    });
    mount(
      h(
        'div',
        { class: 'idp-toolbar' },
        h('h2', { text: 'Configured IdPs' }),
        h('a', { class: 'aui-button aui-button-primary', href: '#/new', text: 'Add new app' }),
      ),
      h(
        'div',
        { class: 'idp-table-wrap' },
        h(
          'table',
          { class: 'aui', id: 'connections' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['Name', 'Kind', 'Provider', 'Target', 'Last run', 'Actions'].map(function (t) {
                return h('th', { scope: 'col', text: t });
              }),
            ),
          ),
          h('tbody', {}, rows),
        ),
      ),
    );
  });
}

/** One connection: its kind, provider and target, its last run with its figures, and what can be done with it. */
function connectionRow(c, last) {
  var counts =
    last && customerSummary(last.counts)
      ? customerSummary(last.counts) + ', ' + last.counts.failed + ' failed'
      : last
        ? [
            last.counts.usersCreated + ' created',
            last.counts.usersDeprovisioned + ' deprovisioned',
            last.counts.membershipsAdded + ' added',
            last.counts.membershipsRemoved + ' removed',
            last.counts.failed + ' failed',
          ].join(', ')
        : '';
  return h(
    'tr',
    { 'data-connection': c.id },
    h('td', {}, h('a', { href: '#/c/' + c.id, text: c.name }), c.paused ? [' ', lozenge('paused')] : null),
    h('td', { text: sourceOf(c.kind) ? sourceOf(c.kind).listLabel : 'SCIM push' }),
    h('td', { text: c.providerLabel }),
    h('td', { text: c.target === 'users' ? 'Jira users' : 'JSM customers' }),
    h(
      'td',
      {},
      last
        ? [
            lozenge(last.status),
            ' ',
            h('a', { href: '#/run/' + last.id, text: when(last.startedAt) }),
            h('div', { class: 'idp-muted', text: counts }),
          ]
        : h('span', { class: 'idp-muted', text: 'never' }),
    ),
    h(
      'td',
      { class: 'idp-actions' },
      button('Synchronize', {
        onclick: function () {
          location.hash = '#/c/' + c.id + '/sync';
        },
        'aria-label': 'Synchronize ' + c.name,
      }),
      button('Dry run', {
        onclick: function () {
          location.hash = '#/c/' + c.id + '/dryrun';
        },
        'aria-label': 'Dry run ' + c.name,
      }),
      h('a', { class: 'aui-button', href: '#/c/' + c.id, 'aria-label': 'Edit ' + c.name, text: 'Edit' }),
      h('a', {
        class: 'aui-button',
        href: '#/c/' + c.id + '?delete=1',
        'aria-label': 'Delete ' + c.name,
        text: 'Delete',
      }),
    ),
  );
}
