import { setTimeout as pause } from 'node:timers/promises';
import { every } from '../../src/every';
import type { Logger } from '../../src/logger';

/** A logger that keeps what was said, by level. */
function recordingLogger() {
  const said: Array<[string, string]> = [];
  const at =
    (level: string) =>
    (_obj: unknown, msg: string): void => {
      said.push([level, msg]);
    };
  return { said, logger: { info: at('info'), warn: at('warn'), error: at('error') } as unknown as Logger };
}

/** The background-job helper every periodic job of the app runs through (src/every.ts). */
describe('every', () => {
  it('never runs two rounds at once: a tick that finds the last round going is skipped', async () => {
    const { logger } = recordingLogger();
    let going = 0;
    let most = 0;
    let rounds = 0;
    const job = every(
      'slow job',
      5,
      async () => {
        rounds++;
        most = Math.max(most, ++going);
        await pause(40);
        going--;
      },
      logger,
    );
    await pause(150);
    job.stop();
    await job.idle();
    expect(most).toBe(1);
    expect(rounds).toBeGreaterThanOrEqual(2);
    expect(rounds).toBeLessThanOrEqual(5); // some 30 ticks, most skipped
  });

  it('lets a job that guards its own overlap run rounds side by side', async () => {
    const { logger } = recordingLogger();
    let going = 0;
    let most = 0;
    const job = every(
      'outbox-like job',
      5,
      async () => {
        most = Math.max(most, ++going);
        await pause(40);
        going--;
      },
      logger,
      { overlapping: true },
    );
    await pause(100);
    job.stop();
    await job.idle();
    expect(most).toBeGreaterThan(1);
  });

  it('says a database that went away once, and its return; any other failure each time, naming the job', async () => {
    const { said, logger } = recordingLogger();
    let failure: Error | undefined = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const job = every(
      'the job',
      5,
      async () => {
        if (failure) throw failure;
      },
      logger,
    );
    await pause(60);
    expect(said).toEqual([['warn', 'the job: the database is unavailable; retrying at each poll']]);
    failure = undefined;
    await pause(30);
    expect(said.at(-1)).toEqual(['info', 'the job: the database is back']);
    failure = new Error('a bug');
    await pause(30);
    job.stop();
    await job.idle();
    const errors = said.filter(([level]) => level === 'error');
    expect(errors.length).toBeGreaterThanOrEqual(2);
    expect(errors[0]).toEqual(['error', 'the job failed']);
  });
});
