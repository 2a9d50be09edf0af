import { z } from 'zod';
import { hasControlCharacters } from '../../text';
import { scheduleMinutesSchema } from '../schedule';

/** The kinds of directory the form offers; each fills the defaults below (every one can be changed). */
export const DIRECTORY_TYPES = ['activeDirectory', 'openldap', 'other'] as const;
export type DirectoryType = (typeof DIRECTORY_TYPES)[number];

/** How a group's members are found: its `member` DNs, the users' `memberOf`, or posixGroup `memberUid` names. */
export const MEMBERSHIP_MODELS = ['member', 'memberOf', 'memberUid'] as const;

/** What each directory type reads unless the admin says otherwise. */
export const DEFAULTS: Record<
  DirectoryType,
  {
    userFilter: string;
    groupFilter: string;
    idAttribute: string;
    userNameAttribute: string;
    groupNameAttribute: string;
    membership: (typeof MEMBERSHIP_MODELS)[number];
    disabledFilter: string | null;
  }
> = {
  activeDirectory: {
    userFilter: '(&(objectCategory=person)(objectClass=user))',
    groupFilter: '(objectClass=group)',
    idAttribute: 'objectGUID',
    userNameAttribute: 'sAMAccountName',
    groupNameAttribute: 'cn',
    membership: 'member',
    disabledFilter: null, // userAccountControl bit 0x2, read from every entry
  },
  openldap: {
    userFilter: '(objectClass=inetOrgPerson)',
    groupFilter: '(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=posixGroup))',
    idAttribute: 'entryUUID',
    userNameAttribute: 'uid',
    groupNameAttribute: 'cn',
    membership: 'member',
    disabledFilter: null,
  },
  other: {
    userFilter: '(objectClass=person)',
    groupFilter: '(objectClass=groupOfNames)',
    idAttribute: 'entryUUID',
    userNameAttribute: 'uid',
    groupNameAttribute: 'cn',
    membership: 'member',
    disabledFilter: null,
  },
};

const text = (max: number) =>
  z
    .string()
    .trim()
    .min(1, 'must not be empty')
    .max(max, `at most ${max.toLocaleString('en')} characters`)
    .refine((v) => !hasControlCharacters(v), 'must not contain control characters');

/** An LDAP filter: parenthesised, balanced (the server judges the rest, and Test connection says what it said). */
const filter = text(2000).refine(
  (v) => v.startsWith('(') && v.endsWith(')') && balanced(v),
  'must be an LDAP filter in parentheses, such as (objectClass=user), with balanced parentheses',
);
const dn = text(1000).refine(
  (v) => /^[^=,]+=[^,]+(,[^=,]+=[^,]+)*$/.test(v.replace(/\\,/g, '')),
  'must be a DN such as OU=Staff,DC=corp,DC=example',
);
const attribute = z
  .string()
  .trim()
  .regex(/^[A-Za-z][A-Za-z0-9-]{0,63}$/, 'must be an LDAP attribute name such as mail or sAMAccountName');
const url = z
  .string()
  .trim()
  .refine(
    (v) => /^ldaps?:\/\/[^\s/]+(:\d{1,5})?\/?$/i.test(v),
    'must be an ldap:// or ldaps:// URL such as ldaps://dc1.corp.example:636',
  )
  .transform((v) => v.replace(/\/+$/, ''));

