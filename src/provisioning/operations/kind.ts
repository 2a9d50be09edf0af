import type { JiraClient } from '../../jira/client';
import type { CustomerGrants } from '../stores/customerGrants';
import type { JiraStateStore } from '../stores/jiraState';
import type { LinkRepository } from '../stores/links';
import type { ManagedMemberships } from '../stores/managedMemberships';
import type { Operation } from '../planning/types';

/** An operation of one kind. */
export type Op<K extends Operation['kind']> = Extract<Operation, { kind: K }>;

/** What an operation's outcome is recorded as: a word per kind ("created", "already", …). */
export type Outcome = string;

/** An operation that cannot be applied as things stand: it parks with this reason, without retries. */
export class CannotApply extends Error {}

/** A credential beyond the app's own that some operations need. */
export type Credential = 'site-admin-token' | 'org-api-key';

/** A condition on an operation's fields (as stored: `sync_operations.payload`). */
export type Condition = { path: string[]; is: 'true' | 'absent' | 'nonEmpty' } | { path: string[]; equals: string };

/** When an operation kind needs a credential: always, or when every condition holds. */
export type Rule = 'always' | Condition[];

/** What the stores record as operations apply. */
export interface Records {
  links: LinkRepository;
  managed: ManagedMemberships;
  jiraState: JiraStateStore;
  grants: CustomerGrants;
}

/** The stored operation being applied (executor/queue.ts's StoredOperation), as far as applying it reads it. */
export interface Applying {
  connectionId: string;
  clientKey: string;
  /** 1 on the first try. */
  attempts: number;
  /** The operation (`Operation`), as stored. */
  payload: unknown;
}

/** What applying one operation has at hand. */
export interface ApplyContext {
  /** The stored operation: its connection, site and attempts. */
  op: Applying;
  /** The site's Jira. */
  jira: JiraClient;
  records: Records;
  /** A Jira group's ID by its name (case-insensitive; known ones without a call), undefined when Jira has none. */
  groupId(name: string): Promise<string | undefined>;
  /** Remembers a group's ID (one the operation created). */
  groupSeen(name: string, groupId: string): void;
  /** The Jira account linked to an IdP user; CannotApply when there is none yet. */
  accountOf(userId: string): Promise<string>;
}

/**
 * Everything about one kind of operation, in its own module under operations/ (docs/architecture.md,
 * "Add an operation kind"): how it applies to Jira, idempotently; which credential it needs beyond
 * the app's own; which of its outcomes count as which figure of a run; and how the admin API shows
 * it. `OPERATIONS` (index.ts) is a mapped type over the kinds: a kind without its module, or a
 * module without one of these, does not compile. Its phase is the planner's (`PHASES`, plan.ts).
 */
export interface OperationKind<K extends Operation['kind']> {
  /** Applies it, idempotently: applying a done operation again is harmless. */
  apply(o: Op<K>, x: ApplyContext): Promise<Outcome>;
  /** Credentials it needs (docs/jira.md says why); none: the app's own suffices. */
  needs: Partial<Record<Credential, Rule>>;
  /** Outcome → the run's counter it adds one to (outcomes not named count in no figure). */
  counters: Record<string, string>;
  /** Its own fields as the admin API shows them (dry runs and the history). */
  details(o: Op<K>): Record<string, unknown>;
  /** The Jira group it is about, for people to read. */
  group?(o: Op<K>): string | null;
  /** The user as the operation itself names them (else the links' names are used). */
  person?(o: Op<K>): { email: string; displayName: string | null };
}
