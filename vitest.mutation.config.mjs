// The test config for mutation runs only: the usual one plus a setup file that loads the
// mutated modules before any test (see tests/support/mutationSetup.ts).
import { configDefaults, mergeConfig } from 'vitest/config'
import base from './vitest.config.ts'

export default mergeConfig(base, {
  test: {
    setupFiles: ['./tests/support/mutationSetup.ts'],
    reporters: ['default'],
    // Mutants are switched on at run time, so one worker may keep its modules across test files
    // instead of loading the backend again for each (static mutants, which would need a reload,
    // are left out in stryker.config.mjs).
    isolate: false,
    // The usage report's read-count test fails when modules are shared across files; it reaches
    // none of the mutated files' logic that the chat and extraction suites do not.
    exclude: [...configDefaults.exclude, 'tests/adminReport.test.ts'],
  },
})
