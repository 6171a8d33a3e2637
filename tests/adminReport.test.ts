// What the model costs, for the operator: the price table and MODEL_PRICES, a refused unpriced
// model, the cost stored on each usage row, the report and the top users (operators only), the
// backfill, forgetting a deleted account, and all of it at 50,000 rows with Convex's
// transaction limits enforced.
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'
import { api, internal } from '../convex/_generated/api'
import type { Doc, Id } from '../convex/_generated/dataModel'
import {
  BUILT_IN_PRICES,
  costMicroUsd,
  findModelPrice,
  MODEL_UNAVAILABLE,
  ModelPricesError,
  requireModelPrice,
} from '../convex/ai/prices'
import { recordModelUsage } from '../convex/lib/spending/usage'
import {
  DAY_MS,
  forgetUserInUsageReport,
  MAX_REPORT_DAYS,
  readUsageReport,
  REPORT_SHARDS,
} from '../convex/lib/report/rollups'
import {
  convexErrorOf,
  expectConvexError,
  makeAction,
  makeUser,
  setupBackend,
  signIn,
  snapshotTables,
  CONVEX_TRANSACTION_LIMITS,
  useModelServer,
  type Backend,
} from './support/backend'

const server = useModelServer()

const HAIKU_4_5 = 'claude-haiku-4-5-20251001'
const OPS_EMAIL = 'ops@example.org'
const FORBIDDEN = { code: 'FORBIDDEN', message: 'Only the operators of this deployment can see usage reports.' }

/** Anthropic's list prices, written out again so the table in the code is checked against them. */
function expectedCost(model: string, inputTokens: number, outputTokens: number): number {
  const perMTok: Record<string, [number, number]> = {
    [HAIKU_4_5]: [1, 5],
    'claude-haiku-4-5': [1, 5],
    'claude-haiku-5-5': inputTokens > 100_000 ? [0.5, 2.5] : [0.1, 0.5],
    'claude-sonnet-5-5': [2, 10],
    'claude-opus-5-5': [4, 20],
  }
  const [input, output] = perMTok[model]
  // $/MTok x tokens = micro-dollars.
  return Math.round(inputTokens * input + outputTokens * output)
}

let consoleError: ReturnType<typeof vi.spyOn>
beforeEach(() => {
  consoleError = vi.spyOn(console, 'error').mockImplementation(() => {})
  process.env.ADMIN_EMAILS = ` Other@Example.org, ${OPS_EMAIL.toUpperCase()} `
})
afterEach(() => {
  consoleError.mockRestore()
  vi.useRealTimers()
  delete process.env.MODEL_PRICES
  delete process.env.ADMIN_EMAILS
})
const loggedErrors = () => consoleError.mock.calls.map((call: unknown[]) => call.join(' ')).join('\n')

async function signInOperator(t: Backend) {
  return (await signIn(t, { email: ` ${OPS_EMAIL} `, emailVerificationTime: 1 })).as
}

const utcMidnight = (isoDay: string) => Date.parse(`${isoDay}T00:00:00Z`)

type SeedRow = Omit<Doc<'modelUsage'>, '_id' | '_creationTime'>

/** Rows as written before prices existed: no cost, not in the report. Chunked to stay in limits. */
async function insertOldRows(t: Backend, rows: SeedRow[]) {
  for (let i = 0; i < rows.length; i += 5_000) {
    await t.run(async (ctx) => {
      for (const row of rows.slice(i, i + 5_000)) await ctx.db.insert('modelUsage', row)
    })
  }
}

/** Starts (or resumes) the backfill and runs its scheduled batches to the end. Needs fake timers. */
async function runBackfill(t: Backend, args: { fromStart?: boolean } = {}) {
  const started = await t.mutation(internal.admin.backfillUsageReport, args)
  await t.finishAllScheduledFunctions(vi.runAllTimers, 1_000)
  return started
}

/** Every usage row, read in pages so each read stays inside the transaction limits. */
async function allUsageRows(t: Backend): Promise<Doc<'modelUsage'>[]> {
  const rows: Doc<'modelUsage'>[] = []
  let cursor: string | null = null
  for (;;) {
    const page = await t.run(async (ctx) => ctx.db.query('modelUsage').paginate({ cursor, numItems: 8_000 }))
    rows.push(...page.page)
    if (page.isDone) return rows
    cursor = page.continueCursor
  }
}

type Sum = { calls: number; failedCalls: number; inputTokens: number; outputTokens: number; cost: number }
const zero = (): Sum => ({ calls: 0, failedCalls: 0, inputTokens: 0, outputTokens: 0, cost: 0 })
function addRow(sum: Sum, row: Doc<'modelUsage'>) {
  sum.calls += 1
  sum.failedCalls += row.succeeded ? 0 : 1
  sum.inputTokens += row.inputTokens
  sum.outputTokens += row.outputTokens
  sum.cost += row.costMicroUsd!
}
const dollars = ({ calls, inputTokens, outputTokens, cost }: Sum) => ({ calls, inputTokens, outputTokens, costUsd: cost / 1e6 })

