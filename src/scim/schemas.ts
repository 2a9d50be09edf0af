/** SCIM attribute and schema definitions (RFC 7643 §2, §4, §7, §8.7). */

export type AttrType = 'string' | 'boolean' | 'decimal' | 'integer' | 'dateTime' | 'reference' | 'complex' | 'binary';
export type Mutability = 'readOnly' | 'readWrite' | 'immutable' | 'writeOnly';
export type Returned = 'always' | 'never' | 'default' | 'request';

export interface AttrDef {
  name: string;
  type: AttrType;
  multiValued: boolean;
  description: string;
  required: boolean;
  caseExact: boolean;
  mutability: Mutability;
  returned: Returned;
  uniqueness: 'none' | 'server' | 'global';
  canonicalValues?: string[];
  referenceTypes?: string[];
  subAttributes?: AttrDef[];
}

export interface SchemaDef {
  id: string;
  name: string;
  description: string;
  attributes: AttrDef[];
}

export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const ENTERPRISE_SCHEMA = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const LIST_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';

type Opts = Partial<Omit<AttrDef, 'name' | 'type' | 'subAttributes'>>;
const attr = (name: string, type: AttrType, o: Opts = {}, subAttributes?: AttrDef[]): AttrDef => ({
  name,
  type,
  multiValued: false,
  description: o.description ?? name,
  required: false,
  caseExact: false,
  mutability: 'readWrite',
  returned: 'default',
  uniqueness: 'none',
  ...o,
  ...(subAttributes ? { subAttributes } : {}),
});
const str = (name: string, o: Opts = {}) => attr(name, 'string', o);
const bool = (name: string, o: Opts = {}) => attr(name, 'boolean', o);
const ref = (name: string, referenceTypes: string[], o: Opts = {}) => attr(name, 'reference', { referenceTypes, ...o });

/** The sub-attributes of SCIM's multi-valued attributes (value, display, type, primary). */
const multi = (name: string, valueType: AttrType, types: string[], o: Opts = {}, extra: AttrDef[] = []): AttrDef =>
  attr(name, 'complex', { multiValued: true, ...o }, [
    attr('value', valueType, { description: `The ${name} value` }),
    str('display', { description: 'A human-readable name, primarily used for display purposes' }),
    str('type', {
      canonicalValues: types.length ? types : undefined,
      description: "A label indicating the attribute's function",
    }),
    bool('primary', { description: 'Whether this is the primary value' }),
    ...extra,
  ]);

/** The common attributes every resource has (RFC 7643 §3.1); `schemas` is handled apart. */
export const COMMON_ATTRIBUTES: AttrDef[] = [
  str('id', {
    caseExact: true,
    mutability: 'readOnly',
    returned: 'always',
    uniqueness: 'server',
    description: 'Unique identifier assigned by the service provider',
  }),
  str('externalId', {
    caseExact: true,
    description: 'Identifier of the resource as defined by the provisioning client',
  }),
  attr('meta', 'complex', { mutability: 'readOnly', description: 'Resource metadata' }, [
    str('resourceType', { caseExact: true, mutability: 'readOnly' }),
    attr('created', 'dateTime', { mutability: 'readOnly' }),
    attr('lastModified', 'dateTime', { mutability: 'readOnly' }),
    ref('location', ['uri'], { mutability: 'readOnly' }),
    str('version', { caseExact: true, mutability: 'readOnly' }),
  ]),
];

