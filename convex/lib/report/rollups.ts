// The operator's usage report: rollups kept current in the transaction that writes each usage
// row, and the bounded reads over them. A report reads at most MAX_REPORT_DAYS x REPORT_SHARDS
// day documents and the top users of a day read TOP_USERS documents (and their users), however
// many usage rows there are.
import { ConvexError, v, type Infer } from 'convex/values'
import type { Doc, Id } from '../../_generated/dataModel'
import type { MutationCtx, QueryCtx } from '../../_generated/server'
import { costIfPriced } from '../../ai/prices'
import { usageChat, type usageReportLine } from '../../schema'

export const DAY_MS = 86_400_000
/**
 * Day documents per UTC day: calls of different users spread over them (by user id), so each
 * is written by about a quarter of the calls. More shards mean less write contention but more
 * documents for a report to read.
 */
export const REPORT_SHARDS = 4
/**
 * Longest range one report may cover: a year of months. It reads at most 366 x 4 = 1,464 day
 * documents, each a line per model and chat used that day: 2.7 MB even with four models in
 * all three chats every day (tests/adminReport.test.ts), a third of the 8 MiB limit.
 */
export const MAX_REPORT_DAYS = 366
export const TOP_USERS = 10

type Chat = Infer<typeof usageChat>
type Line = Infer<typeof usageReportLine>

/** A usage row with its cost: what the report counts. */
export type CountedUsage = {
  userId: Id<'users'>
  model: string
  chat: Chat
  inputTokens: number
  outputTokens: number
  succeeded: boolean
  createdAt: number
  costMicroUsd: number
  /**
   * A call that finished after its account was deleted: counted in the day's totals and as a
   * deleted account's (user, day) entry of its own, never under the user's id.
   */
  accountDeleted?: boolean
}

export function utcDay(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS
}

/** FNV-1a of the user id: a user's calls always land in the same shard. */
export function reportShard(userId: string): number {
  let hash = 0x811c9dc5
  for (let i = 0; i < userId.length; i++) {
    hash ^= userId.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return (hash >>> 0) % REPORT_SHARDS
}

function addToLines(lines: Line[], row: CountedUsage): Line[] {
  const index = lines.findIndex((line) => line.model === row.model && line.chat === row.chat)
  const line = index >= 0 ? lines[index] : { model: row.model, chat: row.chat, calls: 0, failedCalls: 0, inputTokens: 0, outputTokens: 0, costMicroUsd: 0 }
  const updated = {
    ...line,
    calls: line.calls + 1,
    failedCalls: line.failedCalls + (row.succeeded ? 0 : 1),
    inputTokens: line.inputTokens + row.inputTokens,
    outputTokens: line.outputTokens + row.outputTokens,
    costMicroUsd: line.costMicroUsd + row.costMicroUsd,
  }
  return index >= 0 ? lines.map((other, i) => (i === index ? updated : other)) : [...lines, updated]
}

function groupBy<T>(items: T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>()
  for (const item of items) {
    const key = keyOf(item)
    groups.set(key, [...(groups.get(key) ?? []), item])
  }
  return groups
}

/**
 * The existing documents of one day for `keys`. A batch touching several keys of a day reads
 * the day in one range, bounded by twice their number (falling back to one read per key on a
 * busier day). One call touches one key and reads only its own document, so calls of different
 * users never conflict.
 */
async function findExisting<D>(
  keys: string[],
  keyOf: (doc: D) => string | undefined,
  readDay: (limit: number) => Promise<D[]>,
  readOne: (key: string) => Promise<D | null>,
): Promise<Map<string, D>> {
  const found = new Map<string, D>()
  if (keys.length > 1) {
    const limit = 2 * keys.length + REPORT_SHARDS
    const docs = await readDay(limit + 1)
    if (docs.length <= limit) {
      for (const doc of docs) {
        const key = keyOf(doc)
        if (key !== undefined) found.set(key, doc)
      }
      return found
    }
  }
  for (const key of keys) {
    const doc = await readOne(key)
    if (doc) found.set(key, doc)
  }
  return found
}

/** Counts rows in the report, in the caller's transaction; each document is read and written once. */
export async function addToUsageReport(ctx: MutationCtx, rows: CountedUsage[]): Promise<void> {
  for (const dayRows of groupBy(rows, (row) => String(utcDay(row.createdAt))).values()) {
    const day = utcDay(dayRows[0].createdAt)

    const byShard = groupBy(dayRows, (row) => String(reportShard(row.userId)))
    const dayDocs = await findExisting<Doc<'usageReportDays'>>(
      [...byShard.keys()],
      (doc) => String(doc.shard),
      (limit) => ctx.db.query('usageReportDays').withIndex('by_day_shard', (q) => q.eq('day', day)).take(limit),
      (shard) =>
        ctx.db
          .query('usageReportDays')
          .withIndex('by_day_shard', (q) => q.eq('day', day).eq('shard', Number(shard)))
          .unique(),
    )
    for (const [shard, group] of byShard) {
      const existing = dayDocs.get(shard)
      const lines = group.reduce(addToLines, existing?.lines ?? [])
      if (existing) await ctx.db.patch('usageReportDays', existing._id, { lines })
      else await ctx.db.insert('usageReportDays', { day, shard: Number(shard), lines })
    }

    // The user's own entry may already have lost their id (or be about to): a fresh entry
    // without one holds the call. Rare: only calls under way when their account was deleted.
    for (const row of dayRows.filter((row) => row.accountDeleted)) {
      await ctx.db.insert('usageReportUserDays', { day, calls: 1, costMicroUsd: row.costMicroUsd })
    }
    const byUser = groupBy(dayRows.filter((row) => !row.accountDeleted), (row) => row.userId)
    const userDocs = await findExisting<Doc<'usageReportUserDays'>>(
      [...byUser.keys()],
      (doc) => doc.userId,
      (limit) => ctx.db.query('usageReportUserDays').withIndex('by_day_cost', (q) => q.eq('day', day)).take(limit),
      (userId) =>
        ctx.db
          .query('usageReportUserDays')
          .withIndex('by_user_day', (q) => q.eq('userId', userId as Id<'users'>).eq('day', day))
          .unique(),
    )
    for (const [userId, group] of byUser) {
      const existing = userDocs.get(userId)
      const calls = (existing?.calls ?? 0) + group.length
      const costMicroUsd = group.reduce((sum, row) => sum + row.costMicroUsd, existing?.costMicroUsd ?? 0)
      if (existing) await ctx.db.patch('usageReportUserDays', existing._id, { calls, costMicroUsd })
      else await ctx.db.insert('usageReportUserDays', { day, userId: group[0].userId, calls, costMicroUsd })
    }
  }
}

// ---- Reading the report ----

export const granularity = v.union(v.literal('day'), v.literal('week'), v.literal('month'))
export type Granularity = Infer<typeof granularity>

const counts = {
  calls: v.number(),
  inputTokens: v.number(),
  outputTokens: v.number(),
  costUsd: v.number(),
}

export const usageReportResult = v.object({
  buckets: v.array(
    v.object({
      start: v.number(),
      ...counts,
      failedCalls: v.number(),
      byModel: v.array(v.object({ model: v.string(), ...counts })),
      byChat: v.array(v.object({ chat: usageChat, ...counts })),
    }),
  ),
  totals: v.object({ ...counts, failedCalls: v.number() }),
})
export type UsageReport = Infer<typeof usageReportResult>

/** The start of the bucket holding `day`: the day, its week's Monday, or the 1st of its month (UTC). */
export function bucketStart(day: number, unit: Granularity): number {
  if (unit === 'day') return day
  const date = new Date(day)
  if (unit === 'month') return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1)
  const daysSinceMonday = (date.getUTCDay() + 6) % 7
  return day - daysSinceMonday * DAY_MS
}

