/* The Keycloak connection form: the server, realm and client (its secret write-only), what to read; reading them back. */
import { $, area, copyButton, field, h, lines, scheduleSelect, select, text } from '../dom.js';

/** The realm-management roles to give the client's service account (the API shows the same list under keycloak.roles). */
var ROLES = ['view-users', 'view-events'];

function rolesPanel() {
  return h(
    'div',
    { class: 'field-group', id: 'keycloak-roles' },
    h('label', { text: 'In Keycloak' }),
    h(
      'div',
      { class: 'description' },
      'Clients → the client: Client authentication On, Service accounts roles On. Service account roles → Assign role → Filter by clients → realm-management:',
    ),
    h('code', { id: 'keycloak-role-list', class: 'idp-scopes', text: ROLES.join(', ') }),
    copyButton('Copy roles', function () {
      return ROLES.join(', ');
    }),
    h('div', {
      class: 'description',
      text: 'For incremental reads: Realm settings → Events → Admin events settings → Save events On.',
    }),
  );
}

export function keycloakFields(k, isNew) {
  return connectionFields(k, isNew).concat([rolesPanel()], readFields(k, k.scope || { kind: 'realm' }));
}

/** Where Keycloak is, and the client the app signs in as. */
function connectionFields(k, isNew) {
  return [
    field(
      'keycloak-serverUrl',
      'Keycloak server URL',
      text('keycloak-serverUrl', k.serverUrl, {
        required: true,
        autocomplete: 'off',
        placeholder: 'https://sso.example.com',
      }),
      'Without /realms/…; with /auth for Keycloak before version 17.',
      true,
    ),
    field(
      'keycloak-realm',
      'Realm',
      text('keycloak-realm', k.realm, { required: true, autocomplete: 'off' }),
      null,
      true,
    ),
    field(
      'keycloak-clientId',
      'Client ID',
      text('keycloak-clientId', k.clientId, { required: true, autocomplete: 'off' }),
      'A confidential client with service accounts enabled.',
      true,
    ),
    field(
      'keycloakClientSecret',
      'Client secret',
      h('input', {
        class: 'text long-field',
        type: 'password',
        id: 'keycloakClientSecret',
        name: 'keycloakClientSecret',
        autocomplete: 'new-password',
        'aria-describedby': 'keycloakClientSecret-help keycloakClientSecret-error',
      }),
      isNew
        ? 'Clients → the client → Credentials → Client secret.'
        : k.keycloakClientSecretSet
          ? 'Set. Leave empty to keep it.'
          : 'Not set.',
      isNew,
    ),
    field(
      'keycloak-clientRealm',
      'Client’s realm (optional)',
      text('keycloak-clientRealm', k.clientRealm, { autocomplete: 'off', placeholder: 'master' }),
      'Only when the client lives in another realm (master) that holds this realm’s management roles.',
    ),
  ];
}

/** What to read, and how users and groups are named. */
function readFields(k, scope) {
  return [
    field(
      'keycloak-scope-kind',
      'Sync scope',
      select(
        'keycloak-scope-kind',
        [
          ['realm', 'The whole realm'],
          ['groups', 'Members of chosen groups (subgroups included)'],
        ],
        scope.kind,
      ),
    ),
    field(
      'keycloak-scope-groups',
      'Groups',
      area('keycloak-scope-groups', (scope.groups || []).join('\n'), 3, '/Engineering'),
      'For the chosen-groups scope: one path (/Engineering/Platform) or id per line.',
    ),
    field(
      'keycloak-usernameAttribute',
      'Jira username',
      select(
        'keycloak-usernameAttribute',
        [
          ['username', 'Username'],
          ['email', 'Email'],
        ],
        k.usernameAttribute,
      ),
    ),
    field(
      'keycloak-groupName',
      'Group name',
      select(
        'keycloak-groupName',
        [
          ['name', 'Group name'],
          ['path', 'Group path (/Engineering/Platform)'],
        ],
        k.groupName,
      ),
      'A path tells apart subgroups of the same name under different parents.',
    ),
    field(
      'keycloak-scheduleMinutes',
      'Synchronize automatically',
      scheduleSelect('keycloak-scheduleMinutes', k.scheduleMinutes),
    ),
  ];
}

export function readKeycloak(isNew) {
  var kind = $('keycloak-scope-kind').value;
  var k = {
    serverUrl: $('keycloak-serverUrl').value.trim(),
    realm: $('keycloak-realm').value.trim(),
    clientId: $('keycloak-clientId').value.trim(),
    usernameAttribute: $('keycloak-usernameAttribute').value,
    groupName: $('keycloak-groupName').value,
    scheduleMinutes: Number($('keycloak-scheduleMinutes').value),
    scope: kind === 'groups' ? { kind: kind, groups: lines($('keycloak-scope-groups').value) } : { kind: 'realm' },
  };
  var clientRealm = $('keycloak-clientRealm').value.trim();
  if (clientRealm) k.clientRealm = clientRealm;
  else if (!isNew) k.clientRealm = null;
  return k;
}

/** Keycloak in the admin page's registry of sources (sources/index.js). */
export const keycloakSource = {
  settingsField: 'keycloak',
  listLabel: 'Keycloak pull',
  reading: 'Reading Keycloak and planning…',
  testsUsers: true,
  testSyncHelp: 'A Keycloak username or email.',
  defaults: { scope: { kind: 'realm' }, scheduleMinutes: 60, usernameAttribute: 'username', groupName: 'name' },
  fields: keycloakFields,
  read: function (isNew) {
    var body = { keycloak: readKeycloak(isNew) };
    if (isNew || $('keycloakClientSecret').value.trim())
      body.keycloakClientSecret = $('keycloakClientSecret').value.trim();
    return body;
  },
};
