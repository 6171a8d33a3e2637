// Live replies: liveReply 'deltas' (the reply's text streams into chunks read with
// getLiveReply while its message document stays as it was), 'document' (unchanged), the rule
// that a reply with no text yet is not listed, and the expiry job a finished turn cancels.
import { afterEach, describe, expect, test, vi } from 'vitest'
import { api, internal } from '../convex/_generated/api'
import type { Doc, Id } from '../convex/_generated/dataModel'
import { MODEL_ERRORS } from '../convex/ai/claude'
import { createChunkWriter } from '../convex/enrichment/liveWriter'
import { INVALID_CURSOR } from '../convex/enrichment/queries'
import { REPLY_IN_PROGRESS } from '../convex/enrichment/turns'
import { watchCommits, type CommittedWrite } from './support/commitWatcher'
import {
  convexErrorOf,
  expectConvexError,
  makeAction,
  makeUser,
  occurrences,
  openChat,
  setupBackend,
  useModelServer,
  type Backend,
  type Chat,
} from './support/backend'
import { captureConsole } from './support/consoleLog'

const server = useModelServer()
const CHATS: Chat[] = ['general', 'debrief']

const PARTS = Array.from({ length: 24 }, (_, i) => `piece${i} `)
const FINAL = PARTS.join('')
/** About a second of tokens: several chunks, or document writes, at one per 250 ms. */
const streamedReply = { kind: 'text' as const, text: FINAL, chunks: PARTS, chunkIntervalMs: 45 }

async function chunksOf(t: Backend, replyId: Id<'enrichmentMessages'>) {
  return await t.run(async (ctx) =>
    ctx.db
      .query('liveReplyChunks')
      .withIndex('by_reply', (q) => q.eq('replyId', replyId))
      .collect(),
  )
}

async function allChunks(t: Backend) {
  return await t.run(async (ctx) => ctx.db.query('liveReplyChunks').collect())
}

async function scheduledJobs(t: Backend) {
  return await t.run(async (ctx) => ctx.db.system.query('_scheduled_functions').collect())
}

const isReplyWrite = (write: CommittedWrite) =>
  write.table === 'enrichmentMessages' && (write.value === null || write.value.role === 'assistant')

/** A reply left streaming in a chat, as a delta-mode turn leaves it: empty, with chunks. */
async function seedDeltaReply(
  t: Backend,
  owner: { profileId: Id<'profiles'>; actionId?: Id<'careerActions'> },
  chunks: string[],
  createdAt = Date.now(),
) {
  return await t.run(async (ctx) => {
    const link = owner.actionId ? { actionId: owner.actionId } : {}
    await ctx.db.insert('enrichmentMessages', {
      profileId: owner.profileId, role: 'user', content: 'Tell me more.', ...link, createdAt: createdAt - 1,
    })
    const replyId = await ctx.db.insert('enrichmentMessages', {
      profileId: owner.profileId, role: 'assistant', content: '', status: 'streaming', ...link, createdAt,
    })
    for (const [seq, text] of chunks.entries()) {
      await ctx.db.insert('liveReplyChunks', { replyId, seq, text })
    }
    return replyId
  })
}

afterEach(() => {
  vi.restoreAllMocks()
})

