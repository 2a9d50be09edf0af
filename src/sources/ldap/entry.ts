import type { PulledUser } from '../../directory/pulled';
import type { LdapEntry } from './session';
import type { LdapSettings } from './settings';

/*
 * Directory entries as the store keeps them: attribute values as text, the unique id in its
 * canonical form, DNs as keys, a user entry as a PulledUser (SCIM's names plus the LDAP ones).
 */

/** userAccountControl's ACCOUNTDISABLE bit. */
const UAC_DISABLED = 0x2;

/** The first value of an attribute as text ('' when absent). */
export function first(e: LdapEntry, attr: string): string {
  const v = valueOf(e, attr);
  const one = Array.isArray(v) ? v[0] : v;
  return one === undefined ? '' : Buffer.isBuffer(one) ? one.toString('utf8') : String(one);
}

/** Every value of an attribute as text. */
export function all(e: LdapEntry, attr: string): string[] {
  const v = valueOf(e, attr);
  const list = v === undefined ? [] : Array.isArray(v) ? v : [v];
  return list.map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : String(x)));
}

/** Attribute names are case-insensitive; servers answer in their own case. */
function valueOf(e: LdapEntry, attr: string): LdapEntry[string] | undefined {
  if (attr in e) return e[attr];
  // Asked for thousands of times per page, mostly for attributes an entry lacks: compare lengths first.
  let lower: string | undefined;
  for (const key in e)
    if (key.length === attr.length && key.toLowerCase() === (lower ??= attr.toLowerCase())) return e[key];
  return undefined;
}

/** Active Directory's objectGUID (16 bytes, the first three fields little-endian) as its canonical string. */
export function guidToString(b: Buffer): string {
  const h = (from: number, to: number, reverse: boolean) => {
    const part = b.subarray(from, to);
    return Buffer.from(reverse ? [...part].reverse() : part).toString('hex');
  };
  return `${h(0, 4, true)}-${h(4, 6, true)}-${h(6, 8, true)}-${h(8, 10, false)}-${h(10, 16, false)}`;
}

/** The directory's unique id of an entry (objectGUID or entryUUID), lower case; '' when it has none. */
export function entryId(e: LdapEntry, attr: string): string {
  const v = valueOf(e, attr);
  const one = Array.isArray(v) ? v[0] : v;
  if (Buffer.isBuffer(one)) return one.length === 16 ? guidToString(one) : '';
  const s = String(one ?? '').toLowerCase();
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(s) ? s : '';
}

/** A DN as a key: lower case, no spaces around separators (servers differ in both). */
const SPACE = /\s/;
export function dnKey(dn: string): string {
  return (SPACE.test(dn) ? dn.trim().replace(/\s*([,=+])\s*/g, '$1') : dn).toLowerCase();
}

/** The attributes a user search asks for. */
export function userAttributes(s: LdapSettings): string[] {
  const a = s.attributes;
  return [
    ...new Set([
      a.id,
      a.userName,
      a.email,
      a.displayName,
      'cn',
      'givenName',
      'sn',
      'title',
      'department',
      ...a.extra,
      ...(s.directoryType === 'activeDirectory' ? ['userAccountControl', 'userPrincipalName'] : []),
      ...(s.membership === 'memberOf' ? ['memberOf'] : []),
    ]),
  ];
}

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

/**
 * A directory entry as the store keeps a user: the attributes read (under their LDAP names, so the
 * rules' custom mappings can name them) plus SCIM's names for the identity, so one set of rules
 * serves push and pull. Null when the entry has no id or no username.
 */
export function toPulledUser(e: LdapEntry, s: LdapSettings, disabled: boolean): PulledUser | null {
  const a = s.attributes;
  const id = entryId(e, a.id);
  const userName = first(e, a.userName);
  if (!id || !userName) return null;
  const email = first(e, a.email) || null;
  const displayName = first(e, a.displayName) || first(e, 'cn') || null;
  const ldap: Record<string, string | string[]> = {};
  for (const attr of [a.email, a.displayName, 'givenName', 'sn', 'title', 'department', ...a.extra]) {
    const values = all(e, attr);
    if (values.length) ldap[attr] = values.length === 1 ? values[0] : values;
  }
  const title = first(e, 'title');
  const department = first(e, 'department');
  return {
    id,
    userName,
    email,
    displayName,
    active: !disabled,
    externalId: e.dn,
    resource: {
      ...ldap,
      dn: e.dn,
      userName,
      displayName,
      active: !disabled,
      emails: email ? [{ value: email, primary: true, type: 'work' }] : [],
      name: { givenName: first(e, 'givenName') || null, familyName: first(e, 'sn') || null },
      ...(title ? { title } : {}),
      ...(department ? { [ENTERPRISE]: { department } } : {}),
    },
  };
}

/** Whether Active Directory says the account is disabled (userAccountControl bit 0x2). */
export function adDisabled(e: LdapEntry): boolean {
  const uac = Number.parseInt(first(e, 'userAccountControl'), 10);
  return Number.isFinite(uac) && (uac & UAC_DISABLED) !== 0;
}
