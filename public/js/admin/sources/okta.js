/* The Okta connection form: the org, the credential (a service app's private key, or an API token), what to read; reading them back. */
import { $, area, copyButton, field, h, lines, scheduleSelect, select, text } from '../dom.js';

/** The scopes to grant the API service app (the API shows the same list under okta.scopes). */
var SCOPES = ['okta.users.read', 'okta.groups.read', 'okta.apps.read', 'okta.logs.read'];

function credentialField(o, isNew) {
  var input = h('input', {
    class: 'text long-field',
    type: 'password',
    id: 'oktaCredential',
    name: 'oktaCredential',
    autocomplete: 'off',
    placeholder: '{"kty": "RSA", "kid": …}  or  00aBcD…',
    'aria-describedby': 'oktaCredential-help oktaCredential-error',
  });
  var file = h('input', { type: 'file', id: 'oktaCredential-file', accept: '.json,.pem,application/json' });
  file.addEventListener('change', function () {
    var f = file.files && file.files[0];
    if (f)
      f.text().then(function (t) {
        input.value = t;
      });
  });
  var set = o.credential && o.credential.method === 'apiToken' ? 'An API token is set.' : 'A private key is set.';
  return field(
    'oktaCredential',
    'Private key or API token',
    h('div', {}, input, file),
    isNew
      ? 'Recommended: an API service app’s private key (Applications → the app → General → Public keys → Add key → Generate new key; paste the private key, JSON or PEM). Or an API token (Security → API → Tokens).'
      : o.oktaCredentialSet
        ? set + ' Leave empty to keep it.'
        : 'Not set.',
    isNew,
  );
}

/** What the service app needs in Okta: the scopes, a role, and (for a key made here) its public key. */
function grantsPanel(o) {
  var jwk = o.credential && o.credential.publicJwk;
  return h(
    'div',
    { class: 'field-group', id: 'okta-grants' },
    h('label', { text: 'In Okta' }),
    h(
      'div',
      { class: 'description' },
      'Applications → the API service app → Okta API Scopes: grant these. Admin roles: assign Read-only Administrator.',
    ),
    h('code', { id: 'okta-scopes', class: 'idp-scopes', text: SCOPES.join(' ') }),
    copyButton('Copy scopes', function () {
      return SCOPES.join(' ');
    }),
    jwk
      ? h(
          'div',
          { class: 'description', id: 'okta-public-key' },
          'Public key of the saved private key (for General → Public keys → Add key, if you made the key yourself): ',
          copyButton('Copy public key', function () {
            return JSON.stringify(jwk);
          }),
        )
      : null,
  );
}

export function oktaFields(o, isNew) {
  var scope = o.scope || { kind: 'org' };
  return [
    field(
      'okta-orgUrl',
      'Okta org URL',
      text('okta-orgUrl', o.orgUrl, { required: true, autocomplete: 'off', placeholder: 'https://acme.okta.com' }),
      'Your Okta org’s address (not the -admin one).',
      true,
    ),
    credentialField(o, isNew),
    field(
      'okta-clientId',
      'Client ID',
      text('okta-clientId', o.clientId, { autocomplete: 'off', placeholder: '0oa1b2c3d4e5f6g7h8i9' }),
      'The API service app’s client ID (with a private key; not needed with an API token).',
    ),
    field(
      'okta-keyId',
      'Key ID (optional)',
      text('okta-keyId', o.keyId, { autocomplete: 'off' }),
      'Needed only for a PEM key when the app has several keys: the KID Okta shows beside it.',
    ),
    grantsPanel(o),
    field(
      'okta-scope-kind',
      'Sync scope',
      select(
        'okta-scope-kind',
        [
          ['org', 'The whole org'],
          ['app', 'Users and groups assigned to an app'],
          ['groups', 'Members of chosen groups'],
        ],
        scope.kind,
      ),
    ),
    field(
      'okta-scope-appId',
      'App ID',
      text('okta-scope-appId', scope.appId, { placeholder: '0oa…' }),
      'For the app scope: the ID in the app’s address in the Admin Console.',
    ),
    field(
      'okta-scope-groups',
      'Groups',
      area('okta-scope-groups', (scope.groups || []).join('\n'), 3, 'Engineering'),
      'For the chosen-groups scope: one name or ID (00g…) per line.',
    ),
    field(
      'okta-usernameAttribute',
      'Jira username',
      select(
        'okta-usernameAttribute',
        [
          ['login', 'Okta username (login)'],
          ['email', 'Primary email'],
        ],
        o.usernameAttribute,
      ),
    ),
    field(
      'okta-scheduleMinutes',
      'Synchronize automatically',
      scheduleSelect('okta-scheduleMinutes', o.scheduleMinutes),
    ),
  ];
}

export function readOkta(isNew) {
  var kind = $('okta-scope-kind').value;
  var o = {
    orgUrl: $('okta-orgUrl').value.trim(),
    usernameAttribute: $('okta-usernameAttribute').value,
    scheduleMinutes: Number($('okta-scheduleMinutes').value),
    scope:
      kind === 'app'
        ? { kind: kind, appId: $('okta-scope-appId').value.trim() }
        : kind === 'groups'
          ? { kind: kind, groups: lines($('okta-scope-groups').value) }
          : { kind: 'org' },
  };
  // An empty optional field is left out of a new connection, and removed (null) from a saved one.
  ['clientId', 'keyId'].forEach(function (k) {
    var v = $('okta-' + k).value.trim();
    if (v) o[k] = v;
    else if (!isNew) o[k] = null;
  });
  return o;
}

/** Okta in the admin page's registry of sources (sources/index.js). */
export const oktaSource = {
  settingsField: 'okta',
  listLabel: 'Okta pull',
  reading: 'Reading Okta and planning…',
  testsUsers: true,
  testSyncHelp: 'An Okta username (login) or email.',
  defaults: { scope: { kind: 'org' }, scheduleMinutes: 60, usernameAttribute: 'login' },
  fields: oktaFields,
  read: function (isNew) {
    var body = { okta: readOkta(isNew) };
    if (isNew || $('oktaCredential').value.trim()) body.oktaCredential = $('oktaCredential').value.trim();
    return body;
  },
};
