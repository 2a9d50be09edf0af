/* The sync history with its chart, and one run's operations. */
import { api, must } from './api.js';
import { $, append, button, h, lozenge, message, select, timers, when } from './dom.js';
import { loadConnection, tabs } from './overview.js';
import { progressPanel } from './progress.js';
import { changesOf, customerSummary, subjectOf, triggerText } from './runWords.js';

export function chart(runs) {
  var data = runs.slice(0, 30).reverse();
  var max = Math.max.apply(null, data.map(changesOf).concat([1]));
  var w = 600;
  var hgt = 120;
  var bw = Math.min(40, Math.max(4, Math.floor(w / Math.max(data.length, 1)) - 4));
  var ns = 'http://www.w3.org/2000/svg';
  var svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 ' + w + ' ' + (hgt + 16));
  svg.setAttribute('class', 'idp-chart');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', 'Changes per run, oldest to newest: ' + data.map(changesOf).join(', '));
  data.forEach(function (r, i) {
    var v = changesOf(r);
    var bh = Math.round((v / max) * hgt);
    var rect = document.createElementNS(ns, 'rect');
    rect.setAttribute('x', String(i * (bw + 4)));
    rect.setAttribute('y', String(hgt - bh));
    rect.setAttribute('width', String(bw));
    rect.setAttribute('height', String(Math.max(bh, 1)));
    rect.setAttribute('class', 'idp-chart-bar idp-chart-' + r.status);
    var title = document.createElementNS(ns, 'title');
    title.textContent = when(r.startedAt) + ': ' + v + ' changes (' + r.status + ')';
    rect.appendChild(title);
    svg.appendChild(rect);
  });
  return svg;
}

export function viewHistory(id, mount) {
  return Promise.all([loadConnection(id), api('GET', '/connections/' + id + '/runs').then(must)]).then(function (x) {
    var c = x[0];
    var runs = x[1].runs;
    mount(
      tabs(c, 'history'),
      h('h3', { text: 'Sync history' }),
      runs.length
        ? h(
            'figure',
            { class: 'idp-figure' },
            chart(runs),
            h('figcaption', { text: 'Changes per run (last 30), oldest first' }),
          )
        : message('info', 'No runs yet', 'Synchronize to make the first one.'),
      runs.length
        ? h(
            'div',
            { class: 'idp-table-wrap' },
            h(
              'table',
              { class: 'aui', id: 'runs' },
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  ['Started', 'Trigger', 'Status', 'Progress', 'Users', 'Groups', 'Memberships', 'Failed'].map(
                    function (t) {
                      return h('th', { scope: 'col', text: t });
                    },
                  ),
                ),
              ),
              h(
                'tbody',
                {},
                runs.map(function (r) {
                  var k = r.counts || {};
                  return h(
                    'tr',
                    {},
                    h('td', {}, h('a', { href: '#/run/' + r.id, text: when(r.startedAt) })),
                    h('td', { text: triggerText(r.trigger) }),
                    h('td', {}, lozenge(r.status)),
                    h('td', { text: r.progress.done + ' / ' + r.progress.total }),
                    h('td', {
                      text:
                        customerSummary(k) ||
                        (k.usersCreated || 0) +
                          ' created, ' +
                          (k.usersLinked || 0) +
                          ' linked, ' +
                          ((k.usersUpdated || 0) + (k.profilesUpdated || 0)) +
                          ' updated, ' +
                          (k.usersDeprovisioned || 0) +
                          ' deprovisioned' +
                          (k.usersReactivated ? ', ' + k.usersReactivated + ' reactivated' : ''),
                    }),
                    h('td', { text: (k.groupsCreated || 0) + ' created' }),
                    h('td', { text: '+' + (k.membershipsAdded || 0) + ' / −' + (k.membershipsRemoved || 0) }),
                    h('td', { text: String(k.failed || 0) }),
                  );
                }),
              ),
            ),
          )
        : null,
    );
  });
}