// Bucket starts computed another way than the code: 1970-01-05 was a Monday; months from the ISO date.
function expectedBucket(createdAt: number, unit: 'day' | 'week' | 'month'): number {
  const day = createdAt - (createdAt % DAY_MS)
  if (unit === 'day') return day
  if (unit === 'month') return Date.parse(`${new Date(day).toISOString().slice(0, 7)}-01T00:00:00Z`)
  const mondays = Math.floor((day - 4 * DAY_MS) / (7 * DAY_MS))
  return 4 * DAY_MS + mondays * 7 * DAY_MS
}

/** The report the rows call for, summed directly over the rows. */
function directReport(rows: Doc<'modelUsage'>[], from: number, to: number, unit: 'day' | 'week' | 'month') {
  const buckets = new Map<number, { sum: Sum; byModel: Map<string, Sum>; byChat: Map<string, Sum> }>()
  const totals = zero()
  for (const row of rows) {
    if (row.createdAt < from || row.createdAt >= to) continue
    const start = expectedBucket(row.createdAt, unit)
    if (!buckets.has(start)) buckets.set(start, { sum: zero(), byModel: new Map(), byChat: new Map() })
    const bucket = buckets.get(start)!
    if (!bucket.byModel.has(row.model)) bucket.byModel.set(row.model, zero())
    if (!bucket.byChat.has(row.chat)) bucket.byChat.set(row.chat, zero())
    for (const sum of [totals, bucket.sum, bucket.byModel.get(row.model)!, bucket.byChat.get(row.chat)!]) addRow(sum, row)
  }
  return {
    buckets: [...buckets.keys()].sort((a, b) => a - b).map((start) => {
      const bucket = buckets.get(start)!
      return {
        start,
        ...dollars(bucket.sum),
        failedCalls: bucket.sum.failedCalls,
        // Most expensive model first; chats in the order general, debrief, extraction.
        byModel: [...bucket.byModel.entries()]
          .sort(([a, x], [b, y]) => y.cost - x.cost || a.localeCompare(b))
          .map(([model, sum]) => ({ model, ...dollars(sum) })),
        byChat: ['general', 'debrief', 'extraction']
          .filter((chat) => bucket.byChat.has(chat))
          .map((chat) => ({ chat, ...dollars(bucket.byChat.get(chat)!) })),
      }
    }),
    totals: { ...dollars(totals), failedCalls: totals.failedCalls },
  }
}

describe('prices', () => {
  test('the table holds the list prices, per million tokens, in whole micro-dollars', () => {
    const usage = { inputTokens: 12_345, outputTokens: 678 }
    for (const model of [HAIKU_4_5, 'claude-haiku-4-5', 'claude-haiku-5-5', 'claude-sonnet-5-5', 'claude-opus-5-5']) {
      expect(costMicroUsd(model, usage), model).toBe(expectedCost(model, usage.inputTokens, usage.outputTokens))
    }
    // 1,000 tokens in and 200 out on Haiku 4.5: $0.001 + $0.001.
    expect(costMicroUsd(HAIKU_4_5, { inputTokens: 1_000, outputTokens: 200 })).toBe(2_000)
    expect(costMicroUsd('claude-haiku-5-5', { inputTokens: 1_000, outputTokens: 200 })).toBe(200)
    expect(Number.isInteger(costMicroUsd('claude-haiku-5-5', { inputTokens: 7, outputTokens: 3 }))).toBe(true)
  })

  test('Haiku 5.5: a prompt over 100,000 input tokens puts the whole call at the higher rate', () => {
    expect(costMicroUsd('claude-haiku-5-5', { inputTokens: 100_000, outputTokens: 1_000 })).toBe(10_000 + 500)
    expect(costMicroUsd('claude-haiku-5-5', { inputTokens: 100_001, outputTokens: 1_000 })).toBe(50_001 + 2_500)
  })

  test('MODEL_PRICES adds models and overrides built-in prices', () => {
    process.env.MODEL_PRICES = JSON.stringify({
      'claude-new-1': { inputPerMTok: 3, outputPerMTok: 15 },
      [HAIKU_4_5]: { inputPerMTok: 0.8, outputPerMTok: 4 },
      'claude-tiered': { inputPerMTok: 1, outputPerMTok: 2, longPrompt: { overInputTokens: 10, inputPerMTok: 3, outputPerMTok: 4 } },
    })
    expect(costMicroUsd('claude-new-1', { inputTokens: 1_000, outputTokens: 100 })).toBe(3_000 + 1_500)
    expect(costMicroUsd(HAIKU_4_5, { inputTokens: 1_000, outputTokens: 100 })).toBe(800 + 400)
    expect(costMicroUsd('claude-tiered', { inputTokens: 11, outputTokens: 1 })).toBe(33 + 4)
    // Entries it does not name keep their built-in price.
    expect(findModelPrice('claude-opus-5-5')).toEqual(BUILT_IN_PRICES['claude-opus-5-5'])
  })

  test.each([
    ['not JSON', '{ "claude-x": ', /MODEL_PRICES is not valid JSON/],
    ['an array', '[]', /MODEL_PRICES must be a JSON object/],
    ['an entry that is not an object', '{ "claude-x": 3 }', /MODEL_PRICES: "claude-x" must be an object/],
    ['a missing rate', '{ "claude-x": { "inputPerMTok": 1 } }', /MODEL_PRICES: "claude-x"\.outputPerMTok must be a number/],
    ['a negative rate', '{ "claude-x": { "inputPerMTok": -1, "outputPerMTok": 1 } }', /inputPerMTok must be a number of dollars, 0 or more/],
    ['a rate as text', '{ "claude-x": { "inputPerMTok": "1", "outputPerMTok": 1 } }', /inputPerMTok must be a number/],
    ['a misspelt key', '{ "claude-x": { "inputPerMtok": 1, "inputPerMTok": 1, "outputPerMTok": 1 } }', /unknown key\(s\) inputPerMtok/],
  ])('a malformed MODEL_PRICES (%s) is an error naming it, never ignored', (_, raw, message) => {
    process.env.MODEL_PRICES = raw
    expect(() => findModelPrice(HAIKU_4_5)).toThrow(ModelPricesError)
    expect(() => findModelPrice(HAIKU_4_5)).toThrow(message)
    // Before a call: the user gets "unavailable", the operator the reason.
    expect(() => requireModelPrice(HAIKU_4_5)).toThrow(MODEL_UNAVAILABLE)
    expect(loggedErrors()).toMatch(message)
  })

  test('a model with no price is refused: "unavailable" for the user, MODEL_PRICES for the operator', async () => {
    expect(await convexErrorOf(Promise.resolve().then(() => requireModelPrice('claude-mystery-9')))).toBe(MODEL_UNAVAILABLE)
    expect(loggedErrors()).toContain('model "claude-mystery-9" has no price. Add it to MODEL_PRICES')
    process.env.MODEL_PRICES = '{ "claude-mystery-9": { "inputPerMTok": 1, "outputPerMTok": 1 } }'
    expect(costMicroUsd('claude-mystery-9', { inputTokens: 5, outputTokens: 5 })).toBe(10)
  })
})

