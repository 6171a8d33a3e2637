// Rate limits, model failures and retries, racing turns, stale replies, history bounds and
// usage rows: what a user sees when the assistant or the caller misbehaves.
import { RateLimiter } from '@convex-dev/rate-limiter'
import { ConvexError, type Value } from 'convex/values'
import { describe, expect, test } from 'vitest'
import { api, components } from '../convex/_generated/api'
import type { Id } from '../convex/_generated/dataModel'
import { MODEL_ERRORS } from '../convex/ai/claude'
import { HISTORY_LIMIT, MAX_DEBRIEF_USER_TURNS } from '../convex/enrichment/history'
import { REPLY_IN_PROGRESS } from '../convex/enrichment/turns'
import { RATE_LIMITS, type RateLimitedError } from '../convex/lib/rateLimits'
import type { ScriptedReply } from './support/modelServer'
import {
  type Chat,
  convexErrorOf,
  makeAction,
  modelUsageRows,
  openChat,
  setupBackend,
  snapshotTables,
  useModelServer,
} from './support/backend'

const server = useModelServer()

const CHATS: Chat[] = ['general', 'debrief']

/** One model request's messages alternate roles, start with a user turn. */
function expectAlternating(messages: { role: string }[]) {
  expect(messages[0]?.role).toBe('user')
  for (let i = 1; i < messages.length; i++) {
    expect(messages[i].role, `turn ${i} repeats the role of turn ${i - 1}`).not.toBe(messages[i - 1].role)
  }
}

const ok = (text: string): ScriptedReply => ({ kind: 'text', text })

describe('rate limits', () => {
  test('the 6th quick chat turn, general or debrief, is refused from the shared chatTurn bucket', async () => {
    expect(RATE_LIMITS.chatTurn.capacity).toBe(5)
    const t = setupBackend()
    const general = await openChat(t, 'general')
    const actionId = await makeAction(t, general.profileId, { status: 'done', completedAt: 5 })
    const debrief = (message: string) =>
      general.as.action(api.enrichment.conversation.sendCompletionMessage, {
        profileId: general.profileId,
        actionId,
        message,
      })

    for (let i = 0; i < 5; i++) server().reply(ok(`Reply ${i}`))
    await general.send('turn 0')
    await debrief('turn 1')
    await general.send('turn 2')
    await debrief('turn 3')
    await general.send('turn 4')
    expect(server().requests).toHaveLength(5)
    // Each turn wrote one usage row.
    const rows = await modelUsageRows(t)
    expect(rows).toHaveLength(5)
    expect(rows.every((row) => row.succeeded && row.userId === general.userId)).toBe(true)

    const before = await snapshotTables(t)
    for (const refused of [() => general.send('turn 5'), () => debrief('turn 5')]) {
      const data = await convexErrorOf<RateLimitedError>(refused())
      expect(data).toMatchObject({ code: 'RATE_LIMITED', limit: 'chatTurn' })
      expect(data.retryAfterMs).toBeGreaterThan(0)
      expect(typeof data.message).toBe('string')
      expect(data.message).toMatch(/too quickly/)
    }
    // No message saved, no usage row, no model request for the refused turns.
    expect(await snapshotTables(t)).toEqual(before)
    expect(server().requests).toHaveLength(5)
  })

  test('limits are per user: another user still chats after the first is refused', async () => {
    const t = setupBackend()
    const first = await openChat(t, 'general')
    const second = await openChat(t, 'general')
    for (let i = 0; i < 5; i++) server().reply(ok(`Reply ${i}`))
    for (let i = 0; i < 5; i++) await first.send(`message ${i}`)
    const data = await convexErrorOf<RateLimitedError>(first.send('one more'))
    expect(data).toMatchObject({ code: 'RATE_LIMITED', limit: 'chatTurn' })

    server().reply(ok('Hello second user'))
    const reply = await second.send('hi from the second user')
    expect(reply.message).toBe('Hello second user')
    expect((await second.stored()).map((m) => m.content)).toEqual(['hi from the second user', 'Hello second user'])
    expect(server().requests).toHaveLength(6)
  })

  test('the 4th quick extraction is refused from the extraction bucket, per user', async () => {
    expect(RATE_LIMITS.extraction.capacity).toBe(3)
    const t = setupBackend()
    const first = await openChat(t, 'general')
    const second = await openChat(t, 'general')
    const extract = (user: typeof first) =>
      user.as.action(api.enrichment.extraction.extractFromConversation, {
        profileId: user.profileId,
        messages: [
          { role: 'assistant', content: 'What do you work on?' },
          { role: 'user', content: 'I build evals in Python and PyTorch.' },
        ],
      })
    const tool: ScriptedReply = {
      kind: 'tool',
      name: 'save_profile_updates',
      input: { skills_mentioned: ['PyTorch'], career_interests: ['evals'] },
    }
    server().reply(tool, tool, tool)
    for (let i = 0; i < 3; i++) {
      expect(await extract(first)).toMatchObject({ skills_mentioned: ['Python', 'PyTorch'], career_interests: ['evals'] })
    }
    expect(server().requests).toHaveLength(3)

    const before = await snapshotTables(t)
    const data = await convexErrorOf<RateLimitedError>(extract(first))
    expect(data).toMatchObject({ code: 'RATE_LIMITED', limit: 'extraction' })
    expect(data.retryAfterMs).toBeGreaterThan(0)
    expect(data.message).toMatch(/too quickly/)
    expect(await snapshotTables(t)).toEqual(before)
    expect(server().requests).toHaveLength(3)

    server().reply(tool)
    expect(await extract(second)).toMatchObject({ skills_mentioned: ['Python', 'PyTorch'], career_interests: ['evals'] })
    // One usage row per extraction that ran.
    const rows = (await modelUsageRows(t)).filter((row) => row.chat === 'extraction')
    expect(rows).toHaveLength(4)
  })

  test('an exhausted daily cap refuses the turn and gives back the chatTurn token it took', async () => {
    const t = setupBackend()
    const chat = await openChat(t, 'general')
    const limiter = new RateLimiter(components.rateLimiter, RATE_LIMITS)
    await t.run(async (ctx) => {
      const status = await limiter.limit(ctx, 'modelCallsPerDay', {
        key: chat.userId,
        count: RATE_LIMITS.modelCallsPerDay.rate,
      })
      expect(status.ok).toBe(true)
    })
    const before = await snapshotTables(t)
    const data = await convexErrorOf<RateLimitedError>(chat.send('hello'))
    expect(data).toMatchObject({ code: 'RATE_LIMITED', limit: 'modelCallsPerDay' })
    expect(data.retryAfterMs).toBeGreaterThan(0)
    expect(data.message).toMatch(/daily limit/)
    expect(await snapshotTables(t)).toEqual(before)
    expect(server().requests).toHaveLength(0)
    // All or none: the chatTurn token taken before the refusal was rolled back.
    const chatTurn = await t.run(async (ctx) => limiter.getValue(ctx, 'chatTurn', { key: chat.userId }))
    expect(chatTurn.value).toBeGreaterThan(RATE_LIMITS.chatTurn.capacity - 0.01)
  })
})

