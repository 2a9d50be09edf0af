/*
 * The group graph of an LDAP read: groups as read (members resolved to user ids, or not yet), who
 * "only users of these groups" lets in, each group's child groups, and a group's users with its
 * nested groups' (cycles included). Pure: no directory, no store.
 */

/** What "only users of these groups" lets in: group DN keys, and member DN keys or user names. */
export interface Scope {
  groups: Set<string>;
  members: Set<string>;
}

/**
 * The users a read knows: id by DN key (member model) or by user name (memberUid model), and
 * (memberOf model) each user's group DN keys.
 */
export interface UserMaps {
  byDn: Map<string, string>;
  byName: Map<string, string>;
  memberOf: Map<string, string[]>;
}

export interface GroupRead {
  id: string;
  /** The group's DN as a key (`dnKey`). */
  dn: string;
  name: string;
  /** Member user ids, resolved as the group was read (the same strings as the user maps' values). */
  users: string[];
  /** Members that are not known users: DN keys (perhaps nested groups), or, unresolved, every member. */
  others: string[];
  /** The groups this one is in (memberOf model), as DN keys. */
  memberOf: string[];
}

/**
 * Who "only users of these groups" lets in: the chosen groups (DN keys) and the groups nested in
 * them, and their members as DN keys (member model) or user names (memberUid), from groups read
 * unresolved; with memberOf, a user is in when one of its groups is.
 */
export function scopeOf(groups: GroupRead[], chosen: string[]): Scope {
  const byDn = new Map(groups.map((g) => [g.dn, g]));
  const scope: Scope = { groups: new Set(), members: new Set() };
  const stack = [...chosen];
  const children = new Map<string, string[]>();
  for (const [dn, g] of byDn)
    for (const parent of g.memberOf) children.set(parent, [...(children.get(parent) ?? []), dn]);
  while (stack.length) {
    const dn = stack.pop()!;
    if (scope.groups.has(dn) || !byDn.has(dn)) continue;
    scope.groups.add(dn);
    for (const m of byDn.get(dn)!.others) {
      if (byDn.has(m)) stack.push(m);
      else scope.members.add(m);
    }
    stack.push(...(children.get(dn) ?? []));
  }
  return scope;
}

/** Each group's child groups, by id: member DNs that are groups, or the groups a group's own memberOf names. */
export function childGroups(groups: GroupRead[]): Map<string, GroupRead[]> {
  const byDn = new Map(groups.map((g) => [g.dn, g]));
  const children = new Map<string, GroupRead[]>();
  const nest = (parent: GroupRead | undefined, child: GroupRead | undefined) => {
    if (!parent || !child || parent === child) return;
    const list = children.get(parent.id);
    if (list) list.push(child);
    else children.set(parent.id, [child]);
  };
  for (const g of groups) {
    for (const m of g.others) nest(g, byDn.get(m));
    for (const parent of g.memberOf) nest(byDn.get(parent), g);
  }
  return children;
}

/** memberOf model: each user's groups (DN keys) came with the user; adds the user to those groups. */
export function addMemberOf(groups: GroupRead[], memberOf: Map<string, string[]>): void {
  if (memberOf.size === 0) return;
  const byDn = new Map(groups.map((g) => [g.dn, g]));
  for (const [userId, dns] of memberOf) for (const dn of dns) byDn.get(dn)?.users.push(userId);
}

/** A group's users with its nested groups' (each group visited once, so a cycle ends). */
export function flatten(root: GroupRead, children: Map<string, GroupRead[]>): Set<string> {
  const out = new Set<string>();
  const seen = new Set<GroupRead>([root]);
  const stack = [root];
  while (stack.length) {
    const g = stack.pop()!;
    for (const u of g.users) out.add(u);
    for (const c of children.get(g.id) ?? [])
      if (!seen.has(c)) {
        seen.add(c);
        stack.push(c);
      }
  }
  return out;
}
