// Runs the benchmark through vite's SSR loader, which gives it the same TypeScript and
// import.meta.glob handling as the tests (convex-test needs the glob).
import { createServer } from 'vite'

const server = await createServer({
  configFile: false,
  logLevel: 'error',
  appType: 'custom',
  server: { middlewareMode: true, hmr: false, watch: null },
  ssr: { noExternal: ['convex-test', '@convex-dev/rate-limiter', '@convex-dev/batch-worker', '@convex-dev/sharded-counter'] },
})
try {
  // `node bench/run.mjs /bench/other.ts` runs another script the same way.
  const benchmark = await server.ssrLoadModule(process.argv[2] ?? '/bench/turnBenchmark.ts')
  await benchmark.main()
} finally {
  await server.close()
}
// Each turn schedules its reply's expiry minutes ahead (convex-test keeps it as a timer);
// the measurements are printed, so stop here rather than wait for those.
process.exit(0)