type Failure = {
  name: string
  replies: ScriptedReply[]
  error: string
  /** Sets up the failure inside the test; returns what undoes it before the retry. */
  arrange?: () => () => void
}

const status = (code: number): ScriptedReply => ({ kind: 'status', status: code })

const FAILURES: Failure[] = [
  { name: '429 on every attempt', replies: [status(429), status(429), status(429)], error: MODEL_ERRORS.rateLimited },
  { name: '529 on every attempt', replies: [status(529), status(529), status(529)], error: MODEL_ERRORS.overloaded },
  { name: '500 on every attempt', replies: [status(500), status(500), status(500)], error: MODEL_ERRORS.serverError },
  {
    name: 'a connection error',
    replies: [],
    error: MODEL_ERRORS.unreachable,
    arrange: () => {
      const url = process.env.ANTHROPIC_BASE_URL
      process.env.ANTHROPIC_BASE_URL = 'http://127.0.0.1:1'
      return () => {
        process.env.ANTHROPIC_BASE_URL = url
      }
    },
  },
  {
    name: 'a hang past MODEL_DEADLINE_MS',
    replies: [{ kind: 'hang' }],
    error: MODEL_ERRORS.timeout,
    arrange: () => {
      process.env.MODEL_DEADLINE_MS = '300'
      return () => {}
    },
  },
  {
    name: 'an empty non-streamed reply',
    replies: [{ kind: 'content', content: [] }],
    error: MODEL_ERRORS.emptyReply,
    arrange: () => {
      process.env.CHAT_STREAMING = 'off'
      return () => {}
    },
  },
  {
    name: 'an empty streamed reply',
    replies: [{ kind: 'text', text: '', chunks: [] }],
    error: MODEL_ERRORS.emptyReply,
  },
  {
    name: 'a reply with no text block',
    replies: [{ kind: 'content', content: [{ type: 'tool_use', id: 't', name: 'x', input: {} }] }],
    error: MODEL_ERRORS.emptyReply,
    arrange: () => {
      process.env.CHAT_STREAMING = 'off'
      return () => {}
    },
  },
]