/** The LDAP part of a connection (everything but the bind password), as stored and returned. */
const baseSchema = z
  .object({
    directoryType: z.enum(DIRECTORY_TYPES, {
      errorMap: () => ({ message: `must be one of ${DIRECTORY_TYPES.join(', ')}` }),
    }),
    /** Tried in order; the next is tried when one does not answer. */
    urls: z.array(url).min(1, 'give at least one server URL').max(5, 'at most 5 servers'),
    /** For ldap:// URLs: upgrade with StartTLS before binding (ldaps:// is TLS from the start). */
    startTls: z.boolean().default(true),
    /** PEM of the CA that signed the server's certificate (else the system's trusted CAs). */
    caCertificate: z
      .string()
      .trim()
      .max(20_000, 'at most 20,000 characters')
      .refine(
        (v) => v.includes('-----BEGIN CERTIFICATE-----'),
        'must be a PEM certificate (-----BEGIN CERTIFICATE-----)',
      )
      .nullable()
      .default(null),
    /** Off only by an explicit choice, which the admin page warns about. */
    verifyCertificate: z.boolean().default(true),
    /** The host name in the server's certificate, when the URLs name the server otherwise (an IP address, an alias). */
    tlsServerName: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/, 'must be a host name such as dc1.corp.example')
      .nullable()
      .default(null),
    /** A DN, a UPN (svc@corp.example) or DOMAIN\user; null binds anonymously (only with `anonymous`). */
    bindName: text(500).nullable().default(null),
    anonymous: z.boolean().default(false),
    connectTimeoutMs: z.number().int().min(1000).max(60_000).default(5000),
    timeoutMs: z.number().int().min(1000).max(600_000).default(30_000),
    users: z
      .object({
        baseDn: dn,
        scope: z.enum(['sub', 'one']).default('sub'),
        filter,
        /** Only members of these groups (DNs), nested included; empty: every user the filter finds. */
        onlyMembersOf: z.array(dn).max(50, 'at most 50 groups').default([]),
      })
      .strict(),
    groups: z.object({ baseDn: dn, filter }).strict(),
    attributes: z
      .object({
        id: attribute,
        userName: attribute,
        email: attribute.default('mail'),
        displayName: attribute.default('displayName'),
        /** More user attributes to read, for custom attribute mapping. */
        extra: z.array(attribute).max(30, 'at most 30 attributes').default([]),
        groupName: attribute,
      })
      .strict(),
    membership: z.enum(MEMBERSHIP_MODELS, {
      errorMap: () => ({ message: `must be one of ${MEMBERSHIP_MODELS.join(', ')}` }),
    }),
    nested: z.boolean().default(true),
    /** Users this filter matches are disabled (Active Directory reads userAccountControl instead). */
    disabledFilter: filter.nullable(),
    /**
     * Where OpenLDAP's access log is (the `accesslog` overlay's database, such as cn=accesslog): an
     * incremental read finds deletions there instead of scanning every id in scope. Null: scan.
     * Not for Active Directory (its tombstones serve).
     */
    accessLogBaseDn: dn.nullable().default(null),
    scheduleMinutes: scheduleMinutesSchema,
  })
  .strict()
  .refine((s) => s.bindName !== null || s.anonymous, {
    message: 'give a bind name, or choose anonymous binding explicitly',
    path: ['bindName'],
  })
  .refine((s) => s.directoryType !== 'activeDirectory' || s.accessLogBaseDn === null, {
    message: 'Active Directory has no access log: its deleted objects are read instead (leave this empty)',
    path: ['accessLogBaseDn'],
  });

/**
 * Fills what the directory type implies before validating: the filters, the id, username and
 * group name attributes, the membership model. What the admin gave wins.
 */
export const ldapSettingsSchema = z.preprocess((raw) => {
  if (!raw || typeof raw !== 'object') return raw;
  const r = raw as Record<string, unknown>;
  const d = DEFAULTS[r.directoryType as DirectoryType];
  if (!d) return raw;
  const obj = (v: unknown) => (v && typeof v === 'object' ? (v as Record<string, unknown>) : undefined);
  const users = obj(r.users);
  const groups = obj(r.groups);
  const attributes = obj(r.attributes) ?? {};
  return {
    ...r,
    users: users && { filter: d.userFilter, ...users },
    groups: groups && { filter: d.groupFilter, ...groups },
    attributes: {
      id: d.idAttribute,
      userName: d.userNameAttribute,
      groupName: d.groupNameAttribute,
      ...attributes,
    },
    membership: r.membership ?? d.membership,
    disabledFilter: r.disabledFilter === undefined ? d.disabledFilter : r.disabledFilter,
  };
}, baseSchema);

export type LdapSettings = z.infer<typeof baseSchema>;

function balanced(v: string): boolean {
  let depth = 0;
  for (let i = 0; i < v.length; i++) {
    if (v[i] === '\\') i += 2;
    else if (v[i] === '(') depth++;
    else if (v[i] === ')' && --depth < 0) return false;
  }
  return depth === 0;
}
