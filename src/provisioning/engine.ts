import crypto from 'node:crypto';
import { setTimeout as pause } from 'node:timers/promises';
import { backoffDelay } from '../backoff';
import type { Clock } from '../clock';
import type { Connection } from '../db/connections';
import type { DirectorySnapshot, SnapshotReader } from '../directory/snapshot';
import { JiraError } from '../jira/errors';
import type { JiraClientFactory } from '../jira/factory';
import type { Logger } from '../logger';
import { collectGarbage } from '../memory';
import { PullFailed, type Pull } from '../sources/source';
import { topLevelKey } from './attributes';
import type { Executor } from './executor/worker';
import { jiraGroupsFor } from './groupMapping';
import { groupsToRead, readJiraState } from './jiraState';
import type { JiraStateStore } from './jiraStateStore';
import type { LinkRepository } from './links';
import type { ManagedMemberships } from './managedMemberships';
import type { JiraState, Link, Plan, PlanInput } from './plan';
import type { DirectoryChanges } from './outbox';
import { plan } from './planner';
import { rulesOf, type Rules } from './rules';
import { ProgressReporter } from './progress';
import type { NewRun, RunRepository, RunRow } from './runs';

export type Trigger = 'scim' | 'manual' | 'schedule' | 'login';

/** What asking for a run gave: a dry-run plan, a started run, or the run already going. */
export type RunResult =
  | { kind: 'plan'; plan: Plan }
  | { kind: 'started'; run: RunRow }
  | { kind: 'busy'; runId?: string }
  | { kind: 'failed'; error: string };

export interface EngineDeps {
  runs: RunRepository;
  snapshot: SnapshotReader;
  links: LinkRepository;
  managed: ManagedMemberships;
  jira: JiraClientFactory;
  executor: Executor;
  jiraState: JiraStateStore;
  logger: Logger;
  clock: Clock;
  /** The wait before trying again a run that could not start for want of Jira. */
  retry: { backoffBaseMs: number; backoffMaxMs: number };
}

/**
 * The provisioning engine: starts a connection's run — reads the directory (after a pull source
 * has read the IdP into it) and Jira, plans (pure), and persists the plan as the run's operations —
 * then hands the operations to the executor. A dry run returns the plan and writes nothing.
 */
export class ProvisioningEngine {
  private readonly reading = new Set<Promise<void>>();
  /** Connections whose plan this instance is making (one at a time each). */
  private readonly planning = new Map<string, Promise<RunResult>>();

  constructor(private readonly d: EngineDeps) {}

  /**
   * Plans a connection's sync; a dry run returns the plan, otherwise the run starts. With `pull`
   * (a pull source), the run starts by reading the IdP: a real run returns at once in stage
   * "reading" and plans when the read is done; a dry run reads, then returns the plan.
   */
  async run(
    connection: Connection,
    trigger: Trigger,
    opts: { dryRun?: boolean; coveredRequestId?: string; pull?: Pull; changes?: DirectoryChanges } = {},
  ): Promise<RunResult> {
    if (opts.pull) return this.runWithPull(connection, trigger, opts.pull, !!opts.dryRun);
    // A run is going, or being planned here: say so before planning (SCIM changes wait for the next run,
    // and are not planned at every poll, nor twice at once).
    if (opts.dryRun) return this.planAndStart(connection, trigger, opts);
    // Another trigger of this instance is planning the connection: wait for its run, then say busy (with its id).
    for (let other = this.planning.get(connection.id); other; other = this.planning.get(connection.id))
      await other.catch(() => undefined);
    const attempt = (async () => {
      const going = await this.d.runs.running(connection.id);
      if (going) return { kind: 'busy', runId: going } as const;
      return this.planAndStart(connection, trigger, opts);
    })();
    this.planning.set(connection.id, attempt);
    try {
      return await attempt;
    } finally {
      this.planning.delete(connection.id);
    }
  }

  private async planAndStart(
    connection: Connection,
    trigger: Trigger,
    opts: { dryRun?: boolean; coveredRequestId?: string; changes?: DirectoryChanges },
  ): Promise<RunResult> {
    const planStarted = this.d.clock.now();
    const planned = await this.planFor(connection, opts.changes);
    if (planned.kind === 'failed') {
      if (!opts.dryRun) {
        const failed = await this.d.runs.recordFailedStart(this.newRun(connection, trigger), planned.error, (n) =>
          backoffDelay(n, this.d.retry, () => this.d.clock.random()),
        );
        this.d.logger.warn(
          { connectionId: connection.id, runId: failed.id, attempts: failed.attempts, nextTryAt: failed.nextTryAt },
          'sync run could not start: Jira did not answer; trying again later',
        );
      }
      return planned;
    }
    if (opts.dryRun) return planned;
    const run = await this.d.runs.createRun(
      this.newRun(connection, trigger),
      planned.plan.operations,
      opts.coveredRequestId,
      {
        mode: planned.full ? 'full' : 'changes',
        users: planned.users,
        planMs: this.d.clock.now() - planStarted,
      },
    );
    if (!run) return { kind: 'busy', runId: (await this.d.runs.runs(connection.id, 1))[0]?.id };
    if (planned.full) await this.d.runs.reconciled(connection.id);
    this.d.logger.info(
      { connectionId: connection.id, runId: run.id, trigger, operations: run.total, full: !!planned.full },
      'sync run started',
    );
    if (run.total === 0) await this.d.runs.closeFinishedRuns();
    else this.kick();
    return { kind: 'started', run };
  }

