/**
 * Groups that nest (Google Workspace, Keycloak): the groups a read saw, their direct members
 * (users and groups apart), and what nesting means for membership — a user is a member of every
 * group above the groups it is in.
 */

/** The groups a read saw and their direct members, by the IdP's id (users and groups apart). */
export interface GroupTree<G = unknown> {
  groups: Map<string, G>;
  users: Map<string, string[]>;
  children: Map<string, string[]>;
  /** A groups scope's chosen groups, as the IdP resolved them (ids). */
  chosen?: string[];
}

/** Every user of a group, its nested groups' included (a cycle is walked once). */
export function flatten<G>(tree: GroupTree<G>, groupId: string, seen = new Set<string>()): Set<string> {
  const out = new Set(tree.users.get(groupId) ?? []);
  seen.add(groupId);
  for (const child of tree.children.get(groupId) ?? []) {
    if (seen.has(child)) continue;
    for (const u of flatten(tree, child, seen)) out.add(u);
  }
  return out;
}

/** The nesting a full read saw: children of the groups that have any. */
export function nestOf<G>(tree: GroupTree<G>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [id, children] of tree.children) if (children.length) out[id] = children;
  return out;
}

/** A group and every group holding it, directly or not. */
export function ancestors(nest: Record<string, string[]>, id: string): Set<string> {
  const out = new Set([id]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [parent, children] of Object.entries(nest))
      if (!out.has(parent) && children.some((c) => out.has(c))) {
        out.add(parent);
        grew = true;
      }
  }
  return out;
}

/** A group and every group nested in it. */
export function descendants(nest: Record<string, string[]>, id: string): Set<string> {
  const out = new Set([id]);
  const queue = [id];
  for (let g = queue.shift(); g !== undefined; g = queue.shift())
    for (const c of nest[g] ?? [])
      if (!out.has(c)) {
        out.add(c);
        queue.push(c);
      }
  return out;
}

/**
 * A deleted group leaves the nesting; the groups that held it, and everything below them, are put in
 * `component` to be read again (their members through it are theirs no more).
 */
export function unnest(nest: Record<string, string[]>, id: string, component: Set<string>): void {
  for (const a of ancestors(nest, id))
    if (a !== id) for (const d of descendants(nest, a)) if (d !== id) component.add(d);
  delete nest[id];
  for (const [parent, children] of Object.entries(nest)) nest[parent] = children.filter((c) => c !== id);
}
