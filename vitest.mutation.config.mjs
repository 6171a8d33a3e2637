// The test config for mutation runs only: the usual one plus a setup file that loads the
// mutated modules before any test (see tests/support/mutationSetup.ts).
import { mergeConfig } from 'vitest/config'
import base from './vitest.config.ts'

export default mergeConfig(base, {
  test: {
    setupFiles: ['./tests/support/mutationSetup.ts'],
    reporters: ['default'],
  },
})