describe('a model that cannot be priced is never called', () => {
  beforeEach(() => {
    process.env.MODEL_PRICES = 'not json'
  })

  test.each(['general', 'debrief', 'extraction'] as const)('%s: refused before anything is stored or sent', async (chat) => {
    const t = setupBackend()
    const { as, profileId } = await makeUser(t)
    const actionId = await makeAction(t, profileId, { status: 'done', completedAt: 5 })
    const before = await snapshotTables(t)
    const call =
      chat === 'general'
        ? as.action(api.enrichment.conversation.sendMessage, { profileId, message: 'Hello' })
        : chat === 'debrief'
          ? as.action(api.enrichment.conversation.sendCompletionMessage, { profileId, actionId, message: 'Done!' })
          : as.action(api.enrichment.extraction.extractFromConversation, {
              profileId,
              messages: [{ role: 'user', content: 'I know Rust.' }],
            })
    await expectConvexError(call, MODEL_UNAVAILABLE)
    expect(await snapshotTables(t)).toEqual(before)
    expect(server().requests).toHaveLength(0)
    expect(loggedErrors()).toContain('MODEL_PRICES is not valid JSON')
  })
})

describe('each usage row carries its cost, and the report counts it at once', () => {
  test('chat turns and an extraction: rows priced from the usage the model reported', async () => {
    const t = setupBackend()
    const { as, profileId, userId } = await makeUser(t)
    const actionId = await makeAction(t, profileId, { status: 'done', completedAt: 5 })
    server().reply(
      { kind: 'text', text: 'Tell me more about your work.' },
      { kind: 'text', text: 'Well done!' },
      { kind: 'brokenStream', textBefore: 'Half a', ending: 'socket' },
      { kind: 'tool', name: 'save_profile_updates', input: { skills_mentioned: ['Rust'], career_interests: [] } },
    )
    await as.action(api.enrichment.conversation.sendMessage, { profileId, message: 'I build compilers.' })
    await as.action(api.enrichment.conversation.sendCompletionMessage, { profileId, actionId, message: 'I did it.' })
    await convexErrorOf(as.action(api.enrichment.conversation.sendCompletionMessage, { profileId, actionId, message: 'More.' }))
    await as.action(api.enrichment.extraction.extractFromConversation, {
      profileId,
      messages: [{ role: 'user', content: 'I know Rust.' }],
    })

    const rows = await t.run(async (ctx) => ctx.db.query('modelUsage').collect())
    expect(rows.map((row) => [row.chat, row.succeeded])).toEqual([
      ['general', true], ['debrief', true], ['debrief', false], ['extraction', true],
    ])
    for (const row of rows) {
      expect(row.inputTokens).toBeGreaterThan(0)
      expect(row.costMicroUsd).toBe(expectedCost(HAIKU_4_5, row.inputTokens, row.outputTokens))
    }

    const today = Date.now() - (Date.now() % DAY_MS)
    const operator = await signInOperator(t)
    for (const granularity of ['day', 'week', 'month'] as const) {
      const report = await operator.query(api.admin.usageReport, { from: today - 31 * DAY_MS, to: today + DAY_MS, granularity })
      expect(report, granularity).toEqual(directReport(rows, today - 31 * DAY_MS, today + DAY_MS, granularity))
    }
    const report = await operator.query(api.admin.usageReport, { from: today, to: today + DAY_MS, granularity: 'day' })
    expect(report.totals).toMatchObject({ calls: 4, failedCalls: 1 })
    expect(report.buckets[0].byChat.map((line) => [line.chat, line.calls])).toEqual([
      ['general', 1], ['debrief', 2], ['extraction', 1],
    ])
    const cost = rows.reduce((sum, row) => sum + row.costMicroUsd!, 0)
    expect(await operator.query(api.admin.topUsers, { day: new Date(today).toISOString().slice(0, 10) })).toEqual([
      { userId, email: null, calls: 4, costUsd: cost / 1e6 },
    ])
  })

  test('one call reads and writes only its own two report documents, however many users that day has', async () => {
    vi.useFakeTimers()
    vi.setSystemTime(Date.UTC(2026, 10, 23, 12))
    const t = setupBackend()
    const users: Awaited<ReturnType<typeof makeUser>>[] = []
    for (let i = 0; i < 30; i++) users.push(await makeUser(t))
    const call = (user: (typeof users)[number]) => ({
      userId: user.userId, profileId: user.profileId, chat: 'general' as const,
      usage: { inputTokens: 1_000, outputTokens: 10 }, succeeded: true,
    })
    for (const user of users) await t.run(async (ctx) => recordModelUsage(ctx, call(user)))
    const metrics = await t.run(async (ctx) => {
      await recordModelUsage(ctx, call(users[7]))
      return await ctx.meta.getTransactionMetrics()
    })
    // Five lookups (its own user document, to know the account is still open; its day shard,
    // its own day, and one shard of each daily budget counter, tokens and dollars);
    // convex-test counts each patched document twice. None of it grows with the number of
    // users that day.
    expect(metrics.databaseQueries.used).toBe(5)
    // Each counter picks a shard at random; one not written yet today is inserted, not read.
    expect(metrics.documentsRead.used).toBeGreaterThanOrEqual(5)
    expect(metrics.documentsRead.used).toBeLessThanOrEqual(9)
    expect(metrics.documentsWritten.used).toBe(5) // the row, two report documents, two counter shards
  })

  test('a price that vanishes mid-call: the row is kept without a cost, and the backfill counts it once priced', async () => {
    vi.useFakeTimers()
    vi.setSystemTime(Date.UTC(2026, 10, 23, 12))
    const t = setupBackend()
    const { userId, profileId } = await makeUser(t)
    const call = { userId, profileId, chat: 'general' as const, usage: { inputTokens: 1_000, outputTokens: 10 }, succeeded: true }
    process.env.MODEL_PRICES = '{ broken'
    await t.run(async (ctx) => recordModelUsage(ctx, call))
    const [row] = await t.run(async (ctx) => ctx.db.query('modelUsage').collect())
    expect(row.costMicroUsd).toBeUndefined()
    expect(loggedErrors()).toContain('Fix MODEL_PRICES, then run admin:backfillUsageReport')
    const range = { from: utcMidnight('2026-11-23'), to: utcMidnight('2026-11-24'), granularity: 'day' as const }
    expect((await t.query(internal.admin.usageReportInternal, range)).totals.calls).toBe(0)

    delete process.env.MODEL_PRICES
    await runBackfill(t)
    expect((await t.query(internal.admin.usageReportInternal, range)).totals).toEqual({
      calls: 1, failedCalls: 0, inputTokens: 1_000, outputTokens: 10, costUsd: 0.00105,
    })
  })
})

