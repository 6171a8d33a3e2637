// Streamed replies: what the subscribed chat shows while a reply streams, what a broken stream
// leaves behind, that unfinished replies are never history, and the flusher that writes them.
import { afterEach, describe, expect, test, vi } from 'vitest'
import { api } from '../convex/_generated/api'
import { MODEL_ERRORS } from '../convex/ai/claude'
import { createReplyFlusher } from '../convex/enrichment/liveWriter'
import {
  makeAction,
  makeUser,
  messagesOf,
  seedMessages,
  setupBackend,
  convexErrorOf,
  openChat,
  useModelServer,
  type Backend,
} from './support/backend'
import { captureConsole } from './support/consoleLog'

const server = useModelServer()

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const openDebrief = (t: Backend) => openChat(t, 'debrief')

const FINAL = Array.from({ length: 20 }, (_, i) => `part${i} `).join('')
const CHUNKS = FINAL.match(/part\d+ /g)!

describe('a streamed reply', () => {
  test('the chat shows the reply growing while it streams, then the exact final text', async () => {
    const t = setupBackend()
    const c = await openDebrief(t)
    expect(CHUNKS).toHaveLength(20)
    server().reply({ kind: 'text', text: FINAL, chunks: CHUNKS, chunkIntervalMs: 40 })

    let settled = false
    const turn = c.send('I finished the replication!').finally(() => {
      settled = true
    })
    const seen: { content: string; status?: string }[] = []
    while (!settled) {
      const messages = await c.read()
      const reply = messages.find((message) => message.role === 'assistant')
      if (reply && !settled) seen.push({ content: reply.content, status: reply.status })
      await sleep(20)
    }
    const result = await turn
    expect(result.message).toBe(FINAL)

    const partial = seen.filter((s) => s.status === 'streaming' && s.content.length > 0)
    const distinct = [...new Set(partial.map((s) => s.content))]
    // Seen at least twice with different, growing text, each a strict prefix of the final reply.
    expect(distinct.length).toBeGreaterThanOrEqual(2)
    for (const content of distinct) {
      expect(FINAL.startsWith(content)).toBe(true)
      expect(content.length).toBeLessThan(FINAL.length)
    }
    for (let i = 1; i < partial.length; i++) {
      expect(partial[i].content.length).toBeGreaterThanOrEqual(partial[i - 1].content.length)
    }
    expect(server().requests[0].body.stream).toBe(true)

    const after = await c.read()
    expect(after).toHaveLength(2)
    expect(after[1].role).toBe('assistant')
    expect(after[1].content).toBe(result.message)
    expect(after[1].status).toBeUndefined()
    expect('status' in after[1]).toBe(false)
  })

  test('CHAT_STREAMING=off asks for no stream and stores the same final content', async () => {
    process.env.CHAT_STREAMING = 'off'
    const t = setupBackend()
    const c = await openDebrief(t)
    server().reply({ kind: 'text', text: FINAL, chunks: CHUNKS })
    const result = await c.send('Done!')
    expect(result.message).toBe(FINAL)
    expect(server().requests[0].body.stream ?? false).toBe(false)
    const after = await c.read()
    expect(after.map(({ role, content, status }) => ({ role, content, status }))).toEqual([
      { role: 'user', content: 'Done!', status: undefined },
      { role: 'assistant', content: FINAL, status: undefined },
    ])
  })
})

describe('unfinished replies are never history', () => {
  test.each(['general', 'debrief'] as const)('a failed and a stale streaming reply are left out of the %s request', async (chat) => {
    const t = setupBackend()
    const user = await makeUser(t, { name: 'Ada' })
    const actionId = chat === 'debrief' ? await makeAction(t, user.profileId, { status: 'done', completedAt: 5 }) : undefined
    const link = actionId ? { actionId } : {}
    await seedMessages(t, user.profileId, [
      { role: 'user', content: 'First question', ...link },
      { role: 'assistant', content: 'First answer', ...link },
      { role: 'user', content: 'Second question', ...link },
    ])
    await t.run(async (ctx) => {
      await ctx.db.insert('enrichmentMessages', {
        profileId: user.profileId, role: 'assistant', content: 'FAILED PARTIAL', status: 'failed', ...link, createdAt: 1_010,
      })
      await ctx.db.insert('enrichmentMessages', {
        profileId: user.profileId, role: 'assistant', content: 'STALE STREAMING PARTIAL', status: 'streaming', ...link, createdAt: 1_011,
      })
    })
    server().reply({ kind: 'text', text: 'Answer.' })
    await (actionId
      ? user.as.action(api.enrichment.conversation.sendCompletionMessage, { profileId: user.profileId, actionId, message: 'Third' })
      : user.as.action(api.enrichment.conversation.sendMessage, { profileId: user.profileId, message: 'Third' }))
    const sent = server().requests[0].body.messages
    expect(sent).toEqual([
      { role: 'user', content: 'First question' },
      { role: 'assistant', content: 'First answer' },
      { role: 'user', content: 'Second question\n\nThird' },
    ])
    expect(JSON.stringify(server().requests[0].body)).not.toMatch(/PARTIAL/)
  })

  test('a reply still streaming (fresh) refuses the next turn rather than being sent', async () => {
    const t = setupBackend()
    const c = await openDebrief(t)
    await t.run(async (ctx) => {
      await ctx.db.insert('enrichmentMessages', {
        profileId: c.profileId, role: 'user', content: 'Q', actionId: c.actionId, createdAt: Date.now() - 10,
      })
      await ctx.db.insert('enrichmentMessages', {
        profileId: c.profileId, role: 'assistant', content: 'STILL STREAMING', status: 'streaming', actionId: c.actionId, createdAt: Date.now(),
      })
    })
    const data = await convexErrorOf<string>(c.send('Next'))
    expect(data).toMatch(/still being written/)
    expect(server().requests).toHaveLength(0)
    expect((await c.read()).map((message) => message.content)).toEqual(['Q', 'STILL STREAMING'])
  })
})

