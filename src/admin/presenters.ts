import type { Connection } from '../db/connections';
import type { PlanningFacts, RunRow } from '../provisioning/stores/runs';
import { kindOf } from '../sources/registry';
import type { SourceState } from '../sources/state';

/*
 * What the admin API sends, field by field: nothing leaves by spreading a stored row, payload or
 * settings object, so a column added to the database never reaches an API answer by accident.
 */

const PROVIDER_LABELS: Record<string, string> = {
  entra: 'Microsoft Entra ID',
  okta: 'Okta',
  miniorange: 'miniOrange',
  generic: 'Generic SCIM 2.0',
};

/** Every field a connection shows on the admin API (the token never: only its last characters; a source's secret never, only whether one is set). */
export function presentConnection(
  c: Connection,
  localBaseUrl: string,
  pull?: { secretSet: boolean; state?: SourceState },
) {
  const kind = kindOf(c.kind);
  return {
    id: c.id,
    name: c.name,
    kind: c.kind,
    provider: c.provider,
    providerLabel: kind ? kind.label(c.provider) : (PROVIDER_LABELS[c.provider] ?? c.provider),
    target: c.target,
    importUsers: c.importUsers,
    importGroups: c.importGroups,
    // A pull connection shows its source's settings (never its secret); a SCIM one its base URL and token hint.
    ...(kind
      ? { [kind.settingsField]: kind.present(c.settings[kind.settingsField], pull ?? { secretSet: false }) }
      : { scim: presentScim(c, localBaseUrl) }),
    // Paused after repeated failed runs: nothing starts by itself until an admin resumes it.
    paused: c.pausedAt ? { at: c.pausedAt.toISOString(), reason: c.pauseReason } : null,
    createdAt: c.createdAt.toISOString(),
    updatedAt: c.updatedAt.toISOString(),
  };
}

/** What an IdP is given to push to a SCIM connection: its base URL, and the token's last characters. */
export const presentScim = (c: Connection, localBaseUrl: string) => ({
  baseUrl: scimBaseUrl(localBaseUrl, c.id),
  tokenHint: c.scimTokenHint && `…${c.scimTokenHint}`,
  tokenCreatedAt: c.scimTokenCreatedAt?.toISOString() ?? null,
  /** When the IdP last called (to a few minutes): a silent IdP is one whose provisioning stopped. */
  lastRequestAt: c.pushedAt?.toISOString() ?? null,
});

/** The SCIM base URL a client is given for a connection. */
export const scimBaseUrl = (localBaseUrl: string, id: string) => `${localBaseUrl}/scim/v2/${id}`;

/** A run: status, stage, progress (with what a pull source's read reported), counts. */
export const presentRun = (r: RunRow) => ({
  id: r.id,
  connectionId: r.connectionId,
  trigger: r.trigger,
  status: r.status,
  startedAt: r.startedAt.toISOString(),
  finishedAt: r.finishedAt?.toISOString() ?? null,
  stage: r.stage,
  progress: {
    done: r.done,
    total: r.total,
    ...('mode' in r.progress || 'phase' in r.progress ? { read: presentRead(r.progress) } : {}),
  },
  plan: presentPlanning(r.progress.plan as PlanningFacts | undefined),
  counts: presentCounts(r.counts),
  notes: notesOf(r),
  error: r.error,
  attempts: r.attempts,
  nextTryAt: r.nextTryAt?.toISOString() ?? null,
});

/** How a run was planned: from directory changes (no Jira read) or in full, how many users, how long, what it could not do. */
function presentPlanning(p: PlanningFacts | undefined) {
  return p
    ? {
        mode: p.mode,
        users: p.users,
        planMs: p.planMs,
        ...(p.eventLoop ? { eventLoop: p.eventLoop } : {}),
        warnings: p.warnings ?? [],
      }
    : null;
}

/**
 * What the run has to say once rather than per user: why its read was not what was asked (full
 * instead of incremental, deletions scanned for), the plan's warnings (what it could not do), and
 * the profiles Jira would not update because their accounts are not managed, the withdrawals an
 * open-access service desk refused.
 */
function notesOf(r: RunRow): string[] {
  const notes = [
    ...(typeof r.progress.note === 'string' ? [`The read: ${r.progress.note}.`] : []),
    ...((r.progress.plan as PlanningFacts | undefined)?.warnings ?? []),
  ];
  const unmanaged = r.counts.profilesNotManaged ?? 0;
  if (unmanaged > 0)
    notes.push(
      `${unmanaged} account${unmanaged === 1 ? ' is' : 's are'} not managed by your organization: Jira keeps the display name, job title and department their owners set (claim the email domain in Atlassian Administration to manage them).`,
    );
  // A desk or organization the rules name is gone: said once, in words, with JSM's own message.
  for (const gone of r.goneTargets ?? []) notes.push(gone.charAt(0).toUpperCase() + gone.slice(1) + '.');
  const open = r.counts.openAccessDesks ?? 0;
  if (open > 0)
    notes.push(
      `${open} withdrawal${open === 1 ? ' was' : 's were'} refused by a service desk open to everyone (open access or public signup): JSM keeps no customer list there, so anyone can still use its portal. Restrict the desk's access in its project settings if that is not intended.`,
    );
  return notes;
}

/** What a pull source reported of its read (sources/entra/sync.ts PullProgress), and its timing. */
function presentRead(p: Record<string, unknown>) {
  return {
    mode: p.mode,
    phase: p.phase,
    pages: p.pages,
    usersSeen: p.usersSeen,
    groupsSeen: p.groupsSeen,
    membershipsSeen: p.membershipsSeen,
    removed: p.removed,
    rowsWritten: p.rowsWritten,
    conflicts: p.conflicts,
    ...(typeof p.note === 'string' ? { note: p.note } : {}),
    readMs: p.readMs,
    planMs: p.planMs,
    ...(p.eventLoop ? { eventLoop: p.eventLoop } : {}),
  };
}

function presentCounts(c: Record<string, number>) {
  return {
    usersCreated: c.usersCreated,
    usersLinked: c.usersLinked,
    usersUpdated: c.usersUpdated,
    profilesUpdated: c.profilesUpdated ?? 0,
    profilesNotManaged: c.profilesNotManaged ?? 0,
    usersDeprovisioned: c.usersDeprovisioned,
    usersReactivated: c.usersReactivated,
    groupsCreated: c.groupsCreated,
    membershipsAdded: c.membershipsAdded,
    membershipsRemoved: c.membershipsRemoved,
    leadsReassigned: c.leadsReassigned,
    customersCreated: c.customersCreated ?? 0,
    customersLinked: c.customersLinked ?? 0,
    accessGrants: c.accessGrants ?? 0,
    accessWithdrawals: c.accessWithdrawals ?? 0,
    openAccessDesks: c.openAccessDesks ?? 0,
    superseded: c.superseded ?? 0,
    failed: c.failed,
  };
}