describe('who may read the report', () => {
  const args = { from: utcMidnight('2026-11-01'), to: utcMidnight('2026-12-01'), granularity: 'month' as const }

  test('an operator: verified email listed in ADMIN_EMAILS, compared trimmed and lower-cased', async () => {
    const t = setupBackend()
    const operator = await signInOperator(t)
    expect(await operator.query(api.admin.usageReport, args)).toEqual({
      buckets: [],
      totals: { calls: 0, failedCalls: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 },
    })
    expect(await operator.query(api.admin.topUsers, { day: '2026-11-23' })).toEqual([])
  })

  test.each([
    ['signed out', null],
    ['a user without an email', {}],
    ['a listed email that was never verified', { email: OPS_EMAIL }],
    ['a verified email that is not listed', { email: 'someone@example.org', emailVerificationTime: 1 }],
  ])('%s: FORBIDDEN', async (_, user) => {
    const t = setupBackend()
    const caller = user === null ? t : (await signIn(t, user)).as
    expect(await convexErrorOf(caller.query(api.admin.usageReport, args))).toEqual(FORBIDDEN)
    expect(await convexErrorOf(caller.query(api.admin.topUsers, { day: '2026-11-23' }))).toEqual(FORBIDDEN)
  })

  test('no ADMIN_EMAILS: nobody is an operator', async () => {
    delete process.env.ADMIN_EMAILS
    const t = setupBackend()
    const operator = await signInOperator(t)
    expect(await convexErrorOf(operator.query(api.admin.usageReport, args))).toEqual(FORBIDDEN)
  })
})

