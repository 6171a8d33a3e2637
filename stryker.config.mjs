// Mutation testing of the backend's core files: `npm run mutate` (not in CI; about N minutes
// on 2 cores). Each mutant runs only the tests that reach it (perTest coverage).
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.mjs' },
  plugins: ['@stryker-mutator/vitest-runner'],
  coverageAnalysis: 'perTest',
  mutate: [
    'convex/ai/claude.ts',
    'convex/enrichment/turns.ts',
    'convex/enrichment/chatTurn.ts',
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
