// Runs the benchmark through vite's SSR loader, which gives it the same TypeScript and
// import.meta.glob handling as the tests (convex-test and the components' test helpers need
// the glob, and ship TypeScript that vite must transform).
import { createServer } from 'vite'

const server = await createServer({
  configFile: false,
  logLevel: 'error',
  appType: 'custom',
  server: { middlewareMode: true, hmr: false, ws: false, watch: null },
  ssr: {
    noExternal: [
      'convex-test',
      '@convex-dev/rate-limiter',
      '@convex-dev/batch-worker',
      '@convex-dev/sharded-counter',
      '@convex-dev/agent',
      '@convex-dev/persistent-text-streaming',
      '@convex-dev/resend',
      '@convex-dev/workpool',
    ],
  },
})
try {
  // `node bench/run.mjs /bench/other.ts` runs another script the same way.
  const benchmark = await server.ssrLoadModule(process.argv[2] ?? '/bench/turnBenchmark.ts')
  await benchmark.main()
} finally {
  await server.close()
}