  /** Starts the executor's polling. */
  start(): void {
    this.d.executor.start();
  }

  /** Waits for reads in progress and the operations in hand. */
  async stop(): Promise<void> {
    while (this.reading.size > 0) await pause(10);
    await this.d.executor.stop();
  }

  /** Works off ready operations now (the executor's loop). */
  kick(): void {
    this.d.executor.kick();
  }

  /** Runs the executor until every operation is finished (tests and benchmarks); false on timeout. */
  drain(timeoutMs?: number): Promise<boolean> {
    return this.d.executor.drain(timeoutMs);
  }

  private newRun(connection: Connection, trigger: Trigger): NewRun {
    return { id: crypto.randomUUID(), connectionId: connection.id, clientKey: connection.clientKey, trigger };
  }

  private async runWithPull(connection: Connection, trigger: Trigger, pull: Pull, dryRun: boolean): Promise<RunResult> {
    if (dryRun) {
      try {
        await pull(() => undefined);
      } catch (err) {
        return { kind: 'failed', error: this.pullError(connection, err) };
      }
      return this.planFor(connection);
    }
    const run = await this.d.runs.openReadingRun(this.newRun(connection, trigger));
    if (!run) return { kind: 'busy', runId: (await this.d.runs.runs(connection.id, 1))[0]?.id };
    this.d.logger.info({ connectionId: connection.id, runId: run.id, trigger }, 'sync run started: reading the IdP');
    const task = this.readThenPlan(connection, run, pull).finally(() => this.reading.delete(task));
    this.reading.add(task);
    return { kind: 'started', run };
  }

  /** The background half of a pull run: read (reporting progress at most twice a second), plan, apply. */
  private async readThenPlan(connection: Connection, run: RunRow, pull: Pull): Promise<void> {
    const { runs, clock } = this.d;
    const progress = new ProgressReporter(clock, (p) => runs.reportProgress(run.id, p));
    const started = clock.now();
    try {
      try {
        await pull((p) => progress.report(p));
      } catch (err) {
        await progress.settle();
        await runs.failRun(run.id, this.pullError(connection, err));
        return;
      }
      await progress.settle();
      const readMs = clock.now() - started;
      collectGarbage();
      const planned = await this.planFor(connection);
      if (planned.kind === 'failed') {
        await runs.failRun(run.id, planned.error);
        return;
      }
      const timing = { readMs, planMs: clock.now() - started - readMs };
      await runs.attachPlan(run.id, connection.clientKey, planned.plan.operations, { ...progress.last, ...timing });
      if (planned.full) await runs.reconciled(connection.id);
      const operations = planned.plan.operations.length;
      collectGarbage();
      this.d.logger.info(
        { connectionId: connection.id, runId: run.id, operations },
        'sync run read the IdP and planned',
      );
      if (operations === 0) await runs.closeFinishedRuns();
      else this.kick();
    } catch (err) {
      this.d.logger.error({ err, runId: run.id }, 'sync run failed after reading');
      await runs.failRun(run.id, `internal error: ${(err as Error)?.message ?? String(err)}`).catch(() => undefined);
    }
  }

  private pullError(connection: Connection, err: unknown): string {
    if (err instanceof PullFailed) return err.message;
    this.d.logger.error({ err, connectionId: connection.id }, 'reading the IdP failed unexpectedly');
    return `internal error while reading the IdP: ${(err as Error)?.message ?? String(err)}`;
  }

  /**
   * Snapshot + Jira state + rules → the plan (pure); 'failed' when Jira could not be read. With
   * directory changes (a SCIM-fed run), only the users concerned are planned, from the Jira state the
   * app knows (no Jira read); without, or before Jira was ever read for the site, a full
   * reconciliation: everything, from Jira read again (and remembered).
   */
  private async planFor(
    connection: Connection,
    changes?: DirectoryChanges,
  ): Promise<{ kind: 'plan'; plan: Plan; full?: boolean; users: number } | { kind: 'failed'; error: string }> {
    const rules = rulesOf(connection.settings);
    if (changes) {
      const planned = await this.planChanges(connection, rules, changes);
      if (planned) return { kind: 'plan', ...planned };
    }
    const [snapshot, departed] = await Promise.all([
      this.d.snapshot.read(connection.id, resourceKeysOf(rules)),
      this.d.links.departed(connection.id),
    ]);
    try {
      const jira = this.d.jira.forTenant(connection.clientKey);
      const [state, links, managed] = await Promise.all([
        readJiraState(jira, rules, snapshot.allIdpGroups),
        this.d.links.all(connection.id),
        this.d.managed.of(connection.clientKey, connection.id),
      ]);
      await this.d.jiraState.save(connection.clientKey, state);
      return {
        kind: 'plan',
        full: true,
        users: snapshot.users.length,
        plan: plan(planInput(connection, rules, { snapshot, departed, links, state, managed })),
      };
    } catch (err) {
      if (!(err instanceof JiraError)) throw err;
      return { kind: 'failed', error: `Could not read Jira's groups and members: ${err.message}` };
    }
  }

