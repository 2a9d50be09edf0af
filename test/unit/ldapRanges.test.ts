import type { LdapEntry, LdapSession } from '../../src/sources/ldap/session';
import { dnKey, guidToString } from '../../src/sources/ldap/entry';
import { memberDns } from '../../src/sources/ldap/members';

/**
 * Active Directory's capped answers, as a real AD gives them (Samba hands every value at once, so
 * the integration tests ask for ranges explicitly): `member;range=0-1499`, then the next slices,
 * the last one ending in `-*`. And the objectGUID's canonical form.
 */
const dn = (i: number) => `CN=u${i},OU=People,DC=corp,DC=example`;
const slice = (from: number, to: number | '*', total: number) => {
  const end = to === '*' ? total - 1 : to;
  return Array.from({ length: end - from + 1 }, (_, k) => dn(from + k));
};

it('reads every slice of a capped member attribute, asking from where the last one ended', async () => {
  const total = 4000;
  const asked: string[] = [];
  const session = {
    read: (_dn: string, attributes: string[]) => {
      asked.push(attributes[0]);
      const from = Number(/range=(\d+)-/.exec(attributes[0])![1]);
      const to = from + 1499 >= total - 1 ? '*' : from + 1499;
      return Promise.resolve({ dn: 'CN=Big', [`member;range=${from}-${to}`]: slice(from, to, total) } as LdapEntry);
    },
  } as unknown as LdapSession;
  const reader = { members: (e: LdapEntry) => memberDns(session, e) };
  const first = { dn: 'CN=Big', 'member;range=0-1499': slice(0, 1499, total) } as LdapEntry;
  const members = await reader.members(first);
  expect(members).toHaveLength(total);
  expect(new Set(members).size).toBe(total);
  expect(asked).toEqual(['member;range=1500-*', 'member;range=3000-*']);
  // A plain member attribute (a server that does not slice) is taken as it is.
  expect(await reader.members({ dn: 'CN=Small', member: [dn(1), dn(2)] })).toEqual([dn(1), dn(2)]);
});

it('turns objectGUID bytes into the canonical string (first three fields little-endian) and DNs into keys', () => {
  const bytes = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
  expect(guidToString(bytes)).toBe('33221100-5544-7766-8899-aabbccddeeff');
  expect(dnKey(' CN=Ann , OU=People,DC=Corp ')).toBe('cn=ann,ou=people,dc=corp');
});