describe('the report: buckets, ranges and top users', () => {
  // 2026-02-28 is a Saturday, 03-01 a Sunday, 03-02 a Monday; 03-31 a Tuesday.
  const DAYS = ['2026-02-27', '2026-02-28', '2026-03-01', '2026-03-02', '2026-03-31', '2026-04-01']

  async function seeded() {
    vi.useFakeTimers()
    const t = setupBackend()
    const users = [await makeUser(t), await makeUser(t)]
    for (const [index, day] of DAYS.entries()) {
      for (const [u, user] of users.entries()) {
        vi.setSystemTime(utcMidnight(day) + (u + 1) * 3_600_000)
        await t.run(async (ctx) =>
          recordModelUsage(ctx, {
            userId: user.userId,
            profileId: user.profileId,
            chat: (['general', 'debrief', 'extraction'] as const)[(index + u) % 3],
            usage: { inputTokens: 1_000 * (index + 1), outputTokens: 100 * (u + 1) },
            succeeded: index !== 2,
          }),
        )
      }
    }
    return { t, users, rows: await allUsageRows(t) }
  }

  test('days, weeks from Monday and calendar months (UTC); only from <= createdAt < to', async () => {
    const { t, rows } = await seeded()
    const from = utcMidnight('2026-02-28')
    const to = utcMidnight('2026-04-01') // the rows of 04-01 are outside, and so is 02-27
    const weeks = await t.query(internal.admin.usageReportInternal, { from, to, granularity: 'week' })
    expect(weeks.buckets.map((bucket) => new Date(bucket.start).toISOString().slice(0, 10))).toEqual([
      '2026-02-23', '2026-03-02', '2026-03-30',
    ])
    expect(weeks.buckets.map((bucket) => bucket.calls)).toEqual([4, 2, 2])
    const months = await t.query(internal.admin.usageReportInternal, { from, to, granularity: 'month' })
    expect(months.buckets.map((bucket) => [new Date(bucket.start).toISOString().slice(0, 10), bucket.calls])).toEqual([
      ['2026-02-01', 2], ['2026-03-01', 6],
    ])
    expect(months.totals).toMatchObject({ calls: 8, failedCalls: 2 })
    for (const granularity of ['day', 'week', 'month'] as const) {
      expect(await t.query(internal.admin.usageReportInternal, { from, to, granularity })).toEqual(
        directReport(rows, from, to, granularity),
      )
    }
  })

  test.each([
    [{ from: utcMidnight('2026-03-01') + 1, to: utcMidnight('2026-03-02') }, 'from and to must be midnights UTC'],
    [{ from: utcMidnight('2026-03-02'), to: utcMidnight('2026-03-02') }, 'to must be after from.'],
    [{ from: 0, to: (MAX_REPORT_DAYS + 1) * DAY_MS }, `A report covers at most ${MAX_REPORT_DAYS} days; ask for a shorter range.`],
  ])('a range it will not read: %j', async (range, message) => {
    const t = setupBackend()
    const error = await convexErrorOf(t.query(internal.admin.usageReportInternal, { ...range, granularity: 'day' }))
    expect(String(error)).toContain(message)
  })

  test('top users of a day: at most 10, most expensive first, with their email; other days left out', async () => {
    vi.useFakeTimers()
    const t = setupBackend()
    const day = utcMidnight('2026-11-23')
    const users: { userId: Id<'users'>; profileId: Id<'profiles'> }[] = []
    for (let i = 0; i < 12; i++) {
      const { userId } = await signIn(t, { email: `user${i}@example.org` })
      const profileId = await t.run(async (ctx) => ctx.db.insert('profiles', { userId, createdAt: 1, updatedAt: 1 }))
      users.push({ userId, profileId })
      for (let call = 0; call <= i % 3; call++) {
        vi.setSystemTime(day + i * 60_000 + call)
        await t.run(async (ctx) =>
          recordModelUsage(ctx, {
            ...users[i],
            chat: 'general',
            usage: { inputTokens: 1_000 * (i + 1) + 37 * i, outputTokens: 0 },
            succeeded: true,
          }),
        )
      }
    }
    // The cheapest user spends a fortune the day before: not part of this day.
    vi.setSystemTime(day - 1)
    await t.run(async (ctx) =>
      recordModelUsage(ctx, { ...users[0], chat: 'general', usage: { inputTokens: 10_000_000, outputTokens: 0 }, succeeded: true }),
    )
    const top = await (await signInOperator(t)).query(api.admin.topUsers, { day: '2026-11-23' })
    const spentBy = (i: number) => ({ calls: (i % 3) + 1, cost: ((i % 3) + 1) * (1_000 * (i + 1) + 37 * i) })
    const expected = [...Array(12).keys()]
      .sort((a, b) => spentBy(b).cost - spentBy(a).cost)
      .slice(0, 10)
      .map((i) => ({ userId: users[i].userId, email: `user${i}@example.org`, calls: spentBy(i).calls, costUsd: spentBy(i).cost / 1e6 }))
    expect(top).toEqual(expected)
  })

  test.each(['2026-02-30', '2026-2-3', 'yesterday', '2026-11-23T00:00:00Z'])('top users of "%s": a clear error', async (day) => {
    const t = setupBackend()
    expect(await convexErrorOf(t.query(internal.admin.topUsersInternal, { day }))).toBe(
      `day must be a date written YYYY-MM-DD (UTC), e.g. 2026-11-23; got "${day}".`,
    )
  })

  test(`the longest range (${MAX_REPORT_DAYS} days, 4 models x 3 chats a day) reads within Convex's limits`, async () => {
    const t = setupBackend(undefined, CONVEX_TRANSACTION_LIMITS)
    const from = utcMidnight('2025-01-01')
    const models = [HAIKU_4_5, 'claude-haiku-5-5', 'claude-sonnet-5-5', 'claude-opus-5-5']
    const lines = models.flatMap((model) =>
      (['general', 'debrief', 'extraction'] as const).map((chat) => ({
        model, chat, calls: 1_000, failedCalls: 10, inputTokens: 2_000_000, outputTokens: 300_000, costMicroUsd: 1_234_567,
      })),
    )
    await t.run(async (ctx) => {
      for (let d = 0; d < MAX_REPORT_DAYS; d++) {
        for (let shard = 0; shard < REPORT_SHARDS; shard++) {
          await ctx.db.insert('usageReportDays', { day: from + d * DAY_MS, shard, lines })
        }
      }
    })
    const { report, metrics } = await t.run(async (ctx) => {
      const report = await readUsageReport(ctx, { from, to: from + MAX_REPORT_DAYS * DAY_MS, granularity: 'month' })
      return { report, metrics: await ctx.meta.getTransactionMetrics() }
    })
    const docs = MAX_REPORT_DAYS * REPORT_SHARDS
    expect(report.buckets).toHaveLength(13) // 2025-01 .. 2026-01-01
    expect(report.totals.calls).toBe(docs * 12 * 1_000)
    expect(report.totals.costUsd).toBe((docs * 12 * 1_234_567) / 1e6)
    expect(metrics.documentsRead.used).toBe(docs)
    // Headroom: under half of each limit.
    expect(metrics.documentsRead.used).toBeLessThan(16_384 / 2)
    expect(metrics.bytesRead.used).toBeLessThan(4 * 2 ** 20)
  })
})

