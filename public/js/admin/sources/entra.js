/* The Entra ID (Graph) connection form: fields, and reading them back. */
import { $, field, h, lines, scheduleSelect, select, text } from '../dom.js';

export function entraFields(e, isNew) {
  var scope = e.scope || { kind: 'directory' };
  return [].concat(appFields(e, isNew), scopeFields(scope), readFields(e));
}

/** The app registration: tenant, client, secret (write-only), and the cloud it lives in. */
function appFields(e, isNew) {
  return [
    field(
      'tenantId',
      'Directory (tenant) ID',
      text('tenantId', e.tenantId, { required: true, autocomplete: 'off' }),
      "On the app registration's Overview page.",
      true,
    ),
    field(
      'clientId',
      'Application (client) ID',
      text('clientId', e.clientId, { required: true, autocomplete: 'off' }),
      null,
      true,
    ),
    field(
      'clientSecret',
      'Client secret',
      h('input', {
        class: 'text long-field',
        type: 'password',
        id: 'clientSecret',
        name: 'clientSecret',
        autocomplete: 'new-password',
        'aria-describedby': 'clientSecret-help clientSecret-error',
      }),
      isNew
        ? "The secret's Value (not its Secret ID), from Certificates & secrets."
        : e.clientSecretSet
          ? 'Set. Leave empty to keep it.'
          : 'Not set.',
      isNew,
    ),
    field(
      'cloud',
      'Cloud',
      select(
        'cloud',
        [
          ['global', 'Global (login.microsoftonline.com)'],
          ['usgov', 'US Government'],
          ['china', 'China (21Vianet)'],
          ['custom', 'Other (explicit URLs)'],
        ],
        e.cloud || 'global',
      ),
    ),
    field(
      'authorityHost',
      'Login host (other clouds)',
      text('authorityHost', e.authorityHost, { placeholder: 'https://login.microsoftonline.com' }),
    ),
    field(
      'graphUrl',
      'Graph URL (other clouds)',
      text('graphUrl', e.graphUrl, { placeholder: 'https://graph.microsoft.com' }),
    ),
  ];
}

/** What to read: the whole directory, an enterprise application's users and groups, or chosen groups. */
function scopeFields(scope) {
  return [
    field(
      'scope-kind',
      'Sync scope',
      select(
        'scope-kind',
        [
          ['directory', 'The whole directory'],
          ['application', 'Users and groups assigned to an enterprise application'],
          ['groups', 'Members of chosen groups (nested included)'],
        ],
        scope.kind,
      ),
    ),
    field(
      'scope-appRef',
      'Identify the enterprise application by',
      select(
        'scope-appRef',
        [
          ['appId', 'Application ID'],
          ['servicePrincipalId', 'Object ID (of the enterprise application)'],
        ],
        scope.servicePrincipalId ? 'servicePrincipalId' : 'appId',
      ),
    ),
    field(
      'scope-appId',
      'Enterprise application ID',
      text('scope-appId', scope.appId || scope.servicePrincipalId || ''),
      'For the enterprise application scope: from Enterprise applications → the app → Overview.',
    ),
    field(
      'scope-groupIds',
      'Group object IDs',
      h(
        'textarea',
        {
          class: 'textarea long-field',
          id: 'scope-groupIds',
          name: 'scope-groupIds',
          rows: 3,
          'aria-describedby': 'scope-groupIds-help scope-groupIds-error',
        },
        (scope.groupIds || []).join('\n'),
      ),
      'For the chosen-groups scope: one per line.',
    ),
  ];
}

/** How users are read: a filter, the username, extra attributes, and the schedule. */
function readFields(e) {
  return [
    field(
      'userFilter',
      'User filter (optional)',
      text('userFilter', e.userFilter, { placeholder: 'accountEnabled eq true' }),
      'An OData filter on users.',
    ),
    field(
      'usernameAttribute',
      'Username attribute',
      select(
        'usernameAttribute',
        [
          ['userPrincipalName', 'userPrincipalName'],
          ['mail', 'mail'],
          ['mailNickname', 'mailNickname'],
          ['onPremisesSamAccountName', 'onPremisesSamAccountName'],
          ['employeeId', 'employeeId'],
        ],
        e.usernameAttribute,
      ),
    ),
    field(
      'attributes',
      'Extra attributes to read',
      text('attributes', (e.attributes || []).join(', '), {
        placeholder: 'department, extension_<appId>_costCenter',
      }),
      'Graph user properties, comma-separated; map them to user properties under Attribute Mapping.',
    ),
    field('scheduleMinutes', 'Synchronize automatically', scheduleSelect('scheduleMinutes', e.scheduleMinutes)),
  ];
}

export function readEntra() {
  var kind = $('scope-kind').value;
  var appRef = $('scope-appId').value.trim();
  var e = {
    tenantId: $('tenantId').value.trim(),
    clientId: $('clientId').value.trim(),
    cloud: $('cloud').value,
    usernameAttribute: $('usernameAttribute').value,
    attributes: lines($('attributes').value),
    scheduleMinutes: Number($('scheduleMinutes').value),
    scope:
      kind === 'directory'
        ? { kind: kind }
        : kind === 'groups'
          ? { kind: kind, groupIds: lines($('scope-groupIds').value) }
          : $('scope-appRef').value === 'servicePrincipalId'
            ? { kind: kind, servicePrincipalId: appRef || undefined }
            : { kind: kind, appId: appRef || undefined },
  };
  if ($('userFilter').value.trim()) e.userFilter = $('userFilter').value.trim();
  if (e.cloud === 'custom') {
    e.authorityHost = $('authorityHost').value.trim();
    e.graphUrl = $('graphUrl').value.trim();
  }
  return e;
}

/** Entra ID in the admin page's registry of sources (sources/index.js). */
export const entraSource = {
  settingsField: 'entra',
  listLabel: 'Graph pull',
  reading: 'Reading Entra ID and planning…',
  testsUsers: false,
  /** What a new connection's form starts from. */
  defaults: {
    cloud: 'global',
    scope: { kind: 'directory' },
    scheduleMinutes: 60,
    usernameAttribute: 'userPrincipalName',
  },
  fields: entraFields,
  /** The form's settings, and the client secret when typed (always on create: it is required). */
  read: function (isNew) {
    var body = { entra: readEntra() };
    if (isNew || $('clientSecret').value) body.clientSecret = $('clientSecret').value;
    return body;
  },
};
