// What each transaction of a convex-test backend read and wrote, and which functions ran: the
// footprint test (who could conflict with whom) and the benchmark (what a turn costs) use it.
//
// Counted, for every top-level transaction (a query, a mutation, t.run):
// - convex-test's own per-transaction metrics (bytes and documents read and written, the same
//   numbers it checks against Convex's transaction limits): bytes read are the sizes of every
//   document a query or get returned, component reads included;
// - its footprint: each document read by id or returned by a query, each index range a query or
//   paginate read (table, index, range expression), each document written (before and after).
// And every function run: query, mutation or action, its path and component, whether it ran
// inside another function's transaction (a component call), and the tag it ran under.
//
// convex-test has no hook for this, so it wraps the database objects and the transaction
// manager of the backend's per-test state (found as commitWatcher finds it), and watches
// AsyncLocalStorage.run for the execution context convex-test enters for each function.
import { getDocumentSize, type Value } from 'convex/values'
import { AsyncLocalStorage } from 'node:async_hooks'
import { captureTestGlobal, type AnyBackend, type WriteLayer } from './commitWatcher'

type JsonValue = unknown
type RangeExpression = { type: 'Eq' | 'Gt' | 'Gte' | 'Lt' | 'Lte'; fieldPath: string; value: JsonValue }
type Source =
  | { type: 'FullTableScan'; tableName: string }
  | { type: 'IndexRange'; indexName: string; range: RangeExpression[] }
  | { type: 'Search'; indexName: string }

/** A range of one index a transaction read: every document in it is part of what it read. */
export type ReadRange = { component: string; table: string; index: string; range: RangeExpression[] }
export type DocumentRef = { component: string; table: string; id: string }
export type WrittenDocument = DocumentRef & {
  before: Record<string, unknown> | null
  after: Record<string, unknown> | null
}

export type MeteredTransaction = {
  /** 'mutation' when it committed, 'query' when it was read-only and rolled back. */
  outcome: 'committed' | 'rolledBack'
  udfType: 'query' | 'mutation' | undefined
  /** The function's path ('custom' for t.run), and its component ('' for the app). */
  udfPath: string | undefined
  component: string | undefined
  tag: string | undefined
  bytesRead: number
  documentsRead: number
  bytesWritten: number
  documentsWritten: number
  /** Bytes read and written with each document's size rounded up to 1 KiB, as Convex bills I/O. */
  billedBytesRead: number
  billedBytesWritten: number
  reads: DocumentRef[]
  ranges: ReadRange[]
  writes: WrittenDocument[]
}

export type FunctionRun = {
  udfType: 'query' | 'mutation' | 'action'
  udfPath: string
  component: string
  /** Ran inside another function's transaction (a component's function called from a mutation). */
  nested: boolean
  tag: string | undefined
}

type DatabaseFake = {
  _writes: WriteLayer[]
  _documents: Record<string, Record<string, unknown>>
  get: (table: string, id: string) => Record<string, unknown> | null
  startQuery: (query: { source: Source }) => number
  queryNext: (queryId: number) => { value: Record<string, unknown> | null; done: boolean }
  paginate: (args: { query: { source: Source } }) => { page: Record<string, unknown>[] }
  _addWrite: (id: string, value: Record<string, unknown> | null) => void
  patch: (table: string, id: string, value: unknown) => void
  replace: (table: string, id: string, value: unknown) => void
  delete: (table: string, id: string) => void
  commit: (commitTs?: bigint | null) => void
}
type Metrics = Record<'bytesRead' | 'bytesWritten' | 'documentsRead' | 'documentsWritten', { used: number }>
type Manager = {
  begin: (isNested: boolean, limits?: unknown) => Promise<void>
  commit: (isNested: boolean) => unknown
  rollback: (isNested: boolean) => void
  getMetricsTracker: () => { getTransactionMetrics: () => Metrics } | null
}
type ExecutionContext = { udfType: 'query' | 'mutation' | 'action'; udfPath: string; componentPath: string }

const tableOf = (id: string) => id.replace(/^\d+/, '')
const KIB = 1024
const billed = (doc: Record<string, unknown>) => Math.ceil(getDocumentSize(doc as Record<string, Value>) / KIB) * KIB
const isExecutionContext = (store: unknown): store is ExecutionContext =>
  typeof store === 'object' && store !== null && 'udfType' in store && 'udfPath' in store && 'componentPath' in store