const EARLIER = [
  { role: 'user' as const, content: 'I studied physics.' },
  { role: 'assistant' as const, content: 'Great! What drew you to AI safety?' },
]

describe.each(CHATS)('model failures in the %s chat', (chat) => {
  test.each(FAILURES)('$name: a clear error, the message kept once, and sending it again continues', async (failure) => {
    const t = setupBackend()
    const c = await openChat(t, chat)
    await c.seed(EARLIER)
    const undo = failure.arrange?.() ?? (() => {})
    server().reply(...failure.replies)
    const text = 'I read the interpretability papers last month.'

    expect(await convexErrorOf(c.send(text))).toBe(failure.error)
    const afterFailure = await c.stored()
    expect(afterFailure.map(({ role, content, status }) => ({ role, content, status }))).toEqual([
      { ...EARLIER[0], status: undefined },
      { ...EARLIER[1], status: undefined },
      { role: 'user', content: text, status: undefined },
    ])
    expect((await modelUsageRows(t)).some((row) => row.succeeded)).toBe(false)

    undo()
    const requestsBefore = server().requests.length
    server().reply(ok('Which paper stuck with you most?'))
    const reply = await c.send(text)
    expect(reply.message).toBe('Which paper stuck with you most?')

    expect(server().requests).toHaveLength(requestsBefore + 1)
    const sent = server().requests.at(-1)!.body.messages
    expectAlternating(sent)
    expect(sent.at(-1)).toEqual({ role: 'user', content: text })
    expect(sent.filter((message) => message.content.includes(text))).toHaveLength(1)
    expect(sent).toEqual([...EARLIER, { role: 'user', content: text }])

    const afterRetry = await c.stored()
    expect(afterRetry.filter((message) => message.content === text)).toHaveLength(1)
    expect(afterRetry.map(({ role, content, status }) => ({ role, content, status }))).toEqual([
      { ...EARLIER[0], status: undefined },
      { ...EARLIER[1], status: undefined },
      { role: 'user', content: text, status: undefined },
      { role: 'assistant', content: 'Which paper stuck with you most?', status: undefined },
    ])
  })

  test('a different text after a failure: both are kept and sent as one user turn', async () => {
    const t = setupBackend()
    const c = await openChat(t, chat)
    await c.seed(EARLIER)
    server().reply(status(500), status(500), status(500))
    expect(await convexErrorOf(c.send('First try.'))).toBe(MODEL_ERRORS.serverError)

    server().reply(ok('Thanks for both.'))
    await c.send('Second, different try.')
    const sent = server().requests.at(-1)!.body.messages
    expectAlternating(sent)
    expect(sent).toEqual([...EARLIER, { role: 'user', content: 'First try.\n\nSecond, different try.' }])

    expect((await c.stored()).map(({ role, content }) => ({ role, content }))).toEqual([
      ...EARLIER,
      { role: 'user', content: 'First try.' },
      { role: 'user', content: 'Second, different try.' },
      { role: 'assistant', content: 'Thanks for both.' },
    ])
  })

  test('two turns at once: one answers, the other is refused as in progress', async () => {
    const t = setupBackend()
    const c = await openChat(t, chat)
    server().reply({ kind: 'text', text: 'Only one reply.', firstTokenDelayMs: 300 })
    const results = await Promise.allSettled([c.send('First message'), c.send('Second message')])

    const fulfilled = results.filter((result) => result.status === 'fulfilled')
    const rejected = results.filter((result) => result.status === 'rejected')
    expect(fulfilled).toHaveLength(1)
    expect(fulfilled[0].value.message).toBe('Only one reply.')
    expect(rejected).toHaveLength(1)
    expect(rejected[0].reason).toBeInstanceOf(ConvexError)
    expect((rejected[0].reason as ConvexError<Value>).data).toBe(REPLY_IN_PROGRESS)
    expect(server().requests).toHaveLength(1)

    const stored = await c.stored()
    expect(stored).toHaveLength(2)
    expect(stored.map((message) => message.role)).toEqual(['user', 'assistant'])
    expect(stored[1]).toMatchObject({ content: 'Only one reply.' })
    expect(stored[1].status).toBeUndefined()
    expect(server().requests[0].body.messages).toEqual([{ role: 'user', content: stored[0].content }])
  })

  test('a stale streaming reply does not block a new turn and is settled', async () => {
    const t = setupBackend()
    const c = await openChat(t, chat)
    await c.seed(EARLIER, 1_000)
    // A reply left 'streaming' long ago by a call that died, plus an empty one.
    await t.run(async (ctx) => {
      const link = c.actionId ? { actionId: c.actionId } : {}
      await ctx.db.insert('enrichmentMessages', {
        profileId: c.profileId, role: 'user', content: 'Lost question?', ...link, createdAt: 1_010,
      })
      await ctx.db.insert('enrichmentMessages', {
        profileId: c.profileId, role: 'assistant', content: 'Half a rep', status: 'streaming', ...link, createdAt: 1_011,
      })
      await ctx.db.insert('enrichmentMessages', {
        profileId: c.profileId, role: 'assistant', content: '', status: 'streaming', ...link, createdAt: 1_012,
      })
    })
    server().reply(ok('Back on track.'))
    const reply = await c.send('Are you there?')
    expect(reply.message).toBe('Back on track.')
    expect(server().requests[0].body.messages).toEqual([
      ...EARLIER,
      { role: 'user', content: 'Lost question?\n\nAre you there?' },
    ])
    expect((await c.stored()).map(({ role, content, status }) => ({ role, content, status }))).toEqual([
      { ...EARLIER[0], status: undefined },
      { ...EARLIER[1], status: undefined },
      { role: 'user', content: 'Lost question?', status: undefined },
      { role: 'assistant', content: 'Half a rep', status: 'failed' },
      { role: 'user', content: 'Are you there?', status: undefined },
      { role: 'assistant', content: 'Back on track.', status: undefined },
    ])
  })

  test('a whitespace-only message is refused and nothing is written', async () => {
    const t = setupBackend()
    const c = await openChat(t, chat)
    const before = await snapshotTables(t)
    expect(await convexErrorOf(c.send('  \n\t '))).toBe('Message cannot be empty')
    expect(await snapshotTables(t)).toEqual(before)
    expect(server().requests).toHaveLength(0)
  })

  test('a successful turn writes one modelUsage row', async () => {
    const t = setupBackend()
    const c = await openChat(t, chat)
    server().reply(ok('Tell me more about that.'))
    await c.send('I ran a reading group.')
    const rows = await modelUsageRows(t)
    expect(rows).toHaveLength(1)
    expect(rows[0]).toMatchObject({
      userId: c.userId,
      profileId: c.profileId,
      chat,
      succeeded: true,
    })
    expect(rows[0].actionId).toBe(c.actionId)
    expect(rows[0].inputTokens).toBeGreaterThan(0)
    expect(rows[0].outputTokens).toBeGreaterThan(0)
  })
})

