// What every benchmark script shares: modules loaded up front, and this backend as the tests
// build it (the app and its components) for convex-test.
import batchWorkerTest from '@convex-dev/batch-worker/test'
import rateLimiterTest from '@convex-dev/rate-limiter/test'
import shardedCounterTest from '@convex-dev/sharded-counter/test'
import { convexTest } from 'convex-test'
import schema from '../convex/schema'
import { convexModules } from '../tests/support/fixtures'

export type ModuleMap = Record<string, () => Promise<unknown>>

/**
 * Loads every module once, up front, and serves it from memory. Vite's loader sets a timer on
 * each load and convex-test refuses timers inside a transaction, so nothing may load mid-turn.
 */
export async function preload(map: ModuleMap): Promise<ModuleMap> {
  const loadable = (path: string) => !/(\.d|\.test|convex\.config)\.ts$/.test(path)
  const loaded: ModuleMap = {}
  for (const [path, load] of Object.entries(map)) {
    if (!loadable(path)) {
      loaded[path] = load // convex-test reads these paths but never loads them
      continue
    }
    const module = await load()
    loaded[path] = async () => module
  }
  return loaded
}

/** A factory of fresh test backends of this app, with its components registered. */
export async function benchBackendFactory() {
  const app = await preload(convexModules)
  const rateLimiter = await preload(rateLimiterTest.modules)
  const batchWorker = await preload(batchWorkerTest.modules)
  const shardedCounter = await preload(shardedCounterTest.modules)
  return () => {
    const t = convexTest(schema, app)
    t.registerComponent('rateLimiter', rateLimiterTest.schema, rateLimiter)
    t.registerComponent('rateLimiter/batchWorker', batchWorkerTest.schema, batchWorker)
    t.registerComponent('shardedCounter', shardedCounterTest.schema, shardedCounter)
    return t
  }
}

/**
 * convex-test keeps every scheduled job as a timer, cancelled or not: this backend's reply
 * expiry (cancelled when the turn ends) and the agent component's stream clean-ups, minutes
 * ahead. None is due within the benchmark; those timers must not keep it from exiting.
 */
export function letLongTimersLapse() {
  const setTimeoutBefore = globalThis.setTimeout
  const lapsing = ((handler: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const timer = setTimeoutBefore(handler, ms, ...args)
    if ((ms ?? 0) >= 60_000) timer.unref()
    return timer
  }) as typeof setTimeout
  globalThis.setTimeout = lapsing
}
