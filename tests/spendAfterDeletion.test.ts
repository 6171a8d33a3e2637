// A model call under way when its account is deleted is still counted: in the daily ceilings
// and in the operator's report (under a deleted account, userId null), while nothing of the
// deleted user (no reply, no profile, no usage row naming them) comes back.
import { afterEach, describe, expect, test, vi } from 'vitest'
import { api, internal } from '../convex/_generated/api'
import type { Id } from '../convex/_generated/dataModel'
import { spentToday } from '../convex/lib/spending/ceilings'
import { DAY_MS, utcDay } from '../convex/lib/report/rollups'
import {
  type Backend,
  convexErrorOf,
  makeAction,
  makeUser,
  openChat,
  seedMessages,
  setupBackend,
  useModelServer,
} from './support/backend'
import type { RecordedRequest } from './support/modelServer'
import { captureConsole } from './support/consoleLog'

const server = useModelServer()

afterEach(() => {
  vi.useRealTimers()
})

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const TOOL = 'save_profile_updates'

/** A gate the model server waits on before it answers. */
function gate() {
  let open!: () => void
  const until = new Promise<void>((resolve) => (open = resolve))
  return { until, open }
}

async function untilRequests(count: number) {
  for (let i = 0; i < 500 && server().requests.length < count; i++) await sleep(10)
  expect(server().requests).toHaveLength(count)
}

/** Asks for deletion and lets the scheduled batches run (real timers) until the job is gone. */
async function deleteAccount(t: Backend, as: ReturnType<Backend['withIdentity']>, userId: Id<'users'>) {
  expect(await as.mutation(api.account.deleteMyData, {})).toBeNull()
  for (let i = 0; i < 200; i++) {
    await t.finishAllScheduledFunctions(() => {})
    const left = await t.run(async (ctx) => ({
      jobs: (await ctx.db.query('accountDeletions').collect()).length,
      user: await ctx.db.get('users', userId),
    }))
    if (left.jobs === 0 && left.user === null) return
    await sleep(5)
  }
  throw new Error('the deletion did not finish')
}

/** The same input count the model server reports (it counts the request body). */
function inputTokensOf(request: RecordedRequest) {
  return Math.ceil(JSON.stringify(request.body).length / 4)
}

async function spentNow(t: Backend) {
  return await t.run(async (ctx) => ({
    tokens: await spentToday(ctx, 'modelTokensPerDay'),
    microUsd: await spentToday(ctx, 'modelMicroUsdPerDay'),
  }))
}

async function reportToday(t: Backend) {
  const from = utcDay(Date.now())
  const report = await t.query(internal.admin.usageReportInternal, { from, to: from + DAY_MS, granularity: 'day' })
  const top = await t.query(internal.admin.topUsersInternal, { day: new Date(from).toISOString().slice(0, 10) })
  return { totals: report.totals, top }
}

/** Every document that still points at the deleted user or their profile. */
async function leftOf(t: Backend, userId: Id<'users'>, profileId: Id<'profiles'>) {
  return await t.run(async (ctx) => ({
    profile: await ctx.db.get('profiles', profileId),
    messages: await ctx.db.query('enrichmentMessages').withIndex('by_profile', (q) => q.eq('profileId', profileId)).collect(),
    usageRows: await ctx.db.query('modelUsage').collect(),
    namedReportDays: await ctx.db.query('usageReportUserDays').withIndex('by_user_day', (q) => q.eq('userId', userId)).collect(),
  }))
}

const NOTHING_LEFT = { profile: null, messages: [], usageRows: [], namedReportDays: [] }

