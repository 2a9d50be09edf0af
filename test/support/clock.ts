import type { Clock } from '../../src/clock';

/**
 * A clock whose sleeps return at once and move virtual time, recording each wait. Time moves only
 * by sleeps (real time passing under a loaded machine must not change what a test measures).
 */
export class VirtualClock implements Clock {
  offset = 0;
  readonly sleeps: number[] = [];
  private readonly start = Date.now();
  now = () => this.start + this.offset;
  random = () => 0.5;
  sleep = async (ms: number) => {
    this.sleeps.push(ms);
    this.offset += ms;
  };
}
