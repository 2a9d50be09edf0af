/* The identity providers an admin can add, their SCIM setup steps, and the SCIM details panel. */
import { copyButton, h, message, when } from './dom.js';

// ---- views -----------------------------------------------------------------------------------

export const PROVIDERS = [
  {
    key: 'scim-entra',
    kind: 'scim',
    provider: 'entra',
    title: 'Microsoft Entra ID (SCIM)',
    text: 'Entra ID pushes users and groups with its provisioning service.',
  },
  {
    key: 'entra',
    kind: 'entra',
    provider: 'entra',
    title: 'Microsoft Entra ID (Graph)',
    text: 'This app reads Entra ID through Microsoft Graph: the whole directory, an enterprise application, or chosen groups.',
  },
  {
    key: 'ldap',
    kind: 'ldap',
    provider: 'ldap',
    title: 'LDAP / Active Directory',
    text: 'This app reads users and groups from Active Directory, OpenLDAP or another LDAP directory.',
  },
  {
    key: 'google',
    kind: 'google',
    provider: 'google',
    title: 'Google Workspace',
    text: 'This app reads Google Workspace through the Admin SDK: the whole account, organizational units, or chosen groups.',
  },
  {
    key: 'okta',
    kind: 'okta',
    provider: 'okta',
    title: 'Okta (Management API)',
    text: 'This app reads Okta through its Management API: the whole org, an app’s assignments, or chosen groups. No Lifecycle Management license needed.',
  },
  {
    key: 'keycloak',
    kind: 'keycloak',
    provider: 'keycloak',
    title: 'Keycloak',
    text: 'This app reads a Keycloak realm through its Admin REST API: the whole realm, or chosen groups with their subgroups.',
  },
  {
    key: 'scim-okta',
    kind: 'scim',
    provider: 'okta',
    title: 'Okta (SCIM)',
    text: 'Okta pushes users and groups with a SCIM 2.0 app (Okta Lifecycle Management).',
  },
  {
    key: 'scim-miniorange',
    kind: 'scim',
    provider: 'miniorange',
    title: 'miniOrange',
    text: 'miniOrange pushes users and groups to a SCIM Server (Destination) app.',
  },
  {
    key: 'scim-generic',
    kind: 'scim',
    provider: 'generic',
    title: 'Any SCIM 2.0 client',
    text: 'Any identity provider that speaks SCIM 2.0.',
  },
];

export const SETUP = {
  entra: [
    'In the Entra admin center: Enterprise applications → New application → Create your own application (non-gallery).',
    'Provisioning → Get started → Provisioning Mode: Automatic.',
    'Tenant URL: the SCIM base URL below. Secret Token: the bearer token below. Test Connection, then Save.',
    'Mappings: keep userPrincipalName → userName and mail → emails[type eq "work"].value; assign users and groups; turn Provisioning Status On.',
  ],
  okta: [
    'In Okta: Applications → Create App Integration → SWA, then in General → Provisioning choose SCIM (or use the "SCIM 2.0 Test App (Header Auth)").',
    'SCIM connector base URL: the SCIM base URL below. Unique identifier field: userName.',
    'Authentication Mode: HTTP Header; Authorization: Bearer + the token below.',
    'Enable Push New Users, Push Profile Updates, Push Groups and Deactivate Users; assign people and push groups.',
  ],
  miniorange: [
    'In miniOrange: Apps → Add Application → SCIM Server (Destination).',
    'Base URL: the SCIM base URL below. Bearer Token: the token below.',
    'Turn on create, update and deactivate, map the attributes, and assign users and groups.',
  ],
  generic: [
    'Give your identity provider the SCIM base URL and the bearer token below (Authorization: Bearer <token>).',
    'Users: /Users, groups: /Groups, discovery: /ServiceProviderConfig.',
  ],
};

export function scimDetails(c, tokenValue) {
  var steps = SETUP[c.provider] || SETUP.generic;
  return h(
    'section',
    { class: 'idp-section', 'aria-labelledby': 'scim-title' },
    h('h2', { id: 'scim-title', text: 'SCIM details' }),
    tokenValue
      ? message('info', 'Copy the token now', 'This is the only time the token is shown. Rotate it to get a new one.')
      : null,
    h(
      'dl',
      { class: 'idp-kv' },
      h('dt', { text: c.target === 'customers' ? 'Customer base URL' : 'SCIM base URL' }),
      h(
        'dd',
        {},
        h('code', { id: 'scim-base-url', text: c.scim.baseUrl }),
        ' ',
        copyButton('Copy URL', function () {
          return c.scim.baseUrl;
        }),
      ),
      h('dt', { text: c.target === 'customers' ? 'Customer bearer token' : 'Bearer token' }),
      h(
        'dd',
        {},
        tokenValue
          ? [
              h('code', { id: 'scim-token', class: 'idp-secret', text: tokenValue }),
              ' ',
              copyButton('Copy token', function () {
                return tokenValue;
              }),
            ]
          : h('span', {
              text: 'Hidden (ends ' + (c.scim.tokenHint || '—') + ', created ' + when(c.scim.tokenCreatedAt) + ')',
            }),
      ),
      tokenValue ? null : h('dt', { text: 'Last request from the IdP' }),
      tokenValue
        ? null
        : h('dd', { id: 'scim-last-request', text: c.scim.lastRequestAt ? when(c.scim.lastRequestAt) : 'none yet' }),
    ),
    h('h3', { text: 'Set it up in ' + (c.providerLabel || 'your IdP') }),
    h(
      'ol',
      { class: 'idp-steps' },
      steps.map(function (s) {
        return h('li', { text: s });
      }),
    ),
  );
}
