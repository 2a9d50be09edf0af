import fc from 'fast-check';

/**
 * The fuzz tests' settings: FUZZ_RUNS inputs per property (3000 by default); random inputs on
 * every local run, and in CI a fixed seed (FUZZ_SEED overrides either), so a red build replays.
 */
export function configureFuzz(ciSeed: number): number {
  const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : process.env.CI ? ciSeed : undefined;
  fc.configureGlobal({ ...(seed !== undefined ? { seed } : {}) });
  return Number(process.env.FUZZ_RUNS ?? 3000);
}
