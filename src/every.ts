import { BackgroundFailures } from './db/unavailable';
import type { Logger } from './logger';

/** A job started by `every`. */
export interface Job {
  /** Stops the timer (a round in progress finishes on its own; `idle()` waits for it). */
  stop(): void;
  /** Resolves once no round is in progress. */
  idle(): Promise<void>;
}

/**
 * Runs `fn` every `ms` in the background, the one way the app's periodic jobs run (the outbox
 * trigger, the executor's poll, reconciliation, history retention): never two rounds at once (a
 * tick that finds the last round still going is skipped) unless the job guards its own overlap
 * (`overlapping`: the outbox, whose rounds take different connections up side by side), the timer never holds the process
 * open, and a failure logged the same way for every job — a database that went away once
 * (`BackgroundFailures`) and its return, anything else as an error naming the job.
 */
export function every(
  name: string,
  ms: number,
  fn: () => Promise<unknown>,
  logger: Logger,
  options: { overlapping?: boolean } = {},
): Job {
  const failures = new BackgroundFailures(logger);
  const rounds = new Set<Promise<void>>();
  const timer = setInterval(() => {
    if (rounds.size > 0 && !options.overlapping) return;
    const round = fn().then(
      () => failures.succeeded(name),
      (err: unknown) => failures.failed(name, err),
    );
    rounds.add(round);
    void round.finally(() => rounds.delete(round));
  }, ms);
  timer.unref();
  return {
    stop: () => clearInterval(timer),
    idle: async () => {
      while (rounds.size > 0) await Promise.all(rounds);
    },
  };
}