describe("liveReply 'deltas'", () => {
  test.each(CHATS)(
    '%s: the message document is written exactly twice and the chat query does not change while the reply streams',
    async (chat) => {
      const t = setupBackend()
      const c = await openChat(t, chat)
      server().reply(streamedReply)

      const replyWrites: number[] = []
      const chunkCommits: number[] = []
      const chatChanges: { commit: number; messages: Awaited<ReturnType<typeof c.read>> }[] = []
      let commit = 0
      let last = JSON.stringify(await c.read())
      const watcher = await watchCommits(t, async (writes) => {
        commit++
        if (writes.some(isReplyWrite)) replyWrites.push(commit)
        if (writes.some((write) => write.table === 'liveReplyChunks' && write.value !== null)) {
          chunkCommits.push(commit)
        }
        const messages = await c.read()
        const json = JSON.stringify(messages)
        if (json !== last) chatChanges.push({ commit, messages })
        last = json
      })
      const result = await c.send('I finished the replication!', { liveReply: 'deltas' })
      await watcher.stop()

      expect(result.message).toBe(FINAL)
      expect(replyWrites).toHaveLength(2)
      expect(chunkCommits.length).toBeGreaterThanOrEqual(2)
      // Every chunk was written between the two writes of the document.
      for (const at of chunkCommits) {
        expect(at).toBeGreaterThan(replyWrites[0])
        expect(at).toBeLessThan(replyWrites[1])
      }
      // The chat changed when the turn began (the user's message; the empty reply is not
      // listed) and when it ended (the finished reply), and never in between.
      expect(chatChanges.map((change) => change.commit)).toEqual(replyWrites)
      expect(chatChanges[0].messages.map(({ role, content }) => ({ role, content }))).toEqual([
        { role: 'user', content: 'I finished the replication!' },
      ])
      expect(chatChanges[1].messages.map(({ role, content, status }) => ({ role, content, status }))).toEqual([
        { role: 'user', content: 'I finished the replication!', status: undefined },
        { role: 'assistant', content: FINAL, status: undefined },
      ])
    },
  )

  test.each(CHATS)(
    '%s: a client following getLiveReply from cursor to cursor sees the text in order, without gap or repeat',
    async (chat) => {
      const t = setupBackend()
      const c = await openChat(t, chat)
      server().reply(streamedReply)
      expect(await c.live()).toBeNull()

      let text = ''
      let cursor: number | undefined
      let replyId: string | undefined
      const results: NonNullable<Awaited<ReturnType<typeof c.live>>>[] = []
      const watcher = await watchCommits(t, async () => {
        const live = await c.live(cursor)
        if (live === null) return
        replyId ??= live.replyId
        expect(live.replyId).toBe(replyId)
        expect(live.status).toBe('streaming')
        results.push(live)
        text += live.text
        cursor = live.cursor
      })
      await c.send('I finished the replication!', { liveReply: 'deltas' })
      await watcher.stop()

      const withText = results.filter((result) => result.text.length > 0)
      expect(withText.length).toBeGreaterThanOrEqual(2)
      // What the client assembled is the start of the reply, exactly: nothing skipped or doubled.
      expect(text.length).toBeGreaterThan(0)
      expect(FINAL.startsWith(text)).toBe(true)
      // Cursors only move forward, one per chunk read.
      for (let i = 1; i < results.length; i++) {
        expect(results[i].cursor).toBeGreaterThanOrEqual(results[i - 1].cursor)
      }
      expect(await c.live()).toBeNull()
      expect(await c.live(cursor)).toBeNull()
      const stored = await c.stored()
      expect(stored.at(-1)?._id).toBe(replyId)
      expect(stored.at(-1)?.content).toBe(FINAL)
    },
  )

  test('cursors: all the text without one, the rest after one, nothing new at the end', async () => {
    const t = setupBackend()
    const c = await openChat(t, 'general')
    const replyId = await seedDeltaReply(t, c, ['Hello', ' there, ', 'how did ', 'it go?'])

    expect(await c.live()).toEqual({ replyId, text: 'Hello there, how did it go?', cursor: 4, status: 'streaming' })
    expect(await c.live(0)).toEqual({ replyId, text: 'Hello there, how did it go?', cursor: 4, status: 'streaming' })
    expect(await c.live(1)).toEqual({ replyId, text: ' there, how did it go?', cursor: 4, status: 'streaming' })
    expect(await c.live(3)).toEqual({ replyId, text: 'it go?', cursor: 4, status: 'streaming' })
    expect(await c.live(4)).toEqual({ replyId, text: '', cursor: 4, status: 'streaming' })
    expect(await c.live(40)).toEqual({ replyId, text: '', cursor: 40, status: 'streaming' })
  })

  test('a cursor that getLiveReply could not have returned is refused with a clear message', async () => {
    const t = setupBackend()
    const c = await openChat(t, 'general')
    await seedDeltaReply(t, c, ['Hello'])
    await expectConvexError(c.live(-1), INVALID_CURSOR)
    await expectConvexError(c.live(1.5), INVALID_CURSOR)
    await expectConvexError(c.live(Number.NaN), INVALID_CURSOR)
  })

  test('before the first chunk: the reply, with no text yet', async () => {
    const t = setupBackend()
    const c = await openChat(t, 'debrief')
    const replyId = await seedDeltaReply(t, c, [])
    expect(await c.live()).toEqual({ replyId, text: '', cursor: 0, status: 'streaming' })
  })

  test('each chat sees only its own reply', async () => {
    const t = setupBackend()
    const general = await openChat(t, 'general')
    const actionId = await makeAction(t, general.profileId, { status: 'done' })
    const otherActionId = await makeAction(t, general.profileId, { status: 'done' })
    const replyId = await seedDeltaReply(t, { profileId: general.profileId, actionId }, ['Debrief text'])

    expect(await general.live()).toBeNull()
    expect(await general.as.query(api.enrichment.queries.getLiveReply, { profileId: general.profileId, actionId }))
      .toEqual({ replyId, text: 'Debrief text', cursor: 1, status: 'streaming' })
    expect(
      await general.as.query(api.enrichment.queries.getLiveReply, { profileId: general.profileId, actionId: otherActionId }),
    ).toBeNull()
  })

  test('the owner sees their live reply; others get null (the hostile-caller suite tries every mix of ids)', async () => {
    const t = setupBackend()
    const owner = await openChat(t, 'general')
    await seedDeltaReply(t, owner, ['Mine'])
    const stranger = await makeUser(t)
    const getLiveReply = api.enrichment.queries.getLiveReply
    expect(await owner.live()).toMatchObject({ text: 'Mine' })
    expect(await t.query(getLiveReply, { profileId: owner.profileId })).toBeNull()
    expect(await stranger.as.query(getLiveReply, { profileId: owner.profileId })).toBeNull()
  })

  test.each(CHATS)('%s: the chunks of a finished reply are removed, and never sent to the model', async (chat) => {
    const t = setupBackend()
    const c = await openChat(t, chat)
    server().reply(streamedReply)
    await c.send('I finished the replication!', { liveReply: 'deltas' })
    const replyId = (await c.stored()).at(-1)!._id
    expect((await scheduledJobs(t)).some((job) => job.name.includes('deleteReplyChunks') && job.args[0].replyId === replyId))
      .toBe(true)
    await vi.waitFor(async () => expect(await chunksOf(t, replyId)).toEqual([]))

    server().reply({ kind: 'text', text: 'What was hardest?' })
    await c.send('The data loading.', { liveReply: 'deltas' })
    const body = JSON.stringify(server().requests[1].body)
    // The reply reaches the model once, from its document.
    expect(occurrences(body, FINAL)).toBe(1)
    expect(server().requests[1].body.messages).toEqual([
      { role: 'user', content: 'I finished the replication!' },
      { role: 'assistant', content: FINAL },
      { role: 'user', content: 'The data loading.' },
    ])
  })

  test.each(CHATS)('%s: a stream that breaks part-way keeps its text marked failed, and its chunks go', async (chat) => {
    const t = setupBackend()
    const c = await openChat(t, chat)
    const textBefore = 'Congratulations on finishing the replication, what'
    server().reply({ kind: 'brokenStream', textBefore, ending: 'socket' })

    expect(await convexErrorOf(c.send('I replicated the paper.', { liveReply: 'deltas' }))).toBe(MODEL_ERRORS.interrupted)
    expect((await c.read()).map(({ role, content, status }) => ({ role, content, status }))).toEqual([
      { role: 'user', content: 'I replicated the paper.', status: undefined },
      { role: 'assistant', content: textBefore, status: 'failed' },
    ])
    expect(await c.live()).toBeNull()
    await vi.waitFor(async () => expect(await allChunks(t)).toEqual([]))
  })

  test.each(CHATS)('%s: a call that fails before any text leaves no reply and no chunk', async (chat) => {
    const t = setupBackend()
    const c = await openChat(t, chat)
    server().reply({ kind: 'status', status: 400 })
    const logged = captureConsole('error')
    expect(await convexErrorOf(c.send('Hello', { liveReply: 'deltas' }))).toBe(MODEL_ERRORS.refused)
    expect((await c.stored()).map(({ role }) => role)).toEqual(['user'])
    expect(await allChunks(t)).toEqual([])
    expect(await c.live()).toBeNull()
    expect(logged()).toEqual([expect.stringContaining('Model request refused claude-haiku-4-5-20251001 400 ')])
  })

  test('failTurn on a delta reply keeps the text that arrived, marked failed, and schedules its chunks\' removal', async () => {
    const t = setupBackend()
    const c = await openChat(t, 'general')
    const replyId = await seedDeltaReply(t, c, ['Half ', 'a'])
    await t.mutation(internal.enrichment.turns.failTurn, {
      replyId, caller: { userId: c.userId, profileId: c.profileId }, partialText: 'Half a rep', usage: { inputTokens: 10, outputTokens: 3 },
    })
    const reply = await t.run(async (ctx) => ctx.db.get('enrichmentMessages', replyId))
    expect(reply).toMatchObject({ content: 'Half a rep', status: 'failed' })
    await vi.waitFor(async () => expect(await chunksOf(t, replyId)).toEqual([]))
  })

  test('an abandoned delta reply is settled from its chunks when it expires, and the chunks go', async () => {
    const t = setupBackend()
    const c = await openChat(t, 'debrief')
    const replyId = await seedDeltaReply(t, c, ['What did ', 'you find ', 'hard'])
    await t.mutation(internal.enrichment.turns.expireReply, { replyId })
    const reply = await t.run(async (ctx) => ctx.db.get('enrichmentMessages', replyId))
    expect(reply).toMatchObject({ content: 'What did you find hard', status: 'failed' })
    expect(await c.live()).toBeNull()
    await vi.waitFor(async () => expect(await chunksOf(t, replyId)).toEqual([]))
  })

  test('an abandoned delta reply with no chunk is removed when it expires', async () => {
    const t = setupBackend()
    const c = await openChat(t, 'general')
    const replyId = await seedDeltaReply(t, c, [])
    await t.mutation(internal.enrichment.turns.expireReply, { replyId })
    expect(await t.run(async (ctx) => ctx.db.get('enrichmentMessages', replyId))).toBeNull()
  })

  test.each(CHATS)('%s: a stale delta reply is settled by the next turn from its chunks, which never reach the model', async (chat) => {
    const t = setupBackend()
    const c = await openChat(t, chat)
    const replyId = await seedDeltaReply(t, c, ['STALE ', 'CHUNK ', 'TEXT'], Date.now() - 10 * 60_000)
    server().reply({ kind: 'text', text: 'Welcome back.' })
    await c.send('Hello again')

    expect(JSON.stringify(server().requests[0].body)).not.toMatch(/STALE|CHUNK/)
    const reply = await t.run(async (ctx) => ctx.db.get('enrichmentMessages', replyId))
    expect(reply).toMatchObject({ content: 'STALE CHUNK TEXT', status: 'failed' })
    await vi.waitFor(async () => expect(await chunksOf(t, replyId)).toEqual([]))
  })

  test('a chunk already stored is not stored twice, and one that would leave a gap is refused', async () => {
    const t = setupBackend()
    const c = await openChat(t, 'general')
    const replyId = await seedDeltaReply(t, c, ['one '])
    await t.mutation(internal.enrichment.turns.writeReplyChunk, { replyId, seq: 1, text: 'two ' })
    await t.mutation(internal.enrichment.turns.writeReplyChunk, { replyId, seq: 1, text: 'two ' })
    await t.mutation(internal.enrichment.turns.writeReplyChunk, { replyId, seq: 0, text: 'one ' })
    await expect(t.mutation(internal.enrichment.turns.writeReplyChunk, { replyId, seq: 3, text: 'four' })).rejects.toThrow(
      /would follow chunk 1/,
    )
    expect((await chunksOf(t, replyId)).map(({ seq, text }) => ({ seq, text }))).toEqual([
      { seq: 0, text: 'one ' },
      { seq: 1, text: 'two ' },
    ])
    expect(await c.live()).toMatchObject({ text: 'one two ', cursor: 2 })
  })

  test('a chunk arriving after the reply ended is dropped', async () => {
    const t = setupBackend()
    const c = await openChat(t, 'general')
    const replyId = await seedDeltaReply(t, c, ['one '])
    await t.mutation(internal.enrichment.turns.finishTurn, {
      replyId, caller: { userId: c.userId, profileId: c.profileId }, content: 'one two', usage: { inputTokens: 1, outputTokens: 1 },
    })
    await t.mutation(internal.enrichment.turns.writeReplyChunk, { replyId, seq: 1, text: 'two' })
    await vi.waitFor(async () => expect(await chunksOf(t, replyId)).toEqual([]))
  })
})