type Totals = { calls: number; failedCalls: number; inputTokens: number; outputTokens: number; costMicroUsd: number }
const emptyTotals = (): Totals => ({ calls: 0, failedCalls: 0, inputTokens: 0, outputTokens: 0, costMicroUsd: 0 })

function add(into: Totals, line: Totals) {
  into.calls += line.calls
  into.failedCalls += line.failedCalls
  into.inputTokens += line.inputTokens
  into.outputTokens += line.outputTokens
  into.costMicroUsd += line.costMicroUsd
}

// Costs are summed in integer micro-dollars and turned into dollars once, at the end.
const inDollars = ({ calls, inputTokens, outputTokens, costMicroUsd }: Totals) => ({
  calls,
  inputTokens,
  outputTokens,
  costUsd: costMicroUsd / 1_000_000,
})

const CHAT_ORDER: Chat[] = ['general', 'debrief', 'extraction']

export function checkReportRange(from: number, to: number) {
  if (!Number.isInteger(from) || !Number.isInteger(to) || from % DAY_MS !== 0 || to % DAY_MS !== 0) {
    throw new ConvexError(
      'from and to must be midnights UTC in milliseconds (multiples of 86,400,000), e.g. Date.UTC(2026, 10, 1).',
    )
  }
  if (to <= from) throw new ConvexError('to must be after from.')
  if ((to - from) / DAY_MS > MAX_REPORT_DAYS) {
    throw new ConvexError(`A report covers at most ${MAX_REPORT_DAYS} days; ask for a shorter range.`)
  }
}

