import type { Transaction } from 'sequelize';
import type { PullStore } from '../directory/pull';
import type { PulledGroup, PulledUser } from '../directory/pulled';
import type { ReadReport } from './readReport';

/* What every pull source's read writes the same way: users, groups, a group's members. */

/** Writes users a read mapped (only rows that differ), counts them, and reports a username another user holds. */
export async function writeUsers(
  store: PullStore,
  connectionId: string,
  report: ReadReport,
  pulled: PulledUser[],
  tx?: Transaction,
): Promise<void> {
  const conflicts = await store.upsertUsers(connectionId, pulled, report.ledger, tx);
  report.progress.usersSeen += pulled.length;
  for (const c of conflicts) report.conflict(`user ${c.id}: username ${c.userName} is already another user's`);
  report.tick();
}

/** Writes groups a read mapped, counts them, and reports a name another group holds (`hint`: what to do about it). */
export async function writeGroups(
  store: PullStore,
  connectionId: string,
  report: ReadReport,
  pulled: PulledGroup[],
  tx?: Transaction,
  hint = '',
): Promise<void> {
  const conflicts = await store.upsertGroups(connectionId, pulled, report.ledger, tx);
  report.progress.groupsSeen += pulled.length;
  for (const c of conflicts) report.conflict(`group ${c.id}: name ${c.displayName} is already another group's${hint}`);
}

/**
 * Sets each group's memberships to exactly these users (store ids): the pairs removed and added,
 * for the read to say which users changed.
 */
export async function setMembers(
  store: PullStore,
  connectionId: string,
  report: ReadReport,
  want: Map<string, Set<string>>,
): Promise<{ removed: Array<[string, string]>; added: Array<[string, string]> }> {
  const stored = await store.membersByGroup(connectionId, [...want.keys()]);
  const out = { removed: [] as Array<[string, string]>, added: [] as Array<[string, string]> };
  for (const [group, users] of want) {
    const have = new Set(stored.get(group) ?? []);
    const removed = [...have].filter((u) => !users.has(u)).map((u): [string, string] => [group, u]);
    const added = [...users].filter((u) => !have.has(u)).map((u): [string, string] => [group, u]);
    report.ledger.rowsWritten += await store.removeMemberships(connectionId, removed);
    await store.addMemberships(connectionId, added, report.ledger);
    out.removed.push(...removed);
    out.added.push(...added);
  }
  return out;
}