describe('a stream that breaks part-way', () => {
  test.each([
    { ending: 'socket' as const, errors: [MODEL_ERRORS.interrupted] },
    { ending: 'errorEvent' as const, errors: [MODEL_ERRORS.overloaded] },
    { ending: 'cleanClose' as const, errors: [MODEL_ERRORS.interrupted] },
    { ending: 'hang' as const, errors: [MODEL_ERRORS.timeout] },
  ])('ending with $ending: the partial reply is kept marked failed and never sent again', async ({ ending, errors }) => {
    if (ending === 'hang') process.env.MODEL_DEADLINE_MS = '400'
    const t = setupBackend()
    const c = await openDebrief(t)
    const textBefore = 'Congratulations on finishing the replication, what'
    server().reply({ kind: 'brokenStream', textBefore, ending })

    const error = await convexErrorOf(c.send('I replicated the paper.'))
    expect(errors).toContain(error)

    const afterFailure = await c.read()
    expect(afterFailure.map(({ role, content, status }) => ({ role, content, status }))).toEqual([
      { role: 'user', content: 'I replicated the paper.', status: undefined },
      { role: 'assistant', content: textBefore, status: 'failed' },
    ])

    server().reply({ kind: 'text', text: 'What was hardest?' })
    const reply = await c.send('I replicated the paper.')
    expect(reply.message).toBe('What was hardest?')
    const next = server().requests.at(-1)!.body
    expect(next.messages).toEqual([{ role: 'user', content: 'I replicated the paper.' }])
    expect(JSON.stringify(next)).not.toContain('Congratulations')

    expect((await c.read()).map(({ role, content, status }) => ({ role, content, status }))).toEqual([
      { role: 'user', content: 'I replicated the paper.', status: undefined },
      { role: 'assistant', content: textBefore, status: 'failed' },
      { role: 'assistant', content: 'What was hardest?', status: undefined },
    ])
    expect((await messagesOf(t, c.profileId)).filter((m) => m.role === 'user')).toHaveLength(1)
  })
})

describe('createReplyFlusher', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  test('many pushes within an interval coalesce into few ordered writes ending with the latest text', async () => {
    vi.useFakeTimers()
    const writes: string[] = []
    const flusher = createReplyFlusher(async (content) => {
      writes.push(content)
    }, 100)
    let text = ''
    for (let i = 0; i < 100; i++) {
      text += `${i} `
      flusher.push(text)
      await vi.advanceTimersByTimeAsync(5)
    }
    // 100 pushes over 500ms at one write per 100ms.
    await vi.advanceTimersByTimeAsync(200)
    expect(writes.length).toBeGreaterThanOrEqual(2)
    expect(writes.length).toBeLessThanOrEqual(7)
    expect(writes[0]).toBe('0 ')
    expect(writes.at(-1)).toBe(text)
    for (let i = 1; i < writes.length; i++) {
      expect(writes[i].startsWith(writes[i - 1])).toBe(true)
      expect(writes[i].length).toBeGreaterThan(writes[i - 1].length)
    }
    await flusher.drain()
    expect(writes.at(-1)).toBe(text)
  })

  test('slow writes never overlap, stay in order, and nothing is written after drain()', async () => {
    const writes: string[] = []
    let running = 0
    let overlapped = false
    let release: (() => void) | undefined
    const flusher = createReplyFlusher(async (content) => {
      running++
      if (running > 1) overlapped = true
      await new Promise<void>((resolve) => {
        release = resolve
      })
      writes.push(content)
      running--
    }, 10)

    flusher.push('a')
    await sleep(5)
    // The first write is in flight; these pushes queue up behind it.
    flusher.push('ab')
    await sleep(30)
    flusher.push('abc')
    const drained = flusher.drain()
    let drainDone = false
    void drained.then(() => {
      drainDone = true
    })
    await sleep(20)
    // drain() waits for the write in flight.
    expect(drainDone).toBe(false)
    while (!drainDone) {
      release?.()
      await sleep(5)
    }
    expect(overlapped).toBe(false)
    expect(writes[0]).toBe('a')
    for (let i = 1; i < writes.length; i++) expect(writes[i].startsWith(writes[i - 1])).toBe(true)
    const count = writes.length

    flusher.push('abcd')
    await sleep(50)
    release?.()
    await sleep(10)
    expect(writes).toHaveLength(count)
    expect(writes).not.toContain('abcd')
  })

  test('a failing write does not stop later writes', async () => {
    vi.useFakeTimers()
    const warned = captureConsole('warn')
    const writes: string[] = []
    let fail = true
    const flusher = createReplyFlusher(async (content) => {
      if (fail) {
        fail = false
        throw new Error('write failed')
      }
      writes.push(content)
    }, 50)
    flusher.push('one')
    await vi.advanceTimersByTimeAsync(0)
    flusher.push('one two')
    await vi.advanceTimersByTimeAsync(100)
    expect(writes).toEqual(['one two'])
    await flusher.drain()
    expect(warned()).toEqual(['Reply flush failed Error: write failed'])
    vi.restoreAllMocks()
  })
})