function alternating(count: number, actionId?: Id<'careerActions'>) {
  return Array.from({ length: count }, (_, i) => ({
    role: i % 2 === 0 ? ('user' as const) : ('assistant' as const),
    content: `message ${i}`,
    ...(actionId && { actionId }),
  }))
}

describe('bounds', () => {
  test(`the debrief refuses the user message after ${MAX_DEBRIEF_USER_TURNS}`, async () => {
    const t = setupBackend()
    const c = await openChat(t, 'debrief')
    await c.seed(alternating(2 * MAX_DEBRIEF_USER_TURNS))
    const before = await snapshotTables(t)
    expect(await convexErrorOf(c.send('One more thing!'))).toBe(
      `This debrief has reached its limit of ${MAX_DEBRIEF_USER_TURNS} messages. You can update your profile from it now.`,
    )
    expect(await snapshotTables(t)).toEqual(before)
    expect(server().requests).toHaveLength(0)
  })

  test('a whole debrief one turn below the cap is sent whole', async () => {
    const t = setupBackend()
    const c = await openChat(t, 'debrief')
    const earlier = alternating(2 * (MAX_DEBRIEF_USER_TURNS - 1))
    await c.seed(earlier)
    server().reply(ok('Great — I have a good picture of what you accomplished!'))
    const reply = await c.send('The last thing I did.')
    expect(reply.shouldExtract).toBe(true)
    expect(server().requests[0].body.messages).toEqual([
      ...earlier,
      { role: 'user', content: 'The last thing I did.' },
    ])
  })

  test(`a long general chat sends at most HISTORY_LIMIT (${HISTORY_LIMIT}) turns, the newest, starting with a user turn`, async () => {
    const t = setupBackend()
    const c = await openChat(t, 'general')
    const earlier = alternating(100)
    await c.seed(earlier)
    server().reply(ok('Noted.'))
    await c.send('The newest message.')
    const sent = server().requests[0].body.messages
    const whole = [...earlier, { role: 'user' as const, content: 'The newest message.' }]
    expect(sent.length).toBeLessThanOrEqual(HISTORY_LIMIT)
    expect(sent.length).toBeGreaterThanOrEqual(HISTORY_LIMIT - 1)
    expect(sent[0].role).toBe('user')
    expectAlternating(sent)
    expect(sent).toEqual(whole.slice(-sent.length))
  })
})
