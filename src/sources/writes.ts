import type { Transaction } from 'sequelize';
import type { PullStore } from '../directory/pull';
import type { PulledGroup, PulledUser } from '../directory/pulled';
import { breathe, sliceTimer } from '../slices';
import type { ReadReport } from './readReport';
import { WriteQueue } from './writeQueue';

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

/** Pairs a membership write sends at once. */
const MEMBERSHIPS_PER_WRITE = 5_000;

/**
 * Writes a full read's memberships, group by group (the group's store id, its users' ids as the
 * source gives them, made store ids by `userId`; a pair the store already holds is crossed off by
 * the read's ledger, not written): 5,000 pairs a write and two writes in flight, so Postgres inserts
 * one batch while the next is built, giving way to the event loop by time.
 */
export async function writeMemberships(
  store: PullStore,
  connectionId: string,
  report: ReadReport,
  groups: Iterable<readonly [string, Iterable<string>]>,
  userId: (sourceId: string) => string,
): Promise<void> {
  const writes = new WriteQueue(2);
  const slice = sliceTimer();
  let pairs: Array<[string, string]> = [];
  const send = async () => {
    const batch = pairs;
    pairs = [];
    await writes.push(async () => {
      await store.addMemberships(connectionId, batch, report.ledger);
    });
  };
  for (const [group, users] of groups) {
    if (slice.due()) await breathe();
    for (const u of users) pairs.push([group, userId(u)]);
    if (pairs.length >= MEMBERSHIPS_PER_WRITE) await send();
  }
  if (pairs.length > 0) await send();
  await writes.drain();
  report.tick();
}

/**
 * Sets each group's memberships to exactly these users (store ids), the users whose memberships
 * changed marked in the read's ledger; the pairs removed and added.
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
    for (const [, u] of removed) report.ledger.changedUser(u); // added ones the store marks itself
    await store.addMemberships(connectionId, added, report.ledger);
    out.removed.push(...removed);
    out.added.push(...added);
  }
  return out;
}

/** Removes users from the store (deleted in the IdP, or out of scope): how many were there. */
export async function removeUsers(
  store: PullStore,
  connectionId: string,
  report: ReadReport,
  ids: string[],
): Promise<number> {
  const removed = await store.deleteUsers(connectionId, ids);
  report.progress.removed += removed;
  report.ledger.rowsWritten += removed;
  if (removed) for (const id of ids) report.ledger.changedUser(id);
  return removed;
}

/** Removes groups from the store: what every member maps to may differ (a wide change), when one was there. */
export async function dropGroups(
  store: PullStore,
  connectionId: string,
  report: ReadReport,
  ids: string[],
): Promise<void> {
  const dropped = await store.deleteGroups(connectionId, ids);
  report.ledger.rowsWritten += dropped;
  if (dropped) report.ledger.everyUser();
}