function sourceRange(component: string, source: Source): ReadRange {
  if (source.type === 'IndexRange') {
    const [table, index] = source.indexName.split('.')
    return { component, table, index, range: source.range }
  }
  if (source.type === 'Search') return { component, table: source.indexName.split('.')[0], index: 'search', range: [] }
  return { component, table: source.tableName, index: 'by_creation_time', range: [] }
}

/** Starts metering `t`. Transactions and function runs are recorded until `stop()`. */
export async function meterTransactions(t: AnyBackend) {
  const state = await captureTestGlobal(t)
  const manager = state.transactionManager as unknown as Manager
  const tags = new AsyncLocalStorage<string>()
  const transactions: MeteredTransaction[] = []
  const runs: FunctionRun[] = []
  let open: MeteredTransaction | null = null
  const restore: (() => void)[] = []

  for (const [component, entry] of Object.entries(state.components)) {
    const db = entry.db as unknown as DatabaseFake
    const { get, startQuery, queryNext, paginate, _addWrite, patch, replace, commit: commitLayer } = db
    const remove = db.delete
    // A nested transaction's commit merges its writes into its parent's: already recorded.
    let merging = false
    db.commit = function (commitTs) {
      merging = true
      try {
        commitLayer.call(this, commitTs)
      } finally {
        merging = false
      }
    }
    // convex-test's own calls of get (to evaluate a query, to patch) are not reads by the function.
    let inside = 0
    const internally = <A extends unknown[], R>(method: (...args: A) => R) =>
      function (this: DatabaseFake, ...args: A): R {
        inside++
        try {
          return method.apply(this, args)
        } finally {
          inside--
        }
      }
    const noteRead = (doc: Record<string, unknown> | null) => {
      if (!open || !doc) return
      open.reads.push({ component, table: tableOf(String(doc._id)), id: String(doc._id) })
      open.billedBytesRead += billed(doc)
    }
    const previous = (id: string) => {
      for (let i = db._writes.length - 1; i >= 0; i--) {
        const write = db._writes[i][id]
        if (write !== undefined) return write
      }
      return db._documents[id] ?? null
    }
    db.get = function (table, id) {
      const doc = get.call(this, table, id)
      if (open && inside === 0) {
        open.reads.push({ component, table: tableOf(id), id })
        if (doc) open.billedBytesRead += billed(doc)
      }
      return doc
    }
    // A patch, replace or delete reads the document it changes.
    const readsTarget = <A extends [string, string, ...unknown[]]>(method: (...args: A) => void) =>
      function (this: DatabaseFake, ...args: A) {
        if (open) open.reads.push({ component, table: tableOf(args[1]), id: args[1] })
        internally(method).apply(this, args)
      }
    db.patch = readsTarget(patch)
    db.replace = readsTarget(replace)
    db.delete = readsTarget(remove)
    db.startQuery = function (query) {
      const id = internally(startQuery).call(this, query)
      if (open) open.ranges.push(sourceRange(component, query.source))
      return id
    }
    db.queryNext = function (queryId) {
      const next = queryNext.call(this, queryId)
      if (!next.done) noteRead(next.value)
      return next
    }
    db.paginate = function (args) {
      const result = internally(paginate).call(this, args)
      if (open) open.ranges.push(sourceRange(component, args.query.source))
      for (const doc of result.page) noteRead(doc)
      return result
    }
    db._addWrite = function (id, value) {
      if (open && !merging) {
        const before = previous(id)
        open.writes.push({ component, table: tableOf(id), id, before, after: value })
        const written = value ?? before
        if (written) open.billedBytesWritten += billed(written)
      }
      return _addWrite.call(this, id, value)
    }
    restore.push(() =>
      Object.assign(db, { get, startQuery, queryNext, paginate, _addWrite, patch, replace, delete: remove, commit: commitLayer }),
    )
  }

  const { begin, commit, rollback } = manager
  const finish = (isNested: boolean, outcome: MeteredTransaction['outcome']) => {
    if (isNested || !open) return
    const metrics = manager.getMetricsTracker()?.getTransactionMetrics()
    if (metrics) {
      open.bytesRead = metrics.bytesRead.used
      open.documentsRead = metrics.documentsRead.used
      open.bytesWritten = outcome === 'committed' ? metrics.bytesWritten.used : 0
      open.documentsWritten = outcome === 'committed' ? metrics.documentsWritten.used : 0
    }
    if (outcome !== 'committed') open.billedBytesWritten = 0
    open.outcome = outcome
    transactions.push(open)
    open = null
  }
  manager.begin = async (isNested, limits) => {
    await begin.call(manager, isNested, limits)
    if (!isNested) {
      open = {
        outcome: 'rolledBack', udfType: undefined, udfPath: undefined, component: undefined, tag: tags.getStore(),
        bytesRead: 0, documentsRead: 0, bytesWritten: 0, documentsWritten: 0, billedBytesRead: 0, billedBytesWritten: 0,
        reads: [], ranges: [], writes: [],
      }
    }
  }
  manager.commit = (isNested) => {
    finish(isNested, 'committed')
    return commit.call(manager, isNested)
  }
  manager.rollback = (isNested) => {
    finish(isNested, 'rolledBack')
    rollback.call(manager, isNested)
  }
  restore.push(() => Object.assign(manager, { begin, commit, rollback }))

  const originalRun = AsyncLocalStorage.prototype.run
  AsyncLocalStorage.prototype.run = function (this: AsyncLocalStorage<unknown>, store: unknown, ...rest: unknown[]) {
    if (isExecutionContext(store)) {
      const nested = store.udfType !== 'action' && open !== null && open.udfPath !== undefined
      if (store.udfType !== 'action' && open && open.udfPath === undefined) {
        open.udfType = store.udfType
        open.udfPath = store.udfPath
        open.component = store.componentPath
      }
      if (store.udfPath !== 'custom') {
        runs.push({ udfType: store.udfType, udfPath: store.udfPath, component: store.componentPath, nested, tag: tags.getStore() })
      }
    }
    return (originalRun as (...args: unknown[]) => unknown).call(this, store, ...rest)
  } as typeof originalRun
  restore.push(() => {
    AsyncLocalStorage.prototype.run = originalRun
  })

  return {
    transactions,
    runs,
    /** Runs `work` with every transaction and function it starts tagged `tag`. */
    tagged: <T>(tag: string, work: () => Promise<T>) => tags.run(tag, work),
    /** Forgets what was recorded so far. */
    clear: () => {
      transactions.length = 0
      runs.length = 0
    },
    stop: () => {
      for (const undo of restore.reverse()) undo()
    },
  }
}
export type Meter = Awaited<ReturnType<typeof meterTransactions>>

