// The deployment's daily token budget and the per-user cap over any 24 hours: what a caller
// sees when the app as a whole, or one user, has spent its allowance.
import { RateLimiter } from '@convex-dev/rate-limiter'
import { afterEach, describe, expect, test, vi } from 'vitest'
import { api, components } from '../convex/_generated/api'
import {
  DEFAULT_MODEL_DAILY_BUDGET_USD,
  DEFAULT_MODEL_DAILY_TOKEN_BUDGET,
  modelDailyBudgetMicroUsd,
  recordModelSpend,
  spentToday,
  type BudgetExhaustedError,
} from '../convex/lib/spending/ceilings'
import { MODEL_CALLS_PER_24H, RATE_LIMITS, type RateLimitedError } from '../convex/lib/rateLimits'
import {
  type Backend,
  convexErrorOf,
  makeAction,
  makeUser,
  modelUsageRows,
  openChat,
  setupBackend,
  snapshotTables,
  useModelServer,
} from './support/backend'
import { captureConsole } from './support/consoleLog'

const server = useModelServer()

const DAY = 24 * 60 * 60 * 1000
const TOOL = 'save_profile_updates'

afterEach(() => {
  delete process.env.MODEL_DAILY_TOKEN_BUDGET
  delete process.env.MODEL_DAILY_BUDGET_USD
  vi.useRealTimers()
})

async function spent(t: Backend) {
  return await t.run(async (ctx) => spentToday(ctx, 'modelTokensPerDay'))
}

/** Counts `tokens` as if calls had already spent them today. */
async function spend(t: Backend, tokens: number) {
  await t.run(async (ctx) => recordModelSpend(ctx, { inputTokens: tokens, outputTokens: 0 }, undefined))
}

/** A user with a general chat, a done action to debrief, and the three calls that reach the model. */
async function userWithEveryCall(t: Backend) {
  const chat = await openChat(t, 'general')
  const actionId = await makeAction(t, chat.profileId, { status: 'done', completedAt: 5 })
  return {
    ...chat,
    general: () => chat.send('Hello coach'),
    debrief: () =>
      chat.as.action(api.enrichment.conversation.sendCompletionMessage, {
        profileId: chat.profileId,
        actionId,
        message: 'I finished it',
      }),
    extraction: () =>
      chat.as.action(api.enrichment.extraction.extractFromConversation, {
        profileId: chat.profileId,
        messages: [{ role: 'user', content: 'I know PyTorch.' }],
      }),
  }
}

const CALLS = ['general', 'debrief', 'extraction'] as const

