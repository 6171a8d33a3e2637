// Tokens the model never reported are still counted: a reply cut off mid-stream counts what
// did stream (estimated from the text), and a call that hits the deadline while the model has
// the request counts its input (estimated from the request). Estimates: one token per 4 bytes
// of UTF-8, times 1.3 on a model with the newer tokenizer, rounded up.
import { afterEach, describe, expect, test } from 'vitest'
import { api, internal } from '../convex/_generated/api'
import { MODEL_ERRORS } from '../convex/ai/claude'
import { spentToday } from '../convex/lib/spending/ceilings'
import { DAY_MS, utcDay } from '../convex/lib/report/rollups'
import {
  type Backend,
  convexErrorOf,
  makeUser,
  modelUsageRows,
  openChat,
  setupBackend,
  useModelServer,
} from './support/backend'
import type { RecordedRequest } from './support/modelServer'

const server = useModelServer()

afterEach(() => {
  delete process.env.MODEL_DEADLINE_MS
})

const bytes = (text: string) => new TextEncoder().encode(text).length
/** The estimate the docs state, written apart from the code: bytes / 4, x1.3 on the newer tokenizer. */
const estimate = (text: string, newerTokenizer = false) =>
  newerTokenizer ? Math.ceil(Math.ceil(bytes(text) / 4) * 1.3) : Math.ceil(bytes(text) / 4)

/** Eighty words, some of them outside ASCII, as a reply that is cut off would have streamed them. */
const EIGHTY_WORDS = Array.from({ length: 80 }, (_, i) => (i % 10 === 9 ? 'naïveté ' : `word${i} `)).join('')

async function counted(t: Backend) {
  const from = utcDay(Date.now())
  const report = await t.query(internal.admin.usageReportInternal, { from, to: from + DAY_MS, granularity: 'day' })
  const tokens = await t.run(async (ctx) => spentToday(ctx, 'modelTokensPerDay'))
  return { report: report.totals, tokens }
}

/** The input count the model server reports in message_start. */
const inputOf = (request: RecordedRequest) => Math.ceil(JSON.stringify(request.body).length / 4)

describe('a reply cut off mid-stream counts the output that did stream', () => {
  test.each(['socket', 'errorEvent', 'cleanClose'] as const)(
    'ending %s: the usage row, the ceiling and the report count the streamed text',
    async (ending) => {
      const t = setupBackend()
      const c = await openChat(t, 'general')
      server().reply({ kind: 'brokenStream', textBefore: EIGHTY_WORDS, ending })
      await convexErrorOf(c.send('Tell me about evals.'))
      const output = estimate(EIGHTY_WORDS)
      expect(output).toBeGreaterThan(80)
      const input = inputOf(server().requests[0])
      expect(await modelUsageRows(t)).toEqual([
        expect.objectContaining({ succeeded: false, inputTokens: input, outputTokens: output }),
      ])
      expect(await counted(t)).toEqual({
        report: expect.objectContaining({ calls: 1, failedCalls: 1, inputTokens: input, outputTokens: output }),
        tokens: input + output,
      })
      // What streamed is kept as the failed reply, as before.
      expect((await c.stored()).at(-1)).toMatchObject({ content: EIGHTY_WORDS, status: 'failed' })
    },
  )

  test('a stream that stalls mid-reply until the deadline counts the streamed text too', async () => {
    process.env.MODEL_DEADLINE_MS = '300'
    const t = setupBackend()
    const c = await openChat(t, 'debrief')
    server().reply({ kind: 'brokenStream', textBefore: EIGHTY_WORDS, ending: 'hang' })
    expect(await convexErrorOf(c.send('Done!', { liveReply: 'deltas' }))).toBe(MODEL_ERRORS.timeout)
    expect(await modelUsageRows(t)).toEqual([
      expect.objectContaining({ chat: 'debrief', succeeded: false, outputTokens: estimate(EIGHTY_WORDS) }),
    ])
  })

  test('on a model with the newer tokenizer the estimate is 1.3 times larger', async () => {
    process.env.MODEL_CHAT = 'claude-haiku-5-5'
    const t = setupBackend()
    const c = await openChat(t, 'general')
    server().reply({ kind: 'brokenStream', textBefore: EIGHTY_WORDS, ending: 'socket' })
    await convexErrorOf(c.send('Tell me about evals.'))
    expect(await modelUsageRows(t)).toEqual([
      expect.objectContaining({ model: 'claude-haiku-5-5', outputTokens: estimate(EIGHTY_WORDS, true) }),
    ])
  })

  test('a reply whose final count did arrive keeps the model\'s count, not an estimate', async () => {
    const t = setupBackend()
    const c = await openChat(t, 'general')
    server().reply({ kind: 'text', text: EIGHTY_WORDS })
    await c.send('Tell me about evals.')
    // The server counts one token per word.
    expect(await modelUsageRows(t)).toEqual([expect.objectContaining({ succeeded: true, outputTokens: 80 })])
  })
})

describe('a call that hits the deadline while the model has the request counts its input', () => {
  test('an extraction: one failed usage row with the input estimated from the request, in the ceiling and the report', async () => {
    process.env.MODEL_DEADLINE_MS = '300'
    const t = setupBackend()
    const { as, userId, profileId } = await makeUser(t, { name: 'Ada', skills: ['Python'] })
    server().reply({ kind: 'hang' })
    const error = await convexErrorOf(
      as.action(api.enrichment.extraction.extractFromConversation, {
        profileId,
        messages: [{ role: 'user', content: 'I learned PyTorch and wrote an eval in Rust.' }],
      }),
    )
    expect(error).toBe(MODEL_ERRORS.timeout)
    expect(server().requests).toHaveLength(1)
    const input = estimate(JSON.stringify(server().requests[0].body))
    expect(await modelUsageRows(t)).toEqual([
      expect.objectContaining({ userId, profileId, chat: 'extraction', succeeded: false, inputTokens: input, outputTokens: 0 }),
    ])
    expect(await counted(t)).toEqual({
      report: expect.objectContaining({ calls: 1, failedCalls: 1, inputTokens: input, outputTokens: 0 }),
      tokens: input,
    })
  })

  test('a chat reply that never starts: the same', async () => {
    process.env.MODEL_DEADLINE_MS = '300'
    const t = setupBackend()
    const c = await openChat(t, 'general')
    server().reply({ kind: 'hang' })
    expect(await convexErrorOf(c.send('Hello'))).toBe(MODEL_ERRORS.timeout)
    expect(await modelUsageRows(t)).toEqual([
      expect.objectContaining({ succeeded: false, inputTokens: estimate(JSON.stringify(server().requests[0].body)), outputTokens: 0 }),
    ])
  })

  test('refused before the model had it (a 429 on every attempt): nothing is counted', async () => {
    const t = setupBackend()
    const { as, profileId } = await makeUser(t)
    server().reply(...Array.from({ length: 3 }, () => ({ kind: 'status' as const, status: 429 })))
    expect(
      await convexErrorOf(
        as.action(api.enrichment.extraction.extractFromConversation, { profileId, messages: [{ role: 'user', content: 'Hi' }] }),
      ),
    ).toBe(MODEL_ERRORS.rateLimited)
    expect(await modelUsageRows(t)).toEqual([])
    expect((await counted(t)).tokens).toBe(0)
  })
})