// ---- Conflicts: what Convex's optimistic concurrency would retry ----

const TYPE_RANK = ['undefined', 'null', 'bigint', 'number', 'boolean', 'string', 'bytes', 'array', 'object']
function decode(value: JsonValue): unknown {
  if (typeof value === 'object' && value !== null && '$undefined' in value) return undefined
  return value
}
function rank(value: unknown) {
  if (value === undefined) return 0
  if (value === null) return 1
  if (Array.isArray(value)) return 7
  return TYPE_RANK.indexOf(typeof value)
}
function compare(a: unknown, b: unknown): number {
  const ranks = rank(a) - rank(b)
  if (ranks !== 0) return ranks
  if (typeof a === 'number' || typeof a === 'string' || typeof a === 'boolean') {
    return a < (b as typeof a) ? -1 : a > (b as typeof a) ? 1 : 0
  }
  const [left, right] = [JSON.stringify(a), JSON.stringify(b)]
  return left < right ? -1 : left > right ? 1 : 0
}
const fieldOf = (doc: Record<string, unknown>, path: string) =>
  path.split('.').reduce<unknown>((value, key) => (value as Record<string, unknown> | undefined)?.[key], doc)

/** Whether `doc` lies in the range a transaction read. */
export function inRange(range: ReadRange, doc: Record<string, unknown>): boolean {
  return range.range.every((bound) => {
    const order = compare(fieldOf(doc, bound.fieldPath), decode(bound.value))
    switch (bound.type) {
      case 'Eq':
        return order === 0
      case 'Gt':
        return order > 0
      case 'Gte':
        return order >= 0
      case 'Lt':
        return order < 0
      case 'Lte':
        return order <= 0
    }
  })
}

/**
 * The documents `writer` wrote that `reader` had read (by id, or in a range it read, before or
 * after the write): a commit of `writer` while `reader` runs makes Convex retry `reader`.
 */
export function conflicts(reader: MeteredTransaction, writer: MeteredTransaction): WrittenDocument[] {
  return writer.writes.filter((write) => {
    if (reader.reads.some((read) => read.component === write.component && read.id === write.id)) return true
    return reader.ranges.some(
      (range) =>
        range.component === write.component &&
        range.table === write.table &&
        [write.before, write.after].some((doc) => doc !== null && inRange(range, doc)),
    )
  })
}