describe('backfill', () => {
  const day = utcMidnight('2026-11-20')

  async function withOldRows(models: string[]) {
    vi.useFakeTimers()
    vi.setSystemTime(day + 23 * 3_600_000)
    const t = setupBackend()
    const user = await makeUser(t)
    const rows: SeedRow[] = models.map((model, i) => ({
      userId: user.userId, profileId: user.profileId, chat: 'debrief', model,
      inputTokens: 1_000 + i, outputTokens: 50, succeeded: i % 4 !== 0, createdAt: day + i * 1_000,
    }))
    await insertOldRows(t, rows)
    return { t, user }
  }
  const range = { from: day, to: day + DAY_MS, granularity: 'day' as const }

  test('prices the old rows and builds the report; running it again counts nothing twice', async () => {
    const { t } = await withOldRows(Array(1_234).fill(HAIKU_4_5))
    expect(await runBackfill(t)).toEqual({ runId: 1, resumed: false })
    const rows = await allUsageRows(t)
    for (const row of rows) expect(row.costMicroUsd).toBe(expectedCost(HAIKU_4_5, row.inputTokens, row.outputTokens))
    const first = await t.query(internal.admin.usageReportInternal, range)
    expect(first).toEqual(directReport(rows, range.from, range.to, 'day'))
    expect(first.totals.calls).toBe(1_234)
    expect(await t.query(internal.admin.backfillUsageReportStatus, {})).toEqual({
      runId: 1, status: 'done', rowsSeen: 1_234, rowsCounted: 1_234,
    })

    expect(await runBackfill(t)).toEqual({ runId: 2, resumed: false })
    expect(await runBackfill(t, { fromStart: true })).toEqual({ runId: 3, resumed: false })
    expect(await t.query(internal.admin.usageReportInternal, range)).toEqual(first)
    expect(await t.query(internal.admin.backfillUsageReportStatus, {})).toMatchObject({ status: 'done', rowsCounted: 0 })
  })

  test('a row of a model with no price stops it, naming MODEL_PRICES; with the price set it resumes where it stopped', async () => {
    const models = Array(1_200).fill(HAIKU_4_5)
    models[700] = 'claude-retired-1'
    const { t } = await withOldRows(models)
    await runBackfill(t)
    const stopped = await t.query(internal.admin.backfillUsageReportStatus, {})
    expect(stopped).toEqual({
      runId: 1, status: 'stopped', rowsSeen: 500, rowsCounted: 500,
      note: 'Stopped: model "claude-retired-1" has no price: add it to MODEL_PRICES, then run admin:backfillUsageReport again to resume.',
    })
    expect(loggedErrors()).toContain('claude-retired-1')
    expect((await t.query(internal.admin.usageReportInternal, range)).totals.calls).toBe(500)

    process.env.MODEL_PRICES = '{ "claude-retired-1": { "inputPerMTok": 7, "outputPerMTok": 9 } }'
    expect(await runBackfill(t)).toEqual({ runId: 2, resumed: true })
    const rows = await allUsageRows(t)
    expect(rows[700].costMicroUsd).toBe(7 * 1_700 + 9 * 50)
    expect(await t.query(internal.admin.usageReportInternal, range)).toEqual(directReport(rows, range.from, range.to, 'day'))
    expect(await t.query(internal.admin.backfillUsageReportStatus, {})).toEqual({
      runId: 2, status: 'done', rowsSeen: 1_200, rowsCounted: 1_200,
    })
  })

  test('started twice while running: the older chain stops, and each row is counted once', async () => {
    const { t } = await withOldRows(Array(1_600).fill(HAIKU_4_5))
    await t.mutation(internal.admin.backfillUsageReport, {})
    vi.runOnlyPendingTimers()
    await t.finishInProgressScheduledFunctions() // the first run did one batch
    await t.mutation(internal.admin.backfillUsageReport, {}) // resumes as run 2; run 1's next batch finds itself replaced
    await t.finishAllScheduledFunctions(vi.runAllTimers, 100)
    const rows = await allUsageRows(t)
    const report = await t.query(internal.admin.usageReportInternal, range)
    expect(report.totals.calls).toBe(1_600)
    expect(report).toEqual(directReport(rows, range.from, range.to, 'day'))
  })
})

