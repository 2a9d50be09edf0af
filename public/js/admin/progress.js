/* A run's progress bar (reading, applying, finished) and what it did, as Synchronize and a run's page show it. */
import { h, lozenge, message, runError } from './dom.js';
import { customerSummary } from './runWords.js';

export function progressPanel(run) {
  var read = run.progress.read;
  var total = run.progress.total;
  var done = run.progress.done;
  var reading = run.stage === 'reading';
  var label = reading
    ? 'Reading the IdP: ' +
      (read && read.phase ? read.phase : 'starting') +
      (read ? ' (' + read.usersSeen + ' users, ' + read.groupsSeen + ' groups, ' + read.pages + ' pages)' : '')
    : run.status === 'running'
      ? 'Applying: ' + done + ' of ' + total + ' operations'
      : 'Finished: ' + done + ' of ' + total + ' operations';
  var pct = reading ? 0 : total ? Math.round((done / total) * 100) : 100;
  return h(
    'div',
    { class: 'idp-progress', id: 'progress' },
    h(
      'div',
      { class: 'idp-progress-label' },
      lozenge(run.status),
      ' ',
      h('span', { id: 'progress-text', text: label }),
    ),
    h(
      'div',
      {
        class: 'idp-bar',
        role: 'progressbar',
        'aria-valuemin': 0,
        'aria-valuemax': 100,
        'aria-valuenow': pct,
        'aria-label': 'Sync progress',
        'aria-busy': run.status === 'running' ? 'true' : 'false',
        'data-status': run.status,
      },
      h('div', {
        class: 'idp-bar-fill' + (reading ? ' idp-bar-indeterminate' : ''),
        style: 'width:' + (reading ? 100 : pct) + '%',
      }),
    ),
    run.error ? message('error', 'The sync failed', runError(run)) : null,
    run.status !== 'running'
      ? h(
          'p',
          {},
          customerSummary(run.counts)
            ? customerSummary(run.counts) + ', ' + run.counts.failed + ' failed. '
            : 'Created ' +
                run.counts.usersCreated +
                ' users, linked ' +
                run.counts.usersLinked +
                ', deprovisioned ' +
                run.counts.usersDeprovisioned +
                ', ' +
                run.counts.groupsCreated +
                ' groups created, ' +
                run.counts.membershipsAdded +
                ' memberships added, ' +
                run.counts.membershipsRemoved +
                ' removed, ' +
                run.counts.failed +
                ' failed. ',
          h('a', { href: '#/run/' + run.id, text: 'Open the run' }),
        )
      : null,
  );
}