export function viewRun(id, query, mount) {
  var status = query.status || '';
  return api('GET', '/runs/' + id + '?limit=200' + (status ? '&status=' + status : ''))
    .then(must)
    .then(function (run) {
      var ops = operationsTable(id, status, run);
      mount(
        h('p', {}, h('a', { href: '#/c/' + run.connectionId + '/history', text: '← Sync history' })),
        h('h2', { text: 'Run of ' + when(run.startedAt) }),
        progressPanel(run),
        retryPanel(run, function () {
          return viewRun(id, query, mount);
        }),
        runNotes(run),
        h(
          'dl',
          { class: 'idp-kv' },
          h('dt', { text: 'Trigger' }),
          h('dd', { text: triggerText(run.trigger) }),
          h('dt', { text: 'Finished' }),
          h('dd', { text: when(run.finishedAt) }),
        ),
        h(
          'div',
          { class: 'aui field-group idp-filter' },
          h('label', { for: 'outcome-filter', text: 'Show ' }),
          statusFilter(id, status),
        ),
        ops.table,
        run.operations.length
          ? null
          : h('p', { class: 'idp-muted', text: 'No operations' + (status ? ' with this outcome.' : '.') }),
        ops.more,
      );
      if (run.status === 'running')
        timers.push(
          setInterval(function () {
            api('GET', '/runs/' + id + '?limit=0')
              .then(must)
              .then(function (r) {
                var p = $('progress');
                if (p) p.replaceWith(progressPanel(r));
              });
          }, 1500),
        );
    });
}

/** What the run has to say once (why its read was not what was asked, the plan's warnings…). */
function runNotes(run) {
  return (run.notes || []).length
    ? h(
        'div',
        { class: 'aui-message aui-message-info', id: 'run-notes' },
        h(
          'ul',
          {},
          run.notes.map(function (n) {
            return h('li', { text: n });
          }),
        ),
      )
    : null;
}

/** Which operations to show: all, or those of one status. */
function statusFilter(id, status) {
  var filter = select(
    'outcome-filter',
    [
      ['', 'All operations'],
      ['done', 'Done'],
      ['parked', 'Parked (failed)'],
      ['pending', 'Pending'],
      ['running', 'Running'],
    ],
    status,
  );
  filter.addEventListener('change', function () {
    location.hash = '#/run/' + id + (filter.value ? '?status=' + filter.value : '');
  });
  return filter;
}

/** The run's operations, 200 at a time (Load more asks for the next page). */
function operationsTable(id, status, run) {
  var tbody = h('tbody', {});
  var more = h('p', {});
  function addRows(ops) {
    ops.forEach(function (o) {
      tbody.appendChild(
        h(
          'tr',
          { 'data-status': o.status },
          h('td', { text: o.kind }),
          h('td', { text: subjectOf(o) }),
          h('td', {}, lozenge(o.status), o.outcome ? ' ' + o.outcome : ''),
          h('td', { text: o.error || '' }),
          h('td', { text: o.reason }),
          h('td', { text: String(o.attempts) }),
        ),
      );
    });
  }
  function pager(next) {
    more.textContent = '';
    if (next)
      append(
        more,
        button('Load more', {
          id: 'load-more',
          onclick: function () {
            api('GET', '/runs/' + id + '?limit=200&after=' + next + (status ? '&status=' + status : ''))
              .then(must)
              .then(function (p) {
                addRows(p.operations);
                pager(p.nextOperations);
              });
          },
        }),
      );
  }
  addRows(run.operations);
  pager(run.nextOperations);
  var table = h(
    'div',
    { class: 'idp-table-wrap' },
    h(
      'table',
      { class: 'aui', id: 'operations' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Operation', 'User / group', 'Outcome', 'Error', 'Reason', 'Attempts'].map(function (t) {
            return h('th', { scope: 'col', text: t });
          }),
        ),
      ),
      tbody,
    ),
  );
  return { table: table, more: more };
}

/**
 * A finished run with parked operations: what to do, and a button that puts them back once what they
 * waited for is fixed (Jira is back, a credential saved). Operations a later sync planned again stay.
 */
function retryPanel(run, reload) {
  if (run.status === 'running' || !run.counts.failed) return null;
  var outcome = h('div', { id: 'retry-outcome' });
  var b = button('Retry parked operations', {
    id: 'retry-parked',
    class: 'aui-button aui-button-primary',
    onclick: function () {
      b.disabled = true;
      api('POST', '/runs/' + run.id + '/retry').then(function (r) {
        if (r.ok) return reload();
        b.disabled = false;
        outcome.textContent = '';
        append(outcome, message('error', 'Nothing was put back', r.data.message));
      });
    },
  });
  return message(
    'warning',
    run.counts.failed + ' operation(s) parked',
    'Each says why below (filter on "Parked"). Once the cause is fixed — Jira is reachable again, a missing credential is saved — put them back to be applied; the run then continues.',
    h('div', {}, h('p', {}, b), outcome),
  );
}