describe('deleting an account keeps the totals', () => {
  test('forgetUserInUsageReport: the rows go, counted if they were not yet; the spending stays under no name', async () => {
    vi.useFakeTimers()
    const t = setupBackend()
    const leaving = await makeUser(t)
    const staying = await makeUser(t)
    await t.run(async (ctx) => ctx.db.patch('users', leaving.userId, { email: 'leaving@example.org' }))
    const days = ['2026-11-21', '2026-11-22', '2026-11-23']
    for (const [d, isoDay] of days.entries()) {
      for (const user of [leaving, staying]) {
        vi.setSystemTime(utcMidnight(isoDay) + 3_600_000)
        await t.run(async (ctx) =>
          recordModelUsage(ctx, {
            userId: user.userId, profileId: user.profileId, chat: 'general',
            usage: { inputTokens: user === leaving ? 5_000 : 1_000, outputTokens: 100 * (d + 1) }, succeeded: true,
          }),
        )
      }
    }
    // And rows from before prices existed, which the report has not counted yet.
    await insertOldRows(t, [0, 1].map((i) => ({
      userId: leaving.userId, profileId: leaving.profileId, chat: 'debrief', model: HAIKU_4_5,
      inputTokens: 2_000, outputTokens: 10 * i, succeeded: true, createdAt: utcMidnight('2026-11-22') + i,
    })))
    const allRows = await allUsageRows(t)
    const range = { from: utcMidnight('2026-11-21'), to: utcMidnight('2026-11-24'), granularity: 'day' as const }
    const counted = allRows.map((row) => ({ ...row, costMicroUsd: row.costMicroUsd ?? expectedCost(row.model, row.inputTokens, row.outputTokens) }))
    const expected = directReport(counted, range.from, range.to, 'day')

    const passes: boolean[] = []
    for (;;) {
      const { more } = await t.run(async (ctx) => forgetUserInUsageReport(ctx, leaving.userId, 2))
      passes.push(more)
      if (!more) break
    }
    // 5 rows and 3 day documents, 2 at a time.
    expect(passes).toEqual([true, true, true, false])

    const remaining = await allUsageRows(t)
    expect(remaining.every((row) => row.userId === staying.userId)).toBe(true)
    const named = await t.run(async (ctx) =>
      ctx.db.query('usageReportUserDays').withIndex('by_user_day', (q) => q.eq('userId', leaving.userId)).collect(),
    )
    expect(named).toEqual([])
    expect(await t.query(internal.admin.usageReportInternal, range)).toEqual(expected)
    const top = await t.query(internal.admin.topUsersInternal, { day: '2026-11-22' })
    const leavingCost = counted
      .filter((row) => row.userId === leaving.userId && row.createdAt >= utcMidnight('2026-11-22') && row.createdAt < utcMidnight('2026-11-23'))
      .reduce((sum, row) => sum + row.costMicroUsd, 0)
    expect(top[0]).toEqual({ userId: null, email: null, calls: 3, costUsd: leavingCost / 1e6 })
    expect(top[1]).toMatchObject({ userId: staying.userId, calls: 1 })
    expect(JSON.stringify(top)).not.toContain(leaving.userId)
  })
})

