import type { LdapSettings } from './settings';
import { escapeValue, type LdapEntry, type LdapSession } from './session';
import { adDisabled, all, dnKey, entryId, first, guidToString, toPulledUser, userAttributes } from './entry';

/*
 * One directory user and their groups, as Test Sync and a first login read them (the full and
 * incremental reads go through read.ts instead). Every value placed in a filter is escaped.
 */

/** What Test Sync shows of one directory user: the entry as the directory returns it, and what a read makes of it. */
export type LdapUserProbe =
  | { found: false; message: string }
  | {
      found: true;
      dn: string;
      /** Every attribute the directory returned, as text (binary values: a GUID in its canonical form, else their size). */
      attributes: Record<string, string[]>;
      /** Whether the users' base DN, filter and "only members of" let this user in. */
      inScope: boolean;
      active: boolean;
      /** What the store would keep: SCIM's names and the attributes read (the rules read this). */
      resource: Record<string, unknown>;
      /** The groups the user is in, nested ones included (`direct`: named in the user's own membership). */
      groups: Array<{ name: string; dn: string; direct: boolean }>;
    };

/**
 * Test Sync: finds one user by its username under the users' base DN, in scope or not, and says
 * what a read makes of it. Changes nothing.
 */
export async function probeEntry(session: LdapSession, s: LdapSettings, username: string): Promise<LdapUserProbe> {
  const byName = `(${s.attributes.userName}=${escapeValue(username)})`;
  const binary = [
    'objectGUID',
    'objectSid',
    'thumbnailPhoto',
    'jpegPhoto',
    'msExchMailboxGuid',
    'mS-DS-ConsistencyGuid',
  ];
  const found = await session.find(s.users.baseDn, {
    scope: s.users.scope,
    filter: byName,
    attributes: ['*', ...userAttributes(s)],
    explicitBufferAttributes: binary,
  });
  const entry = found[0];
  if (!entry)
    return {
      found: false,
      message: `No entry under ${s.users.baseDn} has ${s.attributes.userName} = ${username}.`,
    };
  const attributes: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(entry)) {
    if (k === 'dn') continue;
    const values = Array.isArray(v) ? v : [v];
    if (values.length === 0) continue;
    attributes[k] = values.map((x) =>
      Buffer.isBuffer(x)
        ? x.length === 16 && /guid/i.test(k)
          ? guidToString(x)
          : `(binary, ${x.length} bytes)`
        : String(x),
    );
  }
  const inFilter =
    (
      await session.find(s.users.baseDn, {
        scope: s.users.scope,
        filter: `(&${s.users.filter}${byName})`,
        attributes: ['objectClass'],
      })
    ).length > 0;
  const groups = await groupsOf(session, s, entry.dn, first(entry, s.attributes.userName));
  const memberOf = s.membership === 'memberOf' ? new Set(all(entry, 'memberOf').map(dnKey)) : undefined;
  const { inGroups, disabled } = await judge(session, s, entry, groups);
  const user = toPulledUser(entry, s, disabled);
  return {
    found: true,
    dn: entry.dn,
    attributes,
    inScope: inFilter && inGroups && !!user,
    active: !disabled,
    resource: user?.resource ?? {},
    groups: groups
      .map((g) => ({ name: g.name, dn: g.dn, direct: memberOf ? memberOf.has(dnKey(g.dn)) : g.direct }))
      .sort((a, b) => a.name.localeCompare(b.name)),
  };
}

/** Whether "only members of" lets a user in (given their groups), and whether the directory disables them. */
export async function judge(
  session: LdapSession,
  s: LdapSettings,
  entry: LdapEntry,
  groups: Array<{ dn: string }>,
): Promise<{ inGroups: boolean; disabled: boolean }> {
  const inGroups =
    !s.users.onlyMembersOf.length || s.users.onlyMembersOf.some((dn) => groups.some((g) => dnKey(g.dn) === dnKey(dn)));
  const disabled =
    s.directoryType === 'activeDirectory'
      ? adDisabled(entry)
      : !!s.disabledFilter &&
        (await session.find(entry.dn, { scope: 'base', filter: s.disabledFilter, attributes: ['objectClass'] }))
          .length > 0;
  return { inGroups, disabled };
}

/** The groups a user is in, nested ones up the chain, by the connection's membership model. */
export async function groupsOf(
  session: LdapSession,
  s: LdapSettings,
  userDn: string,
  userName: string,
): Promise<Array<{ id: string; dn: string; name: string; direct: boolean }>> {
  const out = new Map<string, { id: string; dn: string; name: string; direct: boolean }>();
  const buffers = s.attributes.id === 'objectGUID' ? ['objectGUID'] : [];
  const search = async (filter: string, direct: boolean) => {
    const found: Array<{ id: string; dn: string; name: string; direct: boolean }> = [];
    for await (const page of session.pages(s.groups.baseDn, {
      scope: 'sub',
      filter: `(&${s.groups.filter}${filter})`,
      attributes: [s.attributes.id, s.attributes.groupName],
      explicitBufferAttributes: buffers,
    }))
      for (const e of page) {
        const id = entryId(e, s.attributes.id);
        const name = first(e, s.attributes.groupName);
        if (id && name && !out.has(dnKey(e.dn))) found.push({ id, dn: e.dn, name, direct });
      }
    for (const g of found) out.set(dnKey(g.dn), g);
    return found;
  };
  const memberFilter = (dn: string) =>
    s.membership === 'memberOf' || s.membership === 'member'
      ? `(|(member=${escapeValue(dn)})(uniqueMember=${escapeValue(dn)}))`
      : `(memberUid=${escapeValue(dn)})`;
  // The first search finds the groups that name the user (direct); each next one, the groups holding those.
  let frontier = await search(s.membership === 'memberUid' ? memberFilter(userName) : memberFilter(userDn), true);
  while (s.nested && frontier.length && s.membership !== 'memberUid') {
    frontier = await search(`(|${frontier.map((g) => `(member=${escapeValue(g.dn)})`).join('')})`, false);
  }
  return [...out.values()];
}
