import v8 from 'node:v8';
import vm from 'node:vm';

let gc: (() => void) | undefined;

/**
 * A full garbage collection now. A pull run reads a whole directory and then plans over it; V8
 * would otherwise keep the read's garbage (hundreds of MB for 100,000 users) until its heap limit,
 * which on a large machine is gigabytes. Collecting between the two keeps the process's peak close
 * to what it really holds.
 */
export function collectGarbage(): void {
  if (!gc) {
    v8.setFlagsFromString('--expose-gc');
    gc = vm.runInNewContext('gc') as () => void;
  }
  gc();
}
