/* Banners for what blocks work: no site-admin token, parked operations, a failed last run. */
import { api, must } from './api.js';
import { $, append, h, message, runError } from './dom.js';

// ---- banners: what blocks work ---------------------------------------------------------------

/** Which call's answer may draw the banners: two calls in flight (a route and a save) must not both add theirs. */
let latest = 0;

export function refreshBanners() {
  const gen = ++latest;
  return Promise.all([api('GET', '/site-credentials'), api('GET', '/connections')]).then(function (rs) {
    if (rs[1].status === 403) must(rs[1]); // not an administrator: the view says so
    var box = document.createDocumentFragment(); // drawn into the page at the end, by the latest call only
    var creds = rs[0].ok ? rs[0].data : null;
    if (creds && !creds.apiTokenSet) {
      append(
        box,
        message(
          'warning',
          'No site-admin API token',
          'The app can plan changes but cannot create users or change groups in Jira until one is saved.',
          h('p', {}, h('a', { href: '#/credentials', text: 'Add site credentials' })),
        ),
      );
    }
    var conns = rs[1].ok ? rs[1].data.connections : [];
    return Promise.all(
      conns.map(function (c) {
        return api('GET', '/connections/' + c.id + '/runs').then(function (r) {
          return { c: c, runs: r.ok ? r.data.runs : [] };
        });
      }),
    ).then(function (all) {
      all.forEach(function (x) {
        var last = x.runs[0];
        if (!last) return;
        if (last.status === 'failed')
          append(
            box,
            message(
              'error',
              x.c.name + ': the last sync failed',
              runError(last),
              h('p', {}, h('a', { href: '#/run/' + last.id, text: 'Open the run' })),
            ),
          );
        else if (last.status === 'partial')
          append(
            box,
            message(
              'warning',
              x.c.name + ': ' + (last.counts.failed || 'some') + ' operation(s) parked in the last sync',
              'They need attention: open the run to see why.',
              h('p', {}, h('a', { href: '#/run/' + last.id + '?status=parked', text: 'See the parked operations' })),
            ),
          );
      });
      if (gen === latest) $('banners').replaceChildren(box);
      return all;
    });
  });
}
