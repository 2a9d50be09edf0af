import type { Clock } from '../../src/jira/retry';

/** A clock whose sleeps return at once and move virtual time, recording each wait. */
export class VirtualClock implements Clock {
  offset = 0;
  readonly sleeps: number[] = [];
  now = () => Date.now() + this.offset;
  random = () => 0.5;
  sleep = async (ms: number) => {
    this.sleeps.push(ms);
    this.offset += ms;
  };
}