describe('at 50,000 usage rows over 90 days from 1,000 users, with transaction limits enforced', () => {
  const LAST_DAY = utcMidnight('2026-11-23')
  const FIRST_DAY = LAST_DAY - 89 * DAY_MS
  const MODELS = [HAIKU_4_5, 'claude-haiku-5-5', 'claude-sonnet-5-5']
  const CHATS = ['general', 'debrief', 'extraction'] as const
  const LIVE_ROWS = 100

  test('daily, weekly and monthly reports and each day\'s top users equal direct sums over the rows', async () => {
    vi.useFakeTimers()
    vi.setSystemTime(LAST_DAY + 12 * 3_600_000)
    const t = setupBackend(undefined, CONVEX_TRANSACTION_LIMITS)
    const users = await t.run(async (ctx) => {
      const made: { userId: Id<'users'>; profileId: Id<'profiles'> }[] = []
      for (let i = 0; i < 1_000; i++) {
        const userId = await ctx.db.insert('users', { email: `user${i}@example.org` })
        made.push({ userId, profileId: await ctx.db.insert('profiles', { userId, createdAt: 1, updatedAt: 1 }) })
      }
      return made
    })

    // Each user has two sessions of 25 calls on two of the 90 days; about one call in 20 fails,
    // and a few Haiku 5.5 prompts pass 100,000 tokens.
    const old: SeedRow[] = []
    for (let u = 0; u < 1_000; u++) {
      const sessionDays = [(u * 7) % 90, (u * 13 + 5) % 90]
      if (sessionDays[1] === sessionDays[0]) sessionDays[1] = (sessionDays[0] + 1) % 90
      for (const [s, dayIndex] of sessionDays.entries()) {
        for (let c = 0; c < 25; c++) {
          const n = u * 50 + s * 25 + c
          const model = MODELS[n % 3]
          old.push({
            ...users[u],
            chat: CHATS[(n >> 2) % 3],
            model,
            inputTokens: model === 'claude-haiku-5-5' && n % 97 === 0 ? 120_000 + n : 500 + ((n * 7919) % 20_000),
            outputTokens: 20 + ((n * 104_729) % 700),
            succeeded: n % 20 !== 7,
            createdAt: FIRST_DAY + dayIndex * DAY_MS + ((u * 86_413 + c * 60_000) % (DAY_MS - 2 * 3_600_000)),
          })
        }
      }
    }
    old.sort((a, b) => a.createdAt - b.createdAt) // a table fills in time order
    await insertOldRows(t, old.slice(0, 50_000 - LIVE_ROWS))

    // The backfill runs; while it does, live calls are priced and counted as they are written.
    await t.mutation(internal.admin.backfillUsageReport, {})
    for (let i = 0; i < LIVE_ROWS; i++) {
      if (i % 10 === 0) {
        vi.runOnlyPendingTimers()
        await t.finishInProgressScheduledFunctions()
      }
      const user = users[(i * 37) % 1_000]
      vi.setSystemTime(LAST_DAY + 12 * 3_600_000 + i * 1_000)
      await t.run(async (ctx) =>
        recordModelUsage(ctx, {
          ...user, chat: CHATS[i % 3], usage: { inputTokens: 3_000 + i, outputTokens: 200 }, succeeded: i % 10 !== 0,
        }),
      )
    }
    await t.finishAllScheduledFunctions(vi.runAllTimers, 1_000)

    const rows = await allUsageRows(t)
    expect(rows).toHaveLength(50_000)
    expect(new Set(rows.map((row) => row.userId)).size).toBe(1_000)
    for (const row of rows) expect(row.costMicroUsd).toBe(expectedCost(row.model, row.inputTokens, row.outputTokens))
    expect(await t.query(internal.admin.backfillUsageReportStatus, {})).toMatchObject({
      status: 'done', rowsSeen: 50_000, rowsCounted: 50_000 - LIVE_ROWS,
    })

    const operator = await signInOperator(t)
    const range = { from: FIRST_DAY, to: LAST_DAY + DAY_MS }
    for (const granularity of ['day', 'week', 'month'] as const) {
      const report = await operator.query(api.admin.usageReport, { ...range, granularity })
      expect(report, granularity).toEqual(directReport(rows, range.from, range.to, granularity))
      expect(report.totals.calls).toBe(50_000)
    }
    expect((await operator.query(api.admin.usageReport, { ...range, granularity: 'day' })).buckets).toHaveLength(90)

    const spent = new Map<string, { calls: number; cost: number }>()
    for (const row of rows) {
      const key = `${row.createdAt - (row.createdAt % DAY_MS)}:${row.userId}`
      const entry = spent.get(key) ?? { calls: 0, cost: 0 }
      spent.set(key, { calls: entry.calls + 1, cost: entry.cost + row.costMicroUsd! })
    }
    const emails = new Map(users.map((user, i) => [user.userId as string, `user${i}@example.org`]))
    for (let d = 0; d < 90; d++) {
      const dayStart = FIRST_DAY + d * DAY_MS
      const top = await operator.query(api.admin.topUsers, { day: new Date(dayStart).toISOString().slice(0, 10) })
      const expectedCosts = [...spent.entries()]
        .filter(([key]) => key.startsWith(`${dayStart}:`))
        .map(([, entry]) => entry.cost)
        .sort((a, b) => b - a)
        .slice(0, 10)
      expect(top.map((entry) => entry.costUsd * 1e6).map(Math.round)).toEqual(expectedCosts)
      for (const entry of top) {
        const direct = spent.get(`${dayStart}:${entry.userId}`)!
        expect(entry).toEqual({ userId: entry.userId, email: emails.get(entry.userId!), calls: direct.calls, costUsd: direct.cost / 1e6 })
      }
    }
  }, 600_000)
})
