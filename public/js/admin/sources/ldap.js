/* The LDAP / Active Directory connection form: fields (ids named after the API's fields, so its errors land beside them), and reading them back. */
import { $, area, checkbox, field, h, lines, message, scheduleSelect, select, text } from '../dom.js';

/** What each directory type fills in when the admin leaves a field empty (the API applies the same). */
export const LDAP_DEFAULTS = {
  activeDirectory: {
    userFilter: '(&(objectCategory=person)(objectClass=user))',
    groupFilter: '(objectClass=group)',
    userName: 'sAMAccountName',
  },
  openldap: {
    userFilter: '(objectClass=inetOrgPerson)',
    groupFilter: '(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=posixGroup))',
    userName: 'uid',
  },
  other: { userFilter: '(objectClass=person)', groupFilter: '(objectClass=groupOfNames)', userName: 'uid' },
};

export function ldapFields(l, isNew) {
  var type = l.directoryType || 'activeDirectory';
  return [].concat(
    serverFields(l, type),
    bindFields(l, isNew),
    scopeFields(LDAP_DEFAULTS[type], l.users || {}, l.groups || {}, l.attributes || {}),
    readFields(l),
  );
}

/** The directory's type and servers, and how the connection to them is secured. */
function serverFields(l, type) {
  return [
    field(
      'ldap-directoryType',
      'Directory type',
      select(
        'ldap-directoryType',
        [
          ['activeDirectory', 'Active Directory'],
          ['openldap', 'OpenLDAP'],
          ['other', 'Other LDAP directory'],
        ],
        type,
      ),
      'Fills the filters and attributes below when you leave them empty.',
      true,
    ),
    field(
      'ldap-urls',
      'Server URLs',
      area('ldap-urls', (l.urls || []).join('\n'), 2, 'ldaps://dc1.corp.example:636'),
      'One per line, ldaps:// or ldap://; the next is tried when one does not answer.',
      true,
    ),
    checkbox('ldap-startTls', 'Use StartTLS on ldap:// URLs', l.startTls !== false),
    field(
      'ldap-caCertificate',
      'CA certificate (PEM)',
      area('ldap-caCertificate', l.caCertificate, 3, '-----BEGIN CERTIFICATE-----'),
      "The CA that signed the server's certificate, unless this server already trusts it.",
    ),
    field(
      'ldap-tlsServerName',
      'Host name in the certificate (optional)',
      text('ldap-tlsServerName', l.tlsServerName, { placeholder: 'dc1.corp.example' }),
      'When the URLs name the server otherwise (an IP address).',
    ),
    checkbox(
      'ldap-verifyCertificate',
      "Verify the server's certificate",
      l.verifyCertificate !== false,
      'Turn this off only for a test: anyone on the network path could then read the bind password.',
    ),
  ];
}

/** The account the connection binds as, and its password (write-only). */
function bindFields(l, isNew) {
  return [
    field(
      'ldap-bindName',
      'Bind account',
      text('ldap-bindName', l.bindName, {
        autocomplete: 'off',
        placeholder: 'svc-jira@corp.example or CORP\\svc-jira',
      }),
      'A read-only service account: its DN, UPN or DOMAIN\\name.',
      true,
    ),
    field(
      'bindPassword',
      'Bind password',
      h('input', {
        class: 'text long-field',
        type: 'password',
        id: 'bindPassword',
        name: 'bindPassword',
        autocomplete: 'new-password',
        'aria-describedby': 'bindPassword-help bindPassword-error',
      }),
      isNew ? 'Stored encrypted; never shown again.' : l.bindPasswordSet ? 'Set. Leave empty to keep it.' : 'Not set.',
      isNew,
    ),
  ];
}

