import v8 from 'node:v8';

/**
 * How far V8 lets the heap grow past what a collection left alive, before the next one: half of
 * it. V8's own factor (up to four times the live size) let a full read of 100,000 users pile some
 * 400 MB of garbage before collecting; a forced full collection instead (what this module used to
 * do between a read and its plan) held the event loop for 60–110 ms, since it marks the whole heap
 * at once, where V8's own collections mark concurrently and pause for 10–25 ms. With this factor
 * a 100,000-user read and its plan peak at 320–350 MB (docs/benchmarks.md, `bench/entra`). Set
 * once, as the server starts.
 */
export function limitHeapGrowth(): void {
  v8.setFlagsFromString('--heap-growing-percent=50');
}
