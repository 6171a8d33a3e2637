// Mutation testing of the backend's core files: `npm run mutate` (not in CI; about 30 minutes
// on 2 shared cores; a rerun tests only what changed). Each mutant runs only the tests that reach it (perTest coverage).
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.mjs' },
  plugins: ['@stryker-mutator/vitest-runner'],
  coverageAnalysis: 'perTest',
  // Static mutants (module-level code: constants, prompts, tables) need the whole suite with a
  // fresh module load each, about half the run time; they are left out (see docs/testing.md).
  ignoreStatic: true,
  // A rerun only tests mutants whose code or covering tests changed.
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  mutate: [
    'convex/ai/claude.ts',
    'convex/enrichment/turns.ts',
    'convex/enrichment/conversation.ts',
    'convex/enrichment/liveWriter.ts',
    'convex/enrichment/history.ts',
    'convex/enrichment/extractionResult.ts',
    'convex/enrichment/prompts.ts',
    'convex/careerActions/mutations.ts',
    'convex/lib/auth.ts',
    'convex/lib/limits.ts',
    'convex/profiles.ts',
  ],
  // The machine's two cores are shared; more runners only queue.
  concurrency: 2,
  timeoutMS: 30_000,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
}