describe('createChunkWriter', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  test('the first text at once, then at most one chunk per interval, each holding only what is new', async () => {
    vi.useFakeTimers()
    const chunks: { seq: number; text: string }[] = []
    const writer = createChunkWriter(async (chunk) => {
      chunks.push(chunk)
    }, 100)
    let text = ''
    for (let i = 0; i < 50; i++) {
      text += `${i} `
      writer.push(text)
      await vi.advanceTimersByTimeAsync(10)
    }
    await vi.advanceTimersByTimeAsync(100)
    await writer.drain()
    expect(chunks[0]).toEqual({ seq: 0, text: '0 ' })
    expect(chunks.map((chunk) => chunk.seq)).toEqual(chunks.map((_, i) => i))
    expect(chunks.map((chunk) => chunk.text).join('')).toBe(text)
    // 500 ms of pushes at one chunk per 100 ms.
    expect(chunks.length).toBeGreaterThanOrEqual(5)
    expect(chunks.length).toBeLessThanOrEqual(7)
  })

  test('never ends a chunk between the halves of a surrogate pair', async () => {
    vi.useFakeTimers()
    const chunks: string[] = []
    const writer = createChunkWriter(async ({ text }) => {
      chunks.push(text)
    }, 50)
    writer.push('Great \ud83d')
    await vi.advanceTimersByTimeAsync(0)
    writer.push('Great \ud83d\ude00 work')
    await vi.advanceTimersByTimeAsync(100)
    await writer.drain()
    expect(chunks).toEqual(['Great ', '\ud83d\ude00 work'])
  })

  test('a failed write is retried, same number and text, before any later chunk', async () => {
    vi.useFakeTimers()
    const warned = captureConsole('warn')
    const attempts: { seq: number; text: string }[] = []
    let failNext = true
    const writer = createChunkWriter(async (chunk) => {
      attempts.push(chunk)
      if (failNext) {
        failNext = false
        throw new Error('write failed')
      }
    }, 50)
    writer.push('one ')
    await vi.advanceTimersByTimeAsync(0)
    writer.push('one two ')
    await vi.advanceTimersByTimeAsync(100)
    await writer.drain()
    expect(attempts).toEqual([
      { seq: 0, text: 'one ' },
      { seq: 0, text: 'one ' },
      { seq: 1, text: 'two ' },
    ])
    expect(warned()).toEqual(['Reply chunk write failed Error: write failed'])
  })

  test('nothing is written after drain()', async () => {
    vi.useFakeTimers()
    const chunks: string[] = []
    const writer = createChunkWriter(async ({ text }) => {
      chunks.push(text)
    }, 50)
    writer.push('one ')
    await vi.advanceTimersByTimeAsync(0)
    writer.push('one two ')
    await writer.drain()
    writer.push('one two three')
    await vi.advanceTimersByTimeAsync(200)
    expect(chunks).toEqual(['one '])
  })
})

