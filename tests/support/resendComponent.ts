// @convex-dev/resend in convex-test: the component and the components it uses itself (its own
// rate limiter, 0.3, and two workpools, each on its own batch worker), registered under the
// paths a deployment gives them; and fetch for Resend's fixed API host routed to a local fake.
// No vitest here, so the benchmark can use it too.
import resendTest from '@convex-dev/resend/test'
import workpoolTest from '@convex-dev/workpool/test'
import type { TestConvex } from 'convex-test'
import type { GenericSchema, SchemaDefinition } from 'convex/server'
// The versions the component itself depends on, from where npm installs them (nested: they
// differ from the app's own rate limiter and batch worker).
import resendRateLimiterTest from '../../node_modules/@convex-dev/resend/node_modules/@convex-dev/rate-limiter/src/test'
import workpoolBatchWorkerTest from '../../node_modules/@convex-dev/workpool/node_modules/@convex-dev/batch-worker/src/test'

type Modules = Record<string, () => Promise<unknown>>
type Registration = { path: string; schema: SchemaDefinition<GenericSchema, boolean>; modules: Modules }

/** Every component registration @convex-dev/resend needs, as convex.config.ts nests them. */
export const RESEND_COMPONENTS: Registration[] = [
  { path: 'resend', schema: resendTest.schema, modules: resendTest.modules },
  { path: 'resend/rateLimiter', schema: resendRateLimiterTest.schema, modules: resendRateLimiterTest.modules },
  ...['emailWorkpool', 'callbackWorkpool'].flatMap((pool) => [
    { path: `resend/${pool}`, schema: workpoolTest.schema, modules: workpoolTest.modules },
    {
      path: `resend/${pool}/batchWorker`,
      schema: workpoolBatchWorkerTest.schema,
      modules: workpoolBatchWorkerTest.modules,
    },
  ]),
]

/** Registers them all; `modulesOf` lets the benchmark pass preloaded modules. */
export function registerResend(
  t: TestConvex<SchemaDefinition<GenericSchema, boolean>>,
  modulesOf: (registration: Registration) => Modules = (registration) => registration.modules,
) {
  for (const registration of RESEND_COMPONENTS) {
    t.registerComponent(registration.path, registration.schema, modulesOf(registration))
  }
}

/** The address the component posts to (no setting changes it). */
export const RESEND_API_ORIGIN = 'https://api.resend.com'

/**
 * Sends the component's requests to Resend's API host to `fakeUrl` instead, and everything
 * else where it was going. Returns the function that puts the original fetch back.
 */
export function routeResendTo(fakeUrl: string): () => void {
  const original = globalThis.fetch
  const routed: typeof fetch = (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
    if (url.startsWith(`${RESEND_API_ORIGIN}/`)) {
      return original(fakeUrl + url.slice(RESEND_API_ORIGIN.length), init)
    }
    return original(input, init)
  }
  globalThis.fetch = routed
  return () => {
    globalThis.fetch = original
  }
}
