/* Group Sync Settings: default groups, manual and on-the-fly mapping, include/exclude, keep existing, and the preview. */
import { $, button, checkbox, field, h, lines, text } from './dom.js';
import { pairRow, pairs } from './pairs.js';

/** The form's fields for the groups part of the rules. */
export function groupFields(g, form) {
  return [
    field(
      'groups-defaultForNewUsers',
      'Default groups for new users',
      text('groups-defaultForNewUsers', g.defaultForNewUsers.join(', ')),
      'Comma-separated Jira groups.',
    ),
    field(
      'groups-defaultForAllUsers',
      'Default groups for all users',
      text('groups-defaultForAllUsers', g.defaultForAllUsers.join(', ')),
    ),
    h(
      'fieldset',
      { class: 'group' },
      h('legend', {}, h('span', { text: 'Manual mapping: IdP group → Jira groups' })),
      h(
        'table',
        { class: 'aui idp-pairs', id: 'manual-mapping' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'col', text: 'IdP group' }),
            h('th', { scope: 'col', text: 'Jira groups (comma-separated)' }),
            h('th', {}),
          ),
        ),
        h(
          'tbody',
          {},
          g.manual.map(function (m, i) {
            return pairRow('manual', i, m.idpGroup, m.jiraGroups.join(', '), 'IdP group', 'Jira groups');
          }),
        ),
      ),
      button('Add mapping', {
        id: 'add-mapping',
        onclick: function () {
          var tb = form.querySelector('#manual-mapping tbody');
          tb.appendChild(pairRow('manual', tb.children.length, '', '', 'IdP group', 'Jira groups'));
          form.dispatchEvent(new Event('input')); // the preview follows the form's input
        },
      }),
      h('div', { class: 'error', id: 'groups-manual-error', 'aria-live': 'polite' }),
    ),
    checkbox(
      'groups-onTheFly-enabled',
      'On-the-fly mapping: an IdP group becomes the Jira group of the same name (optionally rewritten)',
      g.onTheFly.enabled,
    ),
    field(
      'groups-onTheFly-pattern',
      'Rewrite: regular expression',
      text('groups-onTheFly-pattern', g.onTheFly.pattern || '', { placeholder: '^AAD-(.*)$' }),
      'Optional; groups that do not match are not mapped on the fly.',
    ),
    field(
      'groups-onTheFly-replacement',
      'Rewrite: replacement',
      text('groups-onTheFly-replacement', g.onTheFly.replacement, { placeholder: '$1' }),
      'Capture groups as $1, $2…',
    ),
    field(
      'groups-include',
      'Include only IdP groups matching',
      text('groups-include', g.include.join(', ')),
      'Regular expressions, comma-separated; empty: all.',
    ),
    field('groups-exclude', 'Exclude IdP groups matching', text('groups-exclude', g.exclude.join(', '))),
    checkbox(
      'groups-keepExisting',
      'Keep existing memberships: never remove a user from a Jira group this connection did not add',
      g.keepExisting,
    ),
  ];
}

/** The live preview beside the group form: sample IdP group names and what each becomes. */
export function groupPreview() {
  return h(
    'section',
    { class: 'idp-section', 'aria-labelledby': 'preview-title' },
    h('h3', { id: 'preview-title', text: 'Preview' }),
    h(
      'form',
      {
        class: 'aui',
        onsubmit: function (ev) {
          ev.preventDefault();
        },
      },
      field(
        'preview-samples',
        'Sample IdP group names',
        h(
          'textarea',
          {
            class: 'textarea long-field',
            id: 'preview-samples',
            rows: 4,
            'aria-describedby': 'preview-samples-help',
          },
          'AAD-Engineering\nAAD-Sales\nContractors',
        ),
        'One per line; the table shows what each becomes with the settings above, before you save.',
      ),
    ),
    h(
      'table',
      { class: 'aui', id: 'preview' },
      h(
        'thead',
        {},
        h('tr', {}, h('th', { scope: 'col', text: 'IdP group' }), h('th', { scope: 'col', text: 'Jira groups' })),
      ),
      h('tbody', {}),
    ),
    h('div', { id: 'preview-error', class: 'error', 'aria-live': 'polite' }),
  );
}

/** The groups part of the rules, read back from the form. */
export function readGroups(form) {
  return {
    defaultForNewUsers: lines($('groups-defaultForNewUsers').value),
    defaultForAllUsers: lines($('groups-defaultForAllUsers').value),
    manual: pairs(form, 'manual').map(function (p) {
      return { idpGroup: p[0], jiraGroups: lines(p[1]) };
    }),
    onTheFly: {
      enabled: $('groups-onTheFly-enabled').checked,
      pattern: $('groups-onTheFly-pattern').value.trim() || null,
      replacement: $('groups-onTheFly-replacement').value || '$1',
    },
    include: lines($('groups-include').value),
    exclude: lines($('groups-exclude').value),
    keepExisting: $('groups-keepExisting').checked,
  };
}