describe('the deployment-wide daily token budget', () => {
  test('the tokens the model reports, input plus output, are counted for every call', async () => {
    const t = setupBackend()
    const user = await userWithEveryCall(t)
    server().reply({ kind: 'text', text: 'Hi there, tell me more.' })
    await user.general()
    server().reply({ kind: 'text', text: 'Congratulations!' })
    await user.debrief()
    server().reply({ kind: 'tool', name: TOOL, input: { skills_mentioned: ['PyTorch'], career_interests: [] } })
    await user.extraction()

    const rows = await modelUsageRows(t)
    expect(rows).toHaveLength(3)
    const reported = rows.reduce((sum, row) => sum + row.inputTokens + row.outputTokens, 0)
    expect(rows.every((row) => row.inputTokens > 0 && row.outputTokens > 0)).toBe(true)
    expect(await spent(t)).toBe(reported)
  })

  test.each(CALLS)('%s: once today is spent, the call is refused before anything is stored or sent', async (call) => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(Date.UTC(2026, 2, 10, 18, 30))
    process.env.MODEL_DAILY_TOKEN_BUDGET = '1000'
    const t = setupBackend()
    const user = await userWithEveryCall(t)
    await spend(t, 1000)

    const before = await snapshotTables(t)
    const data = await convexErrorOf<BudgetExhaustedError>(user[call]())
    expect(data).toEqual({
      code: 'BUDGET_EXHAUSTED',
      limit: 'modelTokensPerDay',
      // 18:30 UTC: the budget starts again at midnight UTC, 5 h 30 min later.
      retryAfterMs: 5.5 * 60 * 60 * 1000,
      message:
        'The assistant has reached its usage limit for today across the whole app, so it cannot ' +
        'answer right now. Please try again in 6 hours.',
    })
    expect(await snapshotTables(t)).toEqual(before)
    expect(server().requests).toHaveLength(0)
  })

  test('a call that starts under the budget is answered and counted in full; the next one is refused', async () => {
    process.env.MODEL_DAILY_TOKEN_BUDGET = '1000'
    const t = setupBackend()
    const user = await userWithEveryCall(t)
    await spend(t, 999)

    server().reply({ kind: 'text', text: 'Answered, though it overshoots the budget.' })
    expect((await user.general()).message).toBe('Answered, though it overshoots the budget.')
    const [row] = await modelUsageRows(t)
    expect(await spent(t)).toBe(999 + row.inputTokens + row.outputTokens)
    expect(await spent(t)).toBeGreaterThan(1000)

    const data = await convexErrorOf<BudgetExhaustedError>(user.debrief())
    expect(data.code).toBe('BUDGET_EXHAUSTED')
    expect(server().requests).toHaveLength(1)
  })

  test('a failed call counts what the model reported before it broke', async () => {
    const t = setupBackend()
    const user = await userWithEveryCall(t)
    server().reply({ kind: 'brokenStream', textBefore: 'Half a reply', ending: 'socket' })
    await convexErrorOf(user.general())
    const rows = await modelUsageRows(t)
    expect(rows).toMatchObject([{ succeeded: false }])
    expect(await spent(t)).toBe(rows[0].inputTokens + rows[0].outputTokens)
  })

  test('the next UTC day starts again at zero', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(Date.UTC(2026, 2, 10, 23, 59, 59))
    process.env.MODEL_DAILY_TOKEN_BUDGET = '1000'
    const t = setupBackend()
    const user = await userWithEveryCall(t)
    await spend(t, 5000)
    const data = await convexErrorOf<BudgetExhaustedError>(user.general())
    expect(data.retryAfterMs).toBe(1000)
    expect(data.message).toMatch(/try again in 1 second\.$/)

    vi.setSystemTime(Date.UTC(2026, 2, 11, 0, 0, 0))
    expect(await spent(t)).toBe(0)
    server().reply({ kind: 'text', text: 'Good morning.' })
    expect((await user.general()).message).toBe('Good morning.')
  })

  test('MODEL_DAILY_TOKEN_BUDGET is read at each call: raising it lets calls through at once', async () => {
    process.env.MODEL_DAILY_TOKEN_BUDGET = '1000'
    const t = setupBackend()
    const user = await userWithEveryCall(t)
    await spend(t, 1000)
    expect((await convexErrorOf<BudgetExhaustedError>(user.general())).code).toBe('BUDGET_EXHAUSTED')
    process.env.MODEL_DAILY_TOKEN_BUDGET = '2000'
    server().reply({ kind: 'text', text: 'Back again.' })
    expect((await user.general()).message).toBe('Back again.')
  })

  test('0 stops every model call', async () => {
    process.env.MODEL_DAILY_TOKEN_BUDGET = '0'
    const t = setupBackend()
    const user = await userWithEveryCall(t)
    for (const call of CALLS) {
      expect((await convexErrorOf<BudgetExhaustedError>(user[call]())).code).toBe('BUDGET_EXHAUSTED')
    }
    expect(server().requests).toHaveLength(0)
  })

  test.each([undefined, '', 'lots', '-5'])('MODEL_DAILY_TOKEN_BUDGET=%s means the default of 5,000,000', async (value) => {
    expect(DEFAULT_MODEL_DAILY_TOKEN_BUDGET).toBe(5_000_000)
    const logged = captureConsole('error')
    if (value !== undefined) process.env.MODEL_DAILY_TOKEN_BUDGET = value
    const t = setupBackend()
    const user = await userWithEveryCall(t)
    await spend(t, DEFAULT_MODEL_DAILY_TOKEN_BUDGET - 1)
    server().reply({ kind: 'text', text: 'One more.' })
    expect((await user.general()).message).toBe('One more.')
    expect((await convexErrorOf<BudgetExhaustedError>(user.debrief())).code).toBe('BUDGET_EXHAUSTED')
    // A typo is told to the operator at each call it is read; unset or blank is silent.
    const typo = `MODEL_DAILY_TOKEN_BUDGET is "${value}", not a number of 0 or more; using the default, 5000000.`
    expect(logged()).toEqual(value ? [typo, typo] : [])
  })

  test('every user shares the one budget', async () => {
    process.env.MODEL_DAILY_TOKEN_BUDGET = '1'
    const t = setupBackend()
    const first = await makeUser(t, { name: 'Ada' })
    const second = await makeUser(t, { name: 'Grace' })
    server().reply({ kind: 'text', text: 'Hello Ada.' })
    await first.as.action(api.enrichment.conversation.sendMessage, { profileId: first.profileId, message: 'Hi' })
    const data = await convexErrorOf<BudgetExhaustedError>(
      second.as.action(api.enrichment.conversation.sendMessage, { profileId: second.profileId, message: 'Hi' }),
    )
    expect(data.code).toBe('BUDGET_EXHAUSTED')
  })
})