export const userSchema: SchemaDef = {
  id: USER_SCHEMA,
  name: 'User',
  description: 'User Account',
  attributes: [
    str('userName', {
      required: true,
      uniqueness: 'server',
      description: 'Unique identifier for the User, matched case-insensitively',
    }),
    attr('name', 'complex', { description: "The components of the user's name" }, [
      str('formatted'),
      str('familyName'),
      str('givenName'),
      str('middleName'),
      str('honorificPrefix'),
      str('honorificSuffix'),
    ]),
    str('displayName'),
    str('nickName'),
    ref('profileUrl', ['external']),
    str('title'),
    str('userType'),
    str('preferredLanguage'),
    str('locale'),
    str('timezone'),
    bool('active', { description: "The user's administrative status" }),
    str('password', {
      mutability: 'writeOnly',
      returned: 'never',
      description: 'Accepted and discarded: Jira Cloud accounts have no password here',
    }),
    multi('emails', 'string', ['work', 'home', 'other']),
    multi('phoneNumbers', 'string', ['work', 'home', 'mobile', 'fax', 'pager', 'other']),
    multi('ims', 'string', ['aim', 'gtalk', 'icq', 'xmpp', 'msn', 'skype', 'qq', 'yahoo']),
    multi('photos', 'reference', ['photo', 'thumbnail']),
    attr('addresses', 'complex', { multiValued: true }, [
      str('formatted'),
      str('streetAddress'),
      str('locality'),
      str('region'),
      str('postalCode'),
      str('country'),
      str('type', { canonicalValues: ['work', 'home', 'other'] }),
      bool('primary'),
    ]),
    attr(
      'groups',
      'complex',
      {
        multiValued: true,
        mutability: 'readOnly',
        description: 'Groups the user belongs to (managed through /Groups)',
      },
      [
        str('value', { mutability: 'readOnly' }),
        ref('$ref', ['Group'], { mutability: 'readOnly' }),
        str('display', { mutability: 'readOnly' }),
        str('type', { mutability: 'readOnly', canonicalValues: ['direct', 'indirect'] }),
      ],
    ),
    multi('entitlements', 'string', []),
    multi('roles', 'string', []),
    multi('x509Certificates', 'binary', []),
  ],
};

export const enterpriseSchema: SchemaDef = {
  id: ENTERPRISE_SCHEMA,
  name: 'EnterpriseUser',
  description: 'Enterprise User',
  attributes: [
    str('employeeNumber'),
    str('costCenter'),
    str('organization'),
    str('division'),
    str('department'),
    attr('manager', 'complex', { description: "The user's manager" }, [
      str('value', { caseExact: true }),
      ref('$ref', ['User']),
      str('displayName', { mutability: 'readOnly' }),
    ]),
  ],
};

export const groupSchema: SchemaDef = {
  id: GROUP_SCHEMA,
  name: 'Group',
  description: 'Group',
  attributes: [
    str('displayName', {
      required: true,
      uniqueness: 'server',
      description: 'A human-readable name for the Group, unique per connection (case-insensitive)',
    }),
    attr('members', 'complex', { multiValued: true, description: 'Members of the group (users)' }, [
      str('value', { caseExact: true, mutability: 'immutable' }),
      ref('$ref', ['User'], { mutability: 'immutable' }),
      str('display', { mutability: 'immutable' }),
      str('type', { mutability: 'immutable', canonicalValues: ['User'] }),
    ]),
  ],
};

/** A resource type with its core schema and extensions (what /ResourceTypes lists). */
export interface ResourceTypeDef {
  id: 'User' | 'Group';
  endpoint: '/Users' | '/Groups';
  core: SchemaDef;
  extensions: SchemaDef[];
}

export const USER_TYPE: ResourceTypeDef = {
  id: 'User',
  endpoint: '/Users',
  core: userSchema,
  extensions: [enterpriseSchema],
};
export const GROUP_TYPE: ResourceTypeDef = { id: 'Group', endpoint: '/Groups', core: groupSchema, extensions: [] };
export const ALL_SCHEMAS: SchemaDef[] = [userSchema, enterpriseSchema, groupSchema];

/** Finds an attribute by name, case-insensitively (SCIM attribute names are case-insensitive). */
export function findAttr(attrs: AttrDef[] | undefined, name: string): AttrDef | undefined {
  const n = name.toLowerCase();
  return attrs?.find((a) => a.name.toLowerCase() === n);
}

/** The schema a URN names within a resource type (core or extension), case-insensitively. */
export function findSchema(type: ResourceTypeDef, urn: string): SchemaDef | undefined {
  const u = urn.toLowerCase();
  return [type.core, ...type.extensions].find((s) => s.id.toLowerCase() === u);
}