describe("liveReply 'document' (the default)", () => {
  test.each([undefined, 'document'] as const)(
    'liveReply %s: the chat query shows the reply growing, no chunk is written, getLiveReply is null once text exists',
    async (liveReply) => {
      const t = setupBackend()
      const c = await openChat(t, 'debrief')
      server().reply(streamedReply)
      const seen: string[] = []
      const liveResults: unknown[] = []
      let chunkWrites = 0
      const watcher = await watchCommits(t, async (writes) => {
        chunkWrites += writes.filter((write) => write.table === 'liveReplyChunks').length
        const reply = (await c.read()).find((message) => message.role === 'assistant')
        if (reply) {
          seen.push(reply.content)
          liveResults.push(await c.live())
        }
      })
      await c.send('Done!', liveReply ? { liveReply } : {})
      await watcher.stop()

      expect(chunkWrites).toBe(0)
      const partial = [...new Set(seen.filter((content) => content !== FINAL))]
      expect(partial.length).toBeGreaterThanOrEqual(2)
      for (const content of partial) expect(FINAL.startsWith(content)).toBe(true)
      expect(seen.at(-1)).toBe(FINAL)
      expect(liveResults.every((result) => result === null)).toBe(true)
    },
  )
})

describe('a reply with no text yet is not listed', () => {
  async function seedReply(t: Backend, chat: Chat, content: string, status?: Doc<'enrichmentMessages'>['status']) {
    const c = await openChat(t, chat)
    await c.seed([{ role: 'user', content: 'Hi' }])
    await t.run(async (ctx) => {
      await ctx.db.insert('enrichmentMessages', {
        profileId: c.profileId, role: 'assistant', content, ...(status && { status }),
        ...(c.actionId && { actionId: c.actionId }), createdAt: 2_000,
      })
    })
    return c
  }

  test.each(CHATS)('%s: an empty reply being written is left out', async (chat) => {
    const t = setupBackend()
    const c = await seedReply(t, chat, '', 'streaming')
    expect((await c.read()).map(({ role, content }) => ({ role, content }))).toEqual([{ role: 'user', content: 'Hi' }])
  })

  test.each(CHATS)('%s: a reply with text, still being written, is listed as streaming', async (chat) => {
    const t = setupBackend()
    const c = await seedReply(t, chat, 'Hel', 'streaming')
    expect((await c.read()).map(({ role, content, status }) => ({ role, content, status }))).toEqual([
      { role: 'user', content: 'Hi', status: undefined },
      { role: 'assistant', content: 'Hel', status: 'streaming' },
    ])
  })

  test.each(CHATS)('%s: finished and failed replies are listed as before', async (chat) => {
    const t = setupBackend()
    const c = await seedReply(t, chat, 'Broken off', 'failed')
    await c.seed([{ role: 'assistant', content: 'Whole reply' }], 3_000)
    expect((await c.read()).map(({ content, status }) => ({ content, status }))).toEqual([
      { content: 'Hi', status: undefined },
      { content: 'Broken off', status: 'failed' },
      { content: 'Whole reply', status: undefined },
    ])
  })

  test.each(CHATS)('%s: during a real turn no listed reply is ever empty, and none carries its expiry job', async (chat) => {
    const t = setupBackend()
    const c = await openChat(t, chat)
    server().reply({ ...streamedReply, firstTokenDelayMs: 100 })
    const listed: Awaited<ReturnType<typeof c.read>>[] = []
    const watcher = await watchCommits(t, async () => {
      listed.push(await c.read())
    })
    await c.send('Hello')
    await watcher.stop()
    const assistantMessages = listed.flat().filter((message) => message.role === 'assistant')
    expect(assistantMessages.length).toBeGreaterThan(0)
    for (const message of assistantMessages) {
      expect(message.content).not.toBe('')
      expect('expiryJobId' in message).toBe(false)
    }
    // While the empty reply existed, the chat held only the user's message.
    expect(listed[0].map(({ role }) => role)).toEqual(['user'])
  })

  test.each(CHATS)('%s: a hidden empty reply still refuses a second turn', async (chat) => {
    const t = setupBackend()
    const c = await seedReply(t, chat, '', 'streaming')
    await t.run(async (ctx) => {
      const reply = (await ctx.db.query('enrichmentMessages').collect()).find((message) => message.role === 'assistant')!
      await ctx.db.patch('enrichmentMessages', reply._id, { createdAt: Date.now() })
    })
    await expectConvexError(c.send('Anyone there?'), REPLY_IN_PROGRESS)
    expect(server().requests).toHaveLength(0)
  })
})