describe('the per-user cap on model calls', () => {
  test(`no 24 hours hold more than ${MODEL_CALLS_PER_24H} calls of one user, however they are timed`, async () => {
    // A script that calls whenever it is allowed, for two days: every limit's retryAfterMs is
    // followed exactly, so this is the most a user can get.
    vi.useFakeTimers({ toFake: ['Date'] })
    const start = Date.UTC(2026, 2, 10, 9, 0, 0)
    vi.setSystemTime(start)
    process.env.MODEL_DAILY_TOKEN_BUDGET = String(10 ** 12)
    const t = setupBackend()
    const { as, profileId } = await makeUser(t, { name: 'Ada' })
    const answered: number[] = []
    let refusedByDailyCap = 0
    while (Date.now() < start + 2 * DAY) {
      server().reply({ kind: 'text', text: 'ok' })
      try {
        await as.action(api.enrichment.conversation.sendMessage, { profileId, message: `call ${answered.length}` })
        answered.push(Date.now())
        vi.setSystemTime(Date.now() + 1)
      } catch (error) {
        server().reset()
        const data = (error as { data: RateLimitedError }).data
        expect(data.code).toBe('RATE_LIMITED')
        if (data.limit === 'modelCallsPerDay') refusedByDailyCap += 1
        vi.setSystemTime(Date.now() + data.retryAfterMs)
      }
    }
    expect(refusedByDailyCap).toBeGreaterThan(0)
    let most = 0
    for (let first = 0; first < answered.length; first++) {
      let last = first
      while (last + 1 < answered.length && answered[last + 1] < answered[first] + DAY) last++
      most = Math.max(most, last - first + 1)
    }
    expect(most).toBeLessThanOrEqual(MODEL_CALLS_PER_24H)
    // The cap is also reachable: a full bucket and a day of refill.
    expect(most).toBeGreaterThanOrEqual(MODEL_CALLS_PER_24H - 1)
  }, 120_000)

  test('the refusal says when the next call is possible, in words', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(Date.UTC(2026, 2, 10, 9, 0, 0))
    const t = setupBackend()
    const user = await makeUser(t, { name: 'Ada' })
    // Drain the daily bucket directly, as a day of calls would.
    await t.run(async (ctx) => {
      const limiter = new RateLimiter(components.rateLimiter, RATE_LIMITS)
      await limiter.limit(ctx, 'modelCallsPerDay', { key: user.userId, count: RATE_LIMITS.modelCallsPerDay.capacity })
    })
    const data = await convexErrorOf<RateLimitedError>(
      user.as.action(api.enrichment.conversation.sendMessage, { profileId: user.profileId, message: 'Hi' }),
    )
    // One call comes back every 24 h / 100 = 14.4 minutes.
    expect(data).toEqual({
      code: 'RATE_LIMITED',
      limit: 'modelCallsPerDay',
      retryAfterMs: 864_000,
      message: 'You have reached the daily limit of assistant replies. Try again in 15 minutes.',
    })
  })
})