describe('a chat turn whose account is deleted while the model answers', () => {
  test('a finished reply: its tokens are in the ceilings and the report, and no reply comes back', async () => {
    const t = setupBackend()
    const c = await openChat(t, 'general')
    const held = gate()
    server().reply({ kind: 'held', until: held.until, then: { kind: 'text', text: 'One two three four five.' } })
    const turn = convexErrorOf(c.send('Hello coach'))
    await untilRequests(1)
    await deleteAccount(t, c.as, c.userId)
    held.open()
    expect(await turn).toBe('Not authenticated')

    const tokens = inputTokensOf(server().requests[0]) + 5
    expect((await spentNow(t)).tokens).toBe(tokens)
    expect((await spentNow(t)).microUsd).toBeGreaterThan(0)
    const { totals, top } = await reportToday(t)
    expect(totals).toMatchObject({ calls: 1, failedCalls: 0, inputTokens: tokens - 5, outputTokens: 5 })
    expect(top).toEqual([{ userId: null, email: null, calls: 1, costUsd: totals.costUsd }])
    expect(await leftOf(t, c.userId, c.profileId)).toEqual(NOTHING_LEFT)
  })

  test('a debrief reply in delta mode: the same, and no live chunk is left', async () => {
    const t = setupBackend()
    const c = await openChat(t, 'debrief')
    const held = gate()
    server().reply({ kind: 'held', until: held.until, then: { kind: 'text', text: 'Well done, tell me more.' } })
    const turn = convexErrorOf(c.send('I did it', { liveReply: 'deltas' }))
    await untilRequests(1)
    await deleteAccount(t, c.as, c.userId)
    held.open()
    expect(await turn).toBe('Not authenticated')

    const input = inputTokensOf(server().requests[0])
    expect((await spentNow(t)).tokens).toBe(input + 5)
    expect((await reportToday(t)).totals).toMatchObject({ calls: 1, failedCalls: 0, inputTokens: input, outputTokens: 5 })
    expect(await leftOf(t, c.userId, c.profileId)).toEqual(NOTHING_LEFT)
    expect(await t.run(async (ctx) => ctx.db.query('liveReplyChunks').collect())).toEqual([])
  })

  test('a failed call (a refusal after some text): counted as a failed call, nothing kept', async () => {
    const logged = captureConsole('warn')
    const t = setupBackend()
    const c = await openChat(t, 'general')
    const held = gate()
    server().reply({ kind: 'held', until: held.until, then: { kind: 'refusal', textBefore: 'I think that' } })
    const turn = convexErrorOf(c.send('Hello coach'))
    await untilRequests(1)
    await deleteAccount(t, c.as, c.userId)
    held.open()
    await turn

    const input = inputTokensOf(server().requests[0])
    expect((await spentNow(t)).tokens).toBe(input + 3)
    const { totals, top } = await reportToday(t)
    expect(totals).toMatchObject({ calls: 1, failedCalls: 1, inputTokens: input, outputTokens: 3 })
    expect(top).toEqual([{ userId: null, email: null, calls: 1, costUsd: totals.costUsd }])
    expect(await leftOf(t, c.userId, c.profileId)).toEqual(NOTHING_LEFT)
    expect(logged()).toEqual(['Model "claude-haiku-4-5-20251001" declined a request (stop_reason refusal, category none)'])
  })

  test("another user's calls the same day stay theirs; the deleted account's is counted apart", async () => {
    const t = setupBackend()
    const other = await openChat(t, 'general')
    server().reply({ kind: 'text', text: 'Hi there.' })
    await other.send('Hello')
    const c = await openChat(t, 'general')
    const held = gate()
    server().reply({ kind: 'held', until: held.until, then: { kind: 'text', text: 'One two three.' } })
    const turn = convexErrorOf(c.send('Hello coach'))
    await untilRequests(2)
    await deleteAccount(t, c.as, c.userId)
    held.open()
    await turn

    const tokens = server().requests.map(inputTokensOf).reduce((a, b) => a + b) + 2 + 3
    expect((await spentNow(t)).tokens).toBe(tokens)
    const { totals, top } = await reportToday(t)
    expect(totals).toMatchObject({ calls: 2, inputTokens: tokens - 5, outputTokens: 5 })
    expect(top.map((entry) => [entry.userId, entry.calls]).sort()).toEqual([[null, 1], [other.userId, 1]].sort())
    expect(await t.run(async (ctx) => ctx.db.query('modelUsage').collect())).toEqual([
      expect.objectContaining({ userId: other.userId, succeeded: true }),
    ])
  })
})