  /**
   * The plan for directory changes: the users concerned, their links and managed memberships, and
   * of the Jira state the app knows only the memberships of their accounts. Undefined when Jira was
   * never read for the site, or the known state lacks the members of a group the rules now manage
   * (the rules changed since Jira was last read), or a group that import would not create: then a
   * full reconciliation.
   */
  private async planChanges(
    connection: Connection,
    rules: Rules,
    changes: DirectoryChanges,
  ): Promise<{ plan: Plan; users: number } | undefined> {
    const { jiraState, snapshot: reader, links: linkRepo, managed: managedRepo } = this.d;
    const known = await jiraState.load(connection.clientKey, { accounts: [] }); // the groups, no members
    if (!known) return undefined;
    const userIds = changes.wide ? undefined : await this.concerned(connection, rules, changes, known);
    const [snapshot, departed] = await Promise.all([
      reader.read(connection.id, resourceKeysOf(rules), userIds),
      linkRepo.departed(connection.id, userIds),
    ]);
    for (const name of groupsToRead(rules, snapshot.allIdpGroups)) {
      const group = known.groups.get(name);
      // Members never read, or (group import off) a group Jira may have gained since: read Jira again.
      if (group ? !known.members.has(group.groupId) : !connection.importGroups) return undefined;
    }
    const links = await linkRepo.all(connection.id, userIds && [...userIds, ...departed]);
    // Mirror mode, when the run links someone: that account may sit in managed groups already (the planner's sweep),
    // so every known member of the managed groups is a candidate.
    const sweeping = !!userIds && !rules.groups.keepExisting && !snapshot.users.every((u) => links.has(u.id));
    const state = (await jiraState.load(
      connection.clientKey,
      userIds && !sweeping ? { accounts: [...links.values()].map((l) => l.accountId) } : undefined,
    ))!;
    const candidates = sweeping ? [...new Set([...state.members.values()].flatMap((m) => [...m]))] : [];
    const accounts = userIds ? [...[...links.values()].map((l) => l.accountId), ...candidates] : undefined;
    const [managed, linked] = await Promise.all([
      managedRepo.of(connection.clientKey, connection.id, accounts),
      sweeping ? linkRepo.linkedAmong(connection.id, candidates) : Promise.resolve(new Set<string>()),
    ]);
    const planned = plan({
      ...planInput(connection, rules, { snapshot, departed, links, state, managed }),
      sweep: !userIds ? undefined : sweeping ? { linked } : false,
      productGroupsKnown: false,
    });
    return { plan: planned, users: snapshot.users.length };
  }

  /**
   * The users a change concerns: changed users, the current members of changed groups, and the
   * linked users whose accounts are in the Jira groups those groups map to (they may have left).
   */
  private async concerned(
    connection: Connection,
    rules: Rules,
    changes: DirectoryChanges,
    known: JiraState,
  ): Promise<string[]> {
    const ids = new Set(changes.userIds);
    if (changes.groupIds.length > 0) {
      const { members, names } = await this.d.snapshot.groupsDetail(connection.id, changes.groupIds);
      members.forEach((id) => ids.add(id));
      const mapped = names
        .flatMap((name) => jiraGroupsFor(name, rules.groups))
        .map((j) => known.groups.get(j.toLowerCase())?.groupId)
        .filter((id): id is string => !!id);
      const inJira = await this.d.jiraState.load(connection.clientKey, { accounts: [], groupIds: mapped });
      const accounts = new Set(mapped.flatMap((id) => [...(inJira?.members.get(id) ?? [])]));
      if (accounts.size > 0)
        (await this.d.links.usersOfAccounts(connection.id, [...accounts])).forEach((id) => ids.add(id));
    }
    return [...ids];
  }
}

/** What the planner is given: the connection's toggles and rules, the directory, links, Jira state and managed memberships. */
function planInput(
  connection: Connection,
  rules: Rules,
  d: {
    snapshot: DirectorySnapshot;
    departed: string[];
    links: Map<string, Link>;
    state: JiraState;
    managed: { mine: Set<string>; others: Set<string> };
  },
): PlanInput {
  return {
    importUsers: connection.importUsers,
    importGroups: connection.importGroups,
    rules,
    ...d.snapshot,
    departed: d.departed,
    links: d.links,
    jira: d.state,
    managed: d.managed.mine,
    managedByOthers: d.managed.others,
  };
}

/** The resource keys a plan reads: those of the attribute mapping and the custom attributes. */
function resourceKeysOf(rules: Rules): string[] {
  const a = rules.attributes;
  return [
    ...new Set([a.userName, a.email, a.displayName, ...a.custom.map((c) => c.from), 'userName'].map(topLevelKey)),
  ];
}