/** Where users and groups are, which of them, and the attributes read (empty: the type's defaults). */
function scopeFields(d, users, groups, attrs) {
  return [
    field(
      'ldap-users-baseDn',
      'Users base DN',
      text('ldap-users-baseDn', users.baseDn, { placeholder: 'OU=Staff,DC=corp,DC=example' }),
      null,
      true,
    ),
    field(
      'ldap-users-filter',
      'User filter',
      text('ldap-users-filter', users.filter, { placeholder: d.userFilter }),
      'Empty: ' + d.userFilter,
    ),
    field(
      'ldap-groups-baseDn',
      'Groups base DN',
      text('ldap-groups-baseDn', groups.baseDn, { placeholder: 'OU=Groups,DC=corp,DC=example' }),
      null,
      true,
    ),
    field(
      'ldap-groups-filter',
      'Group filter',
      text('ldap-groups-filter', groups.filter, { placeholder: d.groupFilter }),
      'Empty: ' + d.groupFilter,
    ),
    field(
      'ldap-attributes-userName',
      'Username attribute',
      text('ldap-attributes-userName', attrs.userName, { placeholder: d.userName }),
      'Empty: ' + d.userName,
    ),
    field(
      'ldap-attributes-extra',
      'Extra attributes to read',
      text('ldap-attributes-extra', (attrs.extra || []).join(', '), { placeholder: 'department, employeeNumber' }),
      'Comma-separated; map them to user properties under Attribute Mapping.',
    ),
  ];
}

/** How memberships and disabled users are read, the access log, the schedule. */
function readFields(l) {
  return [
    field(
      'ldap-membership',
      'Group membership',
      select(
        'ldap-membership',
        [
          ['member', 'Groups list their members (member)'],
          ['memberOf', 'Users list their groups (memberOf)'],
          ['memberUid', 'posixGroup memberUid'],
        ],
        l.membership || 'member',
      ),
    ),
    checkbox(
      'ldap-nested',
      'Nested groups: members of a group inside a group count as its members',
      l.nested !== false,
    ),
    field(
      'ldap-disabledFilter',
      'Disabled users filter (not for Active Directory)',
      text('ldap-disabledFilter', l.disabledFilter, { placeholder: '(pwdAccountLockedTime=*)' }),
      'Users it matches are disabled; Active Directory reads userAccountControl.',
    ),
    field(
      'ldap-accessLogBaseDn',
      'Access log (OpenLDAP, optional)',
      text('ldap-accessLogBaseDn', l.accessLogBaseDn, { placeholder: 'cn=accesslog' }),
      "The accesslog overlay's database: scheduled syncs find deletions there instead of scanning every user. Empty: scan.",
    ),
    field(
      'ldap-scheduleMinutes',
      'Synchronize automatically',
      scheduleSelect('ldap-scheduleMinutes', l.scheduleMinutes === undefined ? 60 : l.scheduleMinutes),
    ),
    l.verifyCertificate === false
      ? message('warning', 'Certificate not verified', "This connection does not check the server's certificate.")
      : null,
  ];
}

/** The form's LDAP settings; empty optional fields are left out, so the directory type's defaults apply. */
export function readLdap() {
  var v = function (id) {
    return $(id).value.trim();
  };
  var l = {
    directoryType: v('ldap-directoryType'),
    urls: lines($('ldap-urls').value),
    startTls: $('ldap-startTls').checked,
    verifyCertificate: $('ldap-verifyCertificate').checked,
    caCertificate: v('ldap-caCertificate') || null,
    tlsServerName: v('ldap-tlsServerName') || null,
    bindName: v('ldap-bindName') || null,
    users: { baseDn: v('ldap-users-baseDn') },
    groups: { baseDn: v('ldap-groups-baseDn') },
    attributes: { extra: lines($('ldap-attributes-extra').value) },
    membership: v('ldap-membership'),
    nested: $('ldap-nested').checked,
    disabledFilter: v('ldap-disabledFilter') || null,
    accessLogBaseDn: v('ldap-accessLogBaseDn') || null,
    scheduleMinutes: Number(v('ldap-scheduleMinutes')),
  };
  if (v('ldap-users-filter')) l.users.filter = v('ldap-users-filter');
  if (v('ldap-groups-filter')) l.groups.filter = v('ldap-groups-filter');
  if (v('ldap-attributes-userName')) l.attributes.userName = v('ldap-attributes-userName');
  return l;
}

/** LDAP / Active Directory in the admin page's registry of sources (sources/index.js). */
export const ldapSource = {
  settingsField: 'ldap',
  listLabel: 'LDAP pull',
  reading: 'Reading the directory and planning…',
  testsUsers: true,
  /** What a new connection's form starts from. */
  defaults: { directoryType: 'activeDirectory', scheduleMinutes: 60 },
  fields: ldapFields,
  /** The form's settings, and the bind password when typed (an anonymous bind has none). */
  read: function () {
    var body = { ldap: readLdap() };
    if ($('bindPassword').value) body.bindPassword = $('bindPassword').value;
    return body;
  },
};