describe('an extraction whose account is deleted while the model answers', () => {
  test('its tokens are in the ceilings and the report; no profile and no result come back', async () => {
    const t = setupBackend()
    const { userId, as, profileId } = await makeUser(t, { name: 'Ada', skills: ['Python'] })
    const actionId = await makeAction(t, profileId, { status: 'done', completedAt: 5 })
    await seedMessages(t, profileId, [
      { role: 'user', content: 'I learned PyTorch.', actionId },
      { role: 'assistant', content: 'Great!', actionId },
    ])
    const held = gate()
    server().reply({
      kind: 'held',
      until: held.until,
      then: { kind: 'tool', name: TOOL, input: { skills_mentioned: ['PyTorch'], career_interests: [] } },
    })
    const extraction = convexErrorOf(
      as.action(api.enrichment.extraction.extractFromConversation, { profileId, actionId, messages: [] }),
    )
    await untilRequests(1)
    await deleteAccount(t, as, userId)
    held.open()
    expect(await extraction).toBe('Not authenticated')

    // The server counts a forced tool call as 20 output tokens.
    const input = inputTokensOf(server().requests[0])
    expect((await spentNow(t)).tokens).toBe(input + 20)
    const { totals, top } = await reportToday(t)
    expect(totals).toMatchObject({ calls: 1, failedCalls: 0, inputTokens: input, outputTokens: 20 })
    expect(top).toEqual([{ userId: null, email: null, calls: 1, costUsd: totals.costUsd }])
    expect(await leftOf(t, userId, profileId)).toEqual(NOTHING_LEFT)
    expect(await t.run(async (ctx) => ctx.db.query('careerActions').collect())).toEqual([])
  })

  test('a refused extraction is counted as a failed call', async () => {
    const logged = captureConsole('warn')
    const t = setupBackend()
    const { userId, as, profileId } = await makeUser(t, { name: 'Ada' })
    const held = gate()
    server().reply({ kind: 'held', until: held.until, then: { kind: 'refusal', textBefore: 'No' } })
    const extraction = convexErrorOf(
      as.action(api.enrichment.extraction.extractFromConversation, {
        profileId,
        messages: [{ role: 'user', content: 'I learned PyTorch.' }],
      }),
    )
    await untilRequests(1)
    await deleteAccount(t, as, userId)
    held.open()
    await extraction

    const input = inputTokensOf(server().requests[0])
    expect((await spentNow(t)).tokens).toBe(input + 1)
    expect((await reportToday(t)).totals).toMatchObject({ calls: 1, failedCalls: 1, inputTokens: input, outputTokens: 1 })
    expect(await leftOf(t, userId, profileId)).toEqual(NOTHING_LEFT)
    expect(logged()).toEqual(['Model "claude-haiku-4-5-20251001" declined a request (stop_reason refusal, category none)'])
  })
})

describe('a finish that lands while the deletion batches are still to run', () => {
  test('the reply is left for the deletion, the call is counted as a deleted account\'s, and nothing is left after', async () => {
    vi.useFakeTimers()
    const t = setupBackend()
    const c = await openChat(t, 'general')
    const replyId = await t.run(async (ctx) =>
      ctx.db.insert('enrichmentMessages', { profileId: c.profileId, role: 'assistant', content: 'Half', status: 'streaming', createdAt: Date.now() }),
    )
    expect(await c.as.mutation(api.account.deleteMyData, {})).toBeNull()
    // No batch has run: the reply and the profile are still stored, the account is closed.
    const settled = await t.mutation(internal.enrichment.turns.finishTurn, {
      replyId,
      caller: { userId: c.userId, profileId: c.profileId },
      content: 'Half a reply, finished.',
      usage: { inputTokens: 100, outputTokens: 20 },
    })
    expect(settled).toBe('accountClosed')
    expect(await t.run(async (ctx) => ctx.db.get('enrichmentMessages', replyId))).toMatchObject({ content: 'Half', status: 'streaming' })
    expect(await t.run(async (ctx) => ctx.db.query('modelUsage').collect())).toEqual([])

    await t.finishAllScheduledFunctions(vi.runAllTimers)
    expect(await t.run(async (ctx) => ctx.db.get('users', c.userId))).toBeNull()
    expect((await spentNow(t)).tokens).toBe(120)
    const { totals, top } = await reportToday(t)
    expect(totals).toMatchObject({ calls: 1, inputTokens: 100, outputTokens: 20 })
    expect(top).toEqual([{ userId: null, email: null, calls: 1, costUsd: totals.costUsd }])
    expect(await leftOf(t, c.userId, c.profileId)).toEqual(NOTHING_LEFT)
  })
})
