/* The Google Workspace connection form: the service account key, the admin to act as, what to read; reading them back. */
import { $, area, checkbox, copyButton, field, h, lines, scheduleSelect, select, text } from '../dom.js';

/** The read-only scopes to delegate (the API shows the same list under google.delegation). */
var SCOPES = [
  'https://www.googleapis.com/auth/admin.directory.user.readonly',
  'https://www.googleapis.com/auth/admin.directory.group.readonly',
  'https://www.googleapis.com/auth/admin.reports.audit.readonly',
];

/** The client ID of a pasted key (read here, never sent anywhere but the API), or ''. */
function clientIdOf(keyText) {
  try {
    return String(JSON.parse(keyText).client_id || '');
  } catch (_e) {
    return '';
  }
}

/** What to paste into Google's Domain-wide delegation screen: the client ID and the scopes. */
function delegationPanel(g) {
  var shown = h('code', {
    id: 'google-delegation-clientId',
    text: (g.serviceAccount && g.serviceAccount.clientId) || '—',
  });
  return h(
    'div',
    { class: 'field-group', id: 'google-delegation' },
    h('label', { text: 'Domain-wide delegation' }),
    h(
      'div',
      { class: 'description' },
      'In the Google Admin console: Security → Access and data control → API controls → Domain-wide delegation → Add new. Client ID: ',
      shown,
      '. OAuth scopes:',
    ),
    h('code', { id: 'google-delegation-scopes', class: 'idp-scopes', text: SCOPES.join(',') }),
    copyButton('Copy scopes', function () {
      return SCOPES.join(',');
    }),
    h('div', { class: 'description', text: 'A new grant can take up to 24 hours to apply.' }),
  );
}

function keyField(g, isNew) {
  // A password field: the key is never shown once pasted (its line breaks go; the JSON stays valid).
  var input = h('input', {
    class: 'text long-field',
    type: 'password',
    id: 'serviceAccountKey',
    name: 'serviceAccountKey',
    autocomplete: 'off',
    placeholder: '{"type": "service_account", …}',
    'aria-describedby': 'serviceAccountKey-help serviceAccountKey-error',
  });
  input.addEventListener('input', function () {
    var id = clientIdOf(input.value);
    if (id) $('google-delegation-clientId').textContent = id;
  });
  var file = h('input', { type: 'file', id: 'serviceAccountKey-file', accept: 'application/json,.json' });
  file.addEventListener('change', function () {
    var f = file.files && file.files[0];
    if (!f) return;
    f.text().then(function (t) {
      input.value = t;
      input.dispatchEvent(new Event('input'));
    });
  });
  return field(
    'serviceAccountKey',
    'Service account key (JSON)',
    h('div', {}, input, file),
    isNew
      ? 'Google Cloud console → IAM & Admin → Service accounts → the account → Keys → Add key → JSON. Paste it or choose the file.'
      : g.serviceAccountKeySet
        ? 'Set. Leave empty to keep it.'
        : 'Not set.',
    isNew,
  );
}

export function googleFields(g, isNew) {
  return [keyField(g, isNew), delegationPanel(g)].concat(
    accountFields(g),
    scopeFields(g.scope || { kind: 'domain' }),
    readFields(g),
  );
}

function accountFields(g) {
  return [
    field(
      'google-adminEmail',
      'Admin to act as',
      text('google-adminEmail', g.adminEmail, {
        required: true,
        autocomplete: 'off',
        placeholder: 'admin@example.com',
      }),
      'A super administrator (or an admin whose role reads users, groups and reports).',
      true,
    ),
    field(
      'google-customerId',
      'Customer ID',
      text('google-customerId', g.customerId || 'my_customer'),
      'my_customer, or the ID under Account → Account settings.',
    ),
  ];
}

function scopeFields(scope) {
  return [
    field(
      'google-scope-kind',
      'Sync scope',
      select(
        'google-scope-kind',
        [
          ['domain', 'The whole account'],
          ['orgUnits', 'Chosen organizational units'],
          ['groups', 'Members of chosen groups (nested included)'],
        ],
        scope.kind,
      ),
    ),
    field(
      'google-scope-paths',
      'Organizational units',
      area('google-scope-paths', (scope.paths || []).join('\n'), 3, '/Sales'),
      'For the organizational units scope: one path per line.',
    ),
    checkbox('google-scope-includeSubUnits', 'Include sub-units', scope.includeSubUnits !== false),
    field(
      'google-scope-groups',
      'Group emails',
      area('google-scope-groups', (scope.groups || []).join('\n'), 3, 'engineering@example.com'),
      'For the chosen-groups scope: one per line.',
    ),
  ];
}

function readFields(g) {
  return [
    field(
      'google-userQuery',
      'User query (optional)',
      text('google-userQuery', g.userQuery, { placeholder: 'isSuspended=false orgDepartment=Sales' }),
      "Google's user search syntax.",
    ),
    field(
      'google-usernameAttribute',
      'Jira username',
      select(
        'google-usernameAttribute',
        [
          ['primaryEmail', 'Primary email'],
          ['employeeId', 'Employee ID'],
        ],
        g.usernameAttribute,
      ),
    ),
    field(
      'google-groupName',
      'Group name',
      select(
        'google-groupName',
        [
          ['name', 'Group name'],
          ['email', 'Group email'],
        ],
        g.groupName,
      ),
    ),
    field(
      'google-customSchemas',
      'Custom schemas to read',
      text('google-customSchemas', (g.customSchemas || []).join(', '), { placeholder: 'EmployeeData' }),
      'Read as custom attributes: EmployeeData.costCenter.',
    ),
    field(
      'google-scheduleMinutes',
      'Synchronize automatically',
      scheduleSelect('google-scheduleMinutes', g.scheduleMinutes),
    ),
  ];
}

export function readGoogle() {
  var kind = $('google-scope-kind').value;
  var g = {
    adminEmail: $('google-adminEmail').value.trim(),
    customerId: $('google-customerId').value.trim() || 'my_customer',
    usernameAttribute: $('google-usernameAttribute').value,
    groupName: $('google-groupName').value,
    customSchemas: lines($('google-customSchemas').value),
    scheduleMinutes: Number($('google-scheduleMinutes').value),
    scope:
      kind === 'orgUnits'
        ? {
            kind: kind,
            paths: lines($('google-scope-paths').value),
            includeSubUnits: $('google-scope-includeSubUnits').checked,
          }
        : kind === 'groups'
          ? { kind: kind, groups: lines($('google-scope-groups').value) }
          : { kind: 'domain' },
  };
  var query = $('google-userQuery').value.trim();
  if (query) g.userQuery = query;
  return g;
}

/** Google Workspace in the admin page's registry of sources (sources/index.js). */
export const googleSource = {
  settingsField: 'google',
  listLabel: 'Google pull',
  reading: 'Reading Google Workspace and planning…',
  testsUsers: true,
  testSyncHelp: 'A primary email or an alias.',
  /** What a new connection's form starts from. */
  defaults: {
    customerId: 'my_customer',
    scope: { kind: 'domain' },
    scheduleMinutes: 60,
    usernameAttribute: 'primaryEmail',
    groupName: 'name',
  },
  fields: googleFields,
  /** The form's settings, and the key when pasted (always on create: it is required). */
  read: function (isNew) {
    var body = { google: readGoogle() };
    if (isNew || $('serviceAccountKey').value.trim()) body.serviceAccountKey = $('serviceAccountKey').value.trim();
    return body;
  },
};