describe('the deployment-wide daily ceiling in dollars', () => {
  async function spentMicroUsd(t: Backend) {
    return await t.run(async (ctx) => spentToday(ctx, 'modelMicroUsdPerDay'))
  }

  test("every call's priced cost is counted, on each model's own prices", async () => {
    const t = setupBackend()
    const user = await userWithEveryCall(t)
    server().reply({ kind: 'text', text: 'Hi there, tell me more.' })
    await user.general()
    process.env.MODEL_CHAT = 'claude-haiku-5-5'
    server().reply({ kind: 'text', text: 'Congratulations!' })
    await user.debrief()
    server().reply({ kind: 'tool', name: TOOL, input: { skills_mentioned: ['PyTorch'], career_interests: [] } })
    await user.extraction()

    const rows = await modelUsageRows(t)
    expect(rows.map((row) => row.model)).toEqual(['claude-haiku-4-5-20251001', 'claude-haiku-5-5', 'claude-haiku-4-5-20251001'])
    // Haiku 4.5 at $1 / $5 per million tokens, Haiku 5.5 at $0.10 / $0.50.
    const expected = rows.map((row) =>
      Math.round(row.model === 'claude-haiku-5-5'
        ? row.inputTokens * 0.1 + row.outputTokens * 0.5
        : row.inputTokens * 1 + row.outputTokens * 5),
    )
    expect(rows.map((row) => row.costMicroUsd)).toEqual(expected)
    expect(await spentMicroUsd(t)).toBe(expected.reduce((sum, cost) => sum + cost, 0))
  })

  test.each(CALLS)('%s: once the day\'s dollars are spent, refused before anything is stored or sent, though tokens remain', async (call) => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(Date.UTC(2026, 2, 10, 23, 0))
    process.env.MODEL_DAILY_BUDGET_USD = '0.5'
    const t = setupBackend()
    const user = await userWithEveryCall(t)
    await t.run(async (ctx) => recordModelSpend(ctx, { inputTokens: 0, outputTokens: 0 }, 500_000))

    const before = await snapshotTables(t)
    const data = await convexErrorOf<BudgetExhaustedError>(user[call]())
    expect(data).toEqual({
      code: 'BUDGET_EXHAUSTED',
      limit: 'modelMicroUsdPerDay',
      retryAfterMs: 60 * 60 * 1000,
      message:
        'The assistant has reached its usage limit for today across the whole app, so it cannot ' +
        'answer right now. Please try again in 60 minutes.',
    })
    expect(await spent(t)).toBeLessThan(DEFAULT_MODEL_DAILY_TOKEN_BUDGET)
    expect(await snapshotTables(t)).toEqual(before)
    expect(server().requests).toHaveLength(0)
  })

  test('just under the dollar ceiling a call goes through; the next day starts again at zero', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(Date.UTC(2026, 2, 10, 12, 0))
    process.env.MODEL_DAILY_BUDGET_USD = '0.5'
    const t = setupBackend()
    const user = await userWithEveryCall(t)
    await t.run(async (ctx) => recordModelSpend(ctx, { inputTokens: 0, outputTokens: 0 }, 499_999))
    server().reply({ kind: 'text', text: 'Still here.' })
    expect(await user.general()).toMatchObject({ message: 'Still here.' })
    expect((await convexErrorOf<BudgetExhaustedError>(user.debrief())).limit).toBe('modelMicroUsdPerDay')

    vi.setSystemTime(Date.UTC(2026, 2, 11, 0, 0, 1))
    server().reply({ kind: 'text', text: 'A new day.' })
    expect(await user.debrief()).toMatchObject({ message: 'A new day.' })
  })

  test('unset means the default; a malformed value keeps the default and tells the operator', () => {
    expect(modelDailyBudgetMicroUsd()).toBe(DEFAULT_MODEL_DAILY_BUDGET_USD * 1e6)
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {})
    process.env.MODEL_DAILY_BUDGET_USD = '$20'
    expect(modelDailyBudgetMicroUsd()).toBe(DEFAULT_MODEL_DAILY_BUDGET_USD * 1e6)
    expect(logged.mock.calls.flat().join(' ')).toContain('MODEL_DAILY_BUDGET_USD')
    process.env.MODEL_DAILY_BUDGET_USD = '12.5'
    expect(modelDailyBudgetMicroUsd()).toBe(12_500_000)
    logged.mockRestore()
  })
})
