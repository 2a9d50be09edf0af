import type { LdapEntry, LdapSession } from './session';
import { all } from './entry';

/**
 * A group's member DNs, by ranges when the server slices them (`member;range=0-1499`, then on,
 * the last slice ending in `-*`); a plain `member` when it does not.
 */
export async function memberDns(session: LdapSession, e: LdapEntry): Promise<string[]> {
  const ranged = Object.keys(e).find((k) => /^member;range=/i.test(k));
  if (!ranged) return all(e, 'member');
  const members = all(e, ranged);
  let m = /^member;range=(\d+)-(\d+|\*)$/i.exec(ranged);
  while (m && m[2] !== '*') {
    const next = Number(m[2]) + 1;
    const slice = await session.read(e.dn, [`member;range=${next}-*`]);
    const key = slice && Object.keys(slice).find((k) => /^member;range=/i.test(k));
    if (!slice || !key) break;
    members.push(...all(slice, key));
    m = /^member;range=(\d+)-(\d+|\*)$/i.exec(key);
  }
  return members;
}