/** Calls, tokens and cost of the usage rows with from <= createdAt < to, per bucket, by model and by chat. */
export async function readUsageReport(
  ctx: QueryCtx,
  { from, to, granularity: unit }: { from: number; to: number; granularity: Granularity },
): Promise<UsageReport> {
  checkReportRange(from, to)
  const readLimit = MAX_REPORT_DAYS * REPORT_SHARDS
  const days = await ctx.db
    .query('usageReportDays')
    .withIndex('by_day_shard', (q) => q.gte('day', from).lt('day', to))
    .take(readLimit + 1)
  // Only possible if REPORT_SHARDS was lowered after days were written: never a silent short total.
  if (days.length > readLimit) throw new ConvexError('This range holds too much to report at once; ask for a shorter range.')

  type Bucket = { totals: Totals; byModel: Map<string, Totals>; byChat: Map<Chat, Totals> }
  const buckets = new Map<number, Bucket>()
  const totals = emptyTotals()
  for (const doc of days) {
    const start = bucketStart(doc.day, unit)
    let bucket = buckets.get(start)
    if (!bucket) buckets.set(start, (bucket = { totals: emptyTotals(), byModel: new Map(), byChat: new Map() }))
    for (const line of doc.lines) {
      add(totals, line)
      add(bucket.totals, line)
      if (!bucket.byModel.has(line.model)) bucket.byModel.set(line.model, emptyTotals())
      add(bucket.byModel.get(line.model)!, line)
      if (!bucket.byChat.has(line.chat)) bucket.byChat.set(line.chat, emptyTotals())
      add(bucket.byChat.get(line.chat)!, line)
    }
  }
  return {
    buckets: [...buckets.entries()]
      .filter(([, bucket]) => bucket.totals.calls > 0)
      .sort(([a], [b]) => a - b)
      .map(([start, bucket]) => ({
        start,
        ...inDollars(bucket.totals),
        failedCalls: bucket.totals.failedCalls,
        byModel: [...bucket.byModel.entries()]
          .sort(([a, x], [b, y]) => y.costMicroUsd - x.costMicroUsd || a.localeCompare(b))
          .map(([model, line]) => ({ model, ...inDollars(line) })),
        byChat: CHAT_ORDER.filter((chat) => bucket.byChat.has(chat)).map((chat) => ({
          chat,
          ...inDollars(bucket.byChat.get(chat)!),
        })),
      })),
    totals: { ...inDollars(totals), failedCalls: totals.failedCalls },
  }
}

// ---- Top users of a day ----

export const topUsersResult = v.array(
  v.object({
    // Both null for an account deleted since: its spending stays, its identity does not.
    userId: v.union(v.id('users'), v.null()),
    email: v.union(v.string(), v.null()),
    calls: v.number(),
    costUsd: v.number(),
  }),
)

/** 'YYYY-MM-DD' (a real date) to its UTC midnight in ms. */
export function parseUtcDay(day: string): number {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day)
  const ms = match ? Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) : NaN
  if (!match || new Date(ms).toISOString().slice(0, 10) !== day) {
    throw new ConvexError(`day must be a date written YYYY-MM-DD (UTC), e.g. 2026-11-23; got "${day}".`)
  }
  return ms
}

/** At most TOP_USERS users of that UTC day, most expensive first. */
export async function readTopUsers(ctx: QueryCtx, day: string): Promise<Infer<typeof topUsersResult>> {
  const start = parseUtcDay(day)
  const top = await ctx.db
    .query('usageReportUserDays')
    .withIndex('by_day_cost', (q) => q.eq('day', start))
    .order('desc')
    .take(TOP_USERS)
  return await Promise.all(
    top.map(async (entry) => {
      const user = entry.userId ? await ctx.db.get('users', entry.userId) : null
      return {
        userId: entry.userId ?? null,
        email: user?.email ?? null,
        calls: entry.calls,
        costUsd: entry.costMicroUsd / 1_000_000,
      }
    }),
  )
}

// ---- Deleting an account ----

/**
 * For the account-deletion job: removes up to `limit` of the user's usage rows (counting any the
 * report has not counted yet, so every total stays right), then takes the user's id off up to
 * the rest of `limit` of their (day, user) documents, which stay as a deleted account's
 * spending. Returns how many documents it changed and whether more remains; call it again
 * until `more` is false.
 */
export async function forgetUserInUsageReport(
  ctx: MutationCtx,
  userId: Id<'users'>,
  limit: number,
): Promise<{ changed: number; more: boolean }> {
  if (!Number.isInteger(limit) || limit < 1) throw new Error('forgetUserInUsageReport: limit must be a whole number, 1 or more')
  const rows = await ctx.db
    .query('modelUsage')
    .withIndex('by_user', (q) => q.eq('userId', userId))
    .take(limit + 1)
  const batch = rows.slice(0, limit)
  // A row written before prices existed is counted now, or its spending would leave with it.
  await addToUsageReport(ctx, batch.filter((row) => row.costMicroUsd === undefined).map(priceForReport))
  for (const row of batch) await ctx.db.delete('modelUsage', row._id)
  if (rows.length > limit) return { changed: batch.length, more: true }

  const room = limit - batch.length
  const named = await ctx.db
    .query('usageReportUserDays')
    .withIndex('by_user_day', (q) => q.eq('userId', userId))
    .take(room + 1)
  const renamed = named.slice(0, room)
  for (const entry of renamed) {
    await ctx.db.patch('usageReportUserDays', entry._id, { userId: undefined })
  }
  return { changed: batch.length + renamed.length, more: named.length > room }
}

/** A row about to be deleted: priced now if it can be, else counted at no cost (and logged). */
function priceForReport(row: Doc<'modelUsage'>): CountedUsage {
  return { ...row, costMicroUsd: costIfPriced(row.model, row) ?? 0 }
}