describe('the expiry job of a reply', () => {
  async function expiryJobs(t: Backend) {
    return (await scheduledJobs(t)).filter((job) => job.name.includes('expireReply'))
  }

  test.each(['document', 'deltas'] as const)('%s: cancelled when the turn finishes', async (liveReply) => {
    const t = setupBackend()
    const c = await openChat(t, 'general')
    server().reply({ kind: 'text', text: 'Well done!' })
    await c.send('Done.', { liveReply })
    const jobs = await expiryJobs(t)
    expect(jobs.map((job) => job.state.kind)).toEqual(['canceled'])
    expect((await c.stored()).at(-1)).not.toHaveProperty('expiryJobId')
  })

  test.each(['document', 'deltas'] as const)('%s: cancelled when the turn fails', async (liveReply) => {
    const t = setupBackend()
    const c = await openChat(t, 'debrief')
    server().reply({ kind: 'brokenStream', textBefore: 'Half of it', ending: 'cleanClose' })
    await convexErrorOf(c.send('Done.', { liveReply }))
    expect((await expiryJobs(t)).map((job) => job.state.kind)).toEqual(['canceled'])
    const reply = (await c.stored()).at(-1)
    expect(reply).toMatchObject({ content: 'Half of it', status: 'failed' })
    expect(reply).not.toHaveProperty('expiryJobId')
  })

  test('a finish after the expiry settled the reply cancels nothing and leaves it settled', async () => {
    const t = setupBackend()
    const c = await openChat(t, 'general')
    const replyId = await seedDeltaReply(t, c, ['Par', 'tial'])
    await t.mutation(internal.enrichment.turns.expireReply, { replyId })
    await t.mutation(internal.enrichment.turns.finishTurn, {
      replyId, caller: { userId: c.userId, profileId: c.profileId }, content: 'Late whole reply', usage: { inputTokens: 1, outputTokens: 1 },
    })
    expect(await t.run(async (ctx) => ctx.db.get('enrichmentMessages', replyId))).toMatchObject({
      content: 'Partial',
      status: 'failed',
    })
  })
})
