import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    environment: 'edge-runtime',
    include: ['tests/**/*.test.ts'],
    reporters: ['default', './tests/support/summaryReporter.ts'],
    // convex-test and the rate limiter's test helper ship TypeScript/ESM that vite must transform.
    server: { deps: { inline: ['convex-test', '@convex-dev/rate-limiter', '@convex-dev/sharded-counter', '@convex-dev/resend', '@convex-dev/workpool'] } },
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
})
