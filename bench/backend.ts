// What every benchmark script shares: modules loaded up front, and this backend as the tests
// build it (the app and its components) for convex-test.
import batchWorkerTest from '@convex-dev/batch-worker/test'
import rateLimiterTest from '@convex-dev/rate-limiter/test'
import shardedCounterTest from '@convex-dev/sharded-counter/test'
import { convexTest } from 'convex-test'
import schema from '../convex/schema'
import { captureTestGlobal } from '../tests/support/commitWatcher'
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
 * expiry (twice the model deadline ahead, cancelled when the turn ends) and the agent
 * component's stream clean-ups, minutes ahead. None is due within a benchmark; those timers
 * must not keep it from exiting. Call first in a benchmark's main().
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

type TableScanningDatabase = {
  _documents: Record<string, unknown>
  _writes: Record<string, unknown>[]
  get: (table: string, id: string) => Record<string, unknown> | null
  commit: (commitTs?: bigint | null) => void
  _iterateDocs: (table: string, callback: (doc: Record<string, unknown>) => void) => void
}

/**
 * convex-test answers every query by listing every document of the component, all tables
 * together, and keeping the table's: each query costs the whole database. With thousands of
 * users' messages, usage rows and scheduled jobs that, not this backend, dominates a load run
 * (it slowed turns past the model deadline at 200 users). This keeps each table's ids apart so
 * a query lists only its own table, as convex-test would with one map per table; the documents,
 * the query semantics and the order of results (sorted after) are unchanged.
 */
export async function listTablesApart(t: { run: (func: (ctx: unknown) => Promise<void>) => Promise<unknown> }) {
  const state = await captureTestGlobal(t)
  const tableOf = (id: string) => id.replace(/^\d+/, '')
  for (const { db: raw } of Object.values(state.components)) {
    const db = raw as unknown as TableScanningDatabase
    const tables = new Map<string, Set<string>>()
    const idsOf = (table: string) => {
      let ids = tables.get(table)
      if (!ids) tables.set(table, (ids = new Set()))
      return ids
    }
    for (const id of Object.keys(db._documents)) idsOf(tableOf(id)).add(id)
    const commit = db.commit
    db.commit = function (commitTs) {
      const top = this._writes.length === 1 ? this._writes[0] : undefined
      commit.call(this, commitTs)
      for (const [id, value] of Object.entries(top ?? {})) {
        if (value === null) idsOf(tableOf(id)).delete(id)
        else idsOf(tableOf(id)).add(id)
      }
    }
    db._iterateDocs = function (table, callback) {
      const ids = new Set(idsOf(table))
      for (const layer of this._writes) {
        for (const id of Object.keys(layer)) if (tableOf(id) === table) ids.add(id)
      }
      for (const id of ids) {
        const doc = this.get(table, id)
        if (doc !== null) callback(doc)
      }
    }
  }
}
