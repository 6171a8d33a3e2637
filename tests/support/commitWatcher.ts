// A hook on every committed transaction of a convex-test backend, with the documents it wrote.
// The liveReply tests and the benchmark use it to act as a subscribed client: re-run the
// client's queries after each commit, before the next transaction may start, the way Convex
// re-runs a subscription whose reads a commit touched.
//
// convex-test has no public hook for this, so it reaches into two of its internals, both
// checked here so that a convex-test upgrade that moves them fails loudly instead of quietly
// measuring nothing: the per-test global it keeps in an AsyncLocalStorage (captured while
// `t.run` enters it) and that global's transaction manager (`begin` / `commit`).
import { AsyncLocalStorage } from 'node:async_hooks'

/** Any convex-test backend (the app's, or a benchmark peer's with its own schema). */
export type AnyBackend = { run: (func: (ctx: unknown) => Promise<void>) => Promise<unknown> }

/** One document a committed transaction wrote: its new value, or null when deleted. */
export type CommittedWrite = {
  /** '' for the app, else the component's name (e.g. 'agent'). */
  component: string
  table: string
  id: string
  value: Record<string, unknown> | null
}

export type WriteLayer = Record<string, Record<string, unknown> | null>
export type TestGlobal = {
  components: Record<string, { db: { _writes: WriteLayer[] } }>
  transactionManager: {
    begin: (isNested: boolean, limits?: unknown) => Promise<void>
    commit: (isNested: boolean) => unknown
  }
}

const isTestGlobal = (store: unknown): store is TestGlobal =>
  typeof store === 'object' && store !== null && 'transactionManager' in store && 'components' in store

export async function captureTestGlobal(t: AnyBackend): Promise<TestGlobal> {
  const originalRun = AsyncLocalStorage.prototype.run
  let captured: TestGlobal | undefined
  AsyncLocalStorage.prototype.run = function (this: AsyncLocalStorage<unknown>, store: unknown, ...rest: unknown[]) {
    if (!captured && isTestGlobal(store)) captured = store
    return (originalRun as (...args: unknown[]) => unknown).call(this, store, ...rest)
  } as typeof originalRun
  try {
    await t.run(async () => {})
  } finally {
    AsyncLocalStorage.prototype.run = originalRun
  }
  if (!captured || typeof captured.transactionManager.commit !== 'function') {
    throw new Error('commitWatcher: convex-test no longer keeps its test state where expected')
  }
  return captured
}

/** convex-test ids end with their table's name, after a counter. */
const tableOf = (id: string) => id.replace(/^\d+/, '')

/**
 * Calls `onCommit` after every top-level transaction that wrote something, with what it wrote.
 * No other transaction starts until the promise it returns has settled, except the ones it
 * runs itself, so it sees each commit's state and nothing later.
 */
export async function watchCommits(
  t: AnyBackend,
  onCommit: (writes: CommittedWrite[]) => Promise<void> | void,
): Promise<{ stop: () => Promise<void> }> {
  const state = await captureTestGlobal(t)
  const manager = state.transactionManager
  const insideHook = new AsyncLocalStorage<true>()
  const begin = manager.begin.bind(manager)
  const commit = manager.commit.bind(manager)
  let pending: Promise<void> | null = null
  let stopped = false
  let failure: unknown

  manager.begin = async (isNested, limits) => {
    if (!isNested && !insideHook.getStore()) {
      while (pending) await pending
    }
    return await begin(isNested, limits)
  }
  manager.commit = (isNested) => {
    if (isNested || stopped || insideHook.getStore()) return commit(isNested)
    const writes: CommittedWrite[] = []
    for (const [component, { db }] of Object.entries(state.components)) {
      if (!Array.isArray(db._writes)) throw new Error('commitWatcher: convex-test moved its pending writes')
      for (const [id, value] of Object.entries(db._writes.at(-1) ?? {})) {
        writes.push({ component, table: tableOf(id), id, value })
      }
    }
    const result = commit(isNested)
    if (writes.length > 0) {
      const tracked: Promise<void> = insideHook
        .run(true, async () => await onCommit(writes))
        .catch((error: unknown) => {
          failure ??= error
        })
        .finally(() => {
          if (pending === tracked) pending = null
        })
      pending = tracked
    }
    return result
  }
  return {
    /** Waits for the last `onCommit`, restores convex-test, and throws what `onCommit` threw. */
    stop: async () => {
      while (pending) await pending
      stopped = true
      manager.begin = begin
      manager.commit = commit
      if (failure !== undefined) throw failure
    },
  }
}
