import type { z } from 'zod';
import type { Connection } from '../db/connections';
import type { DirectoryChanges } from '../directory/types';
import type { SourceState } from './state';

/**
 * The contract every pull source (Entra ID through Graph, LDAP and Active Directory, Google Workspace) keeps. Sources only write
 * the directory store; the engine runs a source's `Pull` without knowing which source it is, and
 * the triggers (schedule, first login, manual) and the admin API find a connection's source
 * through `PullSources` (sources/registry.ts).
 */

/**
 * What a read says at its end. With `changes`, it read only what changed since the last read (a
 * delta): the run plans from those users and groups and the Jira state the app knows, as for SCIM
 * changes. Without, it read everything: the run is a full reconciliation.
 */
export interface PullResult {
  changes?: DirectoryChanges;
}

/** What a read has done so far, as its run shows it while it reads (`progress.read`). */
export interface ReadProgress {
  mode: 'full' | 'incremental';
  /** Why a read asked to be incremental was full (another DC, no position yet…). */
  note?: string;
  phase: string;
  pages: number;
  usersSeen: number;
  groupsSeen: number;
  membershipsSeen: number;
  removed: number;
  /** Rows of the directory store the read inserted, updated or deleted: 0 when nothing changed. */
  rowsWritten: number;
  /** Entries left out, and why (no id, a name another already has): the first 20. */
  conflicts: string[];
}

/** A read's progress as it begins (full until it finds it can read only the changes). */
export const startingProgress = (): ReadProgress => ({
  mode: 'full',
  phase: 'starting',
  pages: 0,
  usersSeen: 0,
  groupsSeen: 0,
  membershipsSeen: 0,
  removed: 0,
  rowsWritten: 0,
  conflicts: [],
});

/** A read of the IdP into the directory store, reporting progress as it goes. */
export type Pull = (report: (progress: Record<string, unknown>) => void) => Promise<PullResult>;

/**
 * A read that failed for a reason the admin can act on (the message says what to fix).
 * `credentials`: the IdP refused the stored credentials (a wrong, expired or revoked secret or key,
 * a refused bind), which the site's admins are told of as such.
 */
export class PullFailed extends Error {
  constructor(
    message: string,
    readonly credentials = false,
  ) {
    super(message);
  }
}

/** How much to read: everything, the changes since the last read, or changes when it can. */
export type PullMode = 'full' | 'incremental' | 'auto';

/** What Test Sync shows of one directory user: what the source read of it (the admin API adds what the rules make of it). */
export type UserProbe =
  | { found: false; message: string }
  | {
      found: true;
      /** What the store would keep: SCIM's names and the attributes read (the rules read this). */
      resource: Record<string, unknown>;
      /** The groups the user is in, nested ones included. */
      groups: Array<{ name: string }>;
      /** Whatever else the source shows of the user (its DN, raw attributes, scope, …). */
      [detail: string]: unknown;
    };

/** Settings or a secret an admin is trying before saving them (Test connection, Test Sync). */
export interface Candidate {
  /** The stored settings with the admin's patch merged over them (`SourceKind.merge`). */
  settings: unknown;
  /** A secret typed now; undefined for the stored one. */
  secret?: string;
}

/**
 * One kind of pull source, at run time: the read the engine runs, and what the admin API asks of
 * a connection's IdP. Its static description (settings schema, fields, presentation) is its
 * `SourceKind`; both are registered in sources/registry.ts.
 */
export interface PullSource {
  /** The read of this connection's IdP, for the engine to run. */
  pull(c: Connection, mode: PullMode): Pull;
  /** Reads one user and their groups (a first login); 'absent' when the IdP has no such user in scope. */
  pullUser(c: Connection, email: string): Promise<'pulled' | 'absent'>;
  /** Minutes between scheduled syncs; 0 for none. */
  scheduleMinutes(c: Connection): number;
  /** The connection's secret sealed for storage (write-only: never shown again). */
  seal(connectionId: string, secret: string): string;
  /** Test connection with candidate settings (and secret, else the stored one): ok, or one sentence saying what to fix. */
  testConnection(c: Connection, candidate: Candidate): Promise<{ ok: boolean; message: string }>;
  /** Test Sync: one user as the IdP gives it, when the source offers it; the settings when the admin tries new ones. */
  probeUser?(c: Connection, username: string, candidate?: Candidate): Promise<UserProbe>;
  /** Forgets what is kept for a connection that changed or went away (clients, tokens). */
  forget(connectionId: string): void;
  /** Closes what it keeps open, as the app stops. */
  close?(): void;
}

/**
 * The static description of a pull source's connections, for the admin API and its schemas: the
 * request fields of its settings and secret, how a patch merges, how it is shown. `S` is its
 * settings' type.
 */
export interface SourceKind<S = unknown> {
  /** The connection kind stored and sent (`entra`, `ldap`). */
  readonly kind: string;
  /** Its name in a sentence ("Entra ID", "LDAP"). */
  readonly title: string;
  /** The request field holding its settings (patched by merging, validated whole). */
  readonly settingsField: string;
  /** The request field holding its write-only secret. */
  readonly secretField: string;
  readonly settingsSchema: z.ZodType<S, z.ZodTypeDef, unknown>;
  /** The secret's schema on create (optional where the settings may need none). */
  readonly secretSchema: z.ZodTypeAny;
  /** More fields a create accepts (Entra ID: its fixed `provider`). */
  readonly createExtras?: z.ZodRawShape;
  /** What a PATCH is told that gives these fields to another kind of connection. */
  readonly onlyFor: string;
  /** Whether Test Sync (one user) is offered: its source has `probeUser`. */
  readonly probesUsers: boolean;
  /** The provider recorded for a connection of these settings. */
  providerOf(settings: S): string;
  /** The label the admin page shows for a connection of this provider. */
  label(provider: string): string;
  /** Stored settings with a patch merged over them, validated whole (errors name `<settingsField>.<field>`). */
  merge(stored: unknown, patch: Record<string, unknown> | undefined): S;
  /**
   * What may be kept in the settings from a secret being saved (a service account's email and
   * client ID, to show): merged over the settings when the secret is stored. Never the secret.
   */
  secretFacts?(secret: string): Record<string, unknown>;
  /** Refuses a new connection whose settings need a secret it was not given (`AppError`). */
  checkSecret?(settings: S, secret: string | undefined): void;
  /** Whether new settings make the stored read position useless: the next read is then full. */
  movesPosition(before: unknown, after: S): boolean;
  /** The settings as the admin API shows them (never the secret: whether one is set), and the read's state. */
  present(stored: unknown, pull: { secretSet: boolean; state?: SourceState }): Record<string, unknown>;
}
