/* Synchronize with a live progress bar, and the dry-run plan. */
import { api, must } from './api.js';
import { refreshBanners } from './banners.js';
import { append, button, h, message, timers } from './dom.js';
import { progressPanel } from './progress.js';
import { subjectOf } from './runWords.js';
import { loadConnection, tabs } from './overview.js';
import { sourceOf } from './sources/index.js';

export function viewSync(id, mount) {
  return loadConnection(id).then(function (c) {
    mount(tabs(c, 'history'), h('h3', { text: 'Synchronize' }), h('p', { text: 'Starting…', id: 'sync-status' }));
    var body = sourceOf(c.kind) ? { mode: 'incremental' } : {};
    return api('POST', '/connections/' + id + '/sync', body).then(function (r) {
      var runId = r.ok ? r.data.id : r.data.runId;
      if (!runId) return mount(tabs(c, 'history'), message('error', 'The sync did not start', r.data.message));
      var panel = h('div', { id: 'sync-panel' });
      mount(
        tabs(c, 'history'),
        h('h3', { text: 'Synchronize' }),
        r.ok ? null : message('info', 'A sync is already running', 'Showing its progress.'),
        panel,
      );
      var poll = function () {
        api('GET', '/runs/' + runId + '?limit=0')
          .then(must)
          .then(function (run) {
            panel.textContent = '';
            append(panel, progressPanel(run));
            if (run.status !== 'running') {
              timers.forEach(clearInterval);
              timers.length = 0;
              refreshBanners();
            }
          });
      };
      poll();
      timers.push(setInterval(poll, 1000));
    });
  });
}

export function viewDryRun(id, mount) {
  return loadConnection(id).then(function (c) {
    mount(
      tabs(c, 'history'),
      h('h3', { text: 'Dry run' }),
      h('p', {
        text: sourceOf(c.kind) ? sourceOf(c.kind).reading : 'Planning…',
      }),
    );
    return api('POST', '/connections/' + id + '/sync', { dryRun: true }).then(function (r) {
      if (!r.ok)
        return mount(
          tabs(c, 'history'),
          h('h3', { text: 'Dry run' }),
          message('error', 'The dry run failed', r.data.message),
        );
      var ops = r.data.operations;
      var shown = ops.slice(0, 500);
      mount(
        tabs(c, 'history'),
        h('h3', { text: 'Dry run' }),
        message(
          'info',
          ops.length ? ops.length + ' change(s) would be made' : 'Jira is in step: nothing to do',
          'Nothing has been changed. Synchronize to apply the plan.',
        ),
        warningsOf(r.data.warnings),
        planTable(shown),
        ops.length > shown.length
          ? h('p', { class: 'idp-muted', text: 'Showing the first ' + shown.length + ' of ' + ops.length + '.' })
          : null,
        ops.length
          ? h(
              'p',
              {},
              button('Synchronize now', {
                class: 'aui-button aui-button-primary',
                onclick: function () {
                  location.hash = '#/c/' + id + '/sync';
                },
              }),
            )
          : null,
      );
    });
  });
}

/** What the plan could not do, with why. */
function warningsOf(warnings) {
  return warnings.length
    ? message(
        'warning',
        'Warnings',
        null,
        h(
          'ul',
          {},
          warnings.map(function (w) {
            return h('li', { text: w });
          }),
        ),
      )
    : null;
}

/** The plan's operations (the first 500), each with who or what it is about and why. */
function planTable(shown) {
  return shown.length
    ? h(
        'div',
        { class: 'idp-table-wrap' },
        h(
          'table',
          { class: 'aui', id: 'plan' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['Operation', 'User / group', 'Reason'].map(function (t) {
                return h('th', { scope: 'col', text: t });
              }),
            ),
          ),
          h(
            'tbody',
            {},
            shown.map(function (o) {
              return h(
                'tr',
                {},
                h('td', { text: o.kind }),
                h('td', { text: subjectOf(o) }),
                h('td', { text: o.reason }),
              );
            }),
          ),
        ),
      )
    : null;
}
