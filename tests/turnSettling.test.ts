// How a chat turn settles: what a late flush, failTurn or expiry does to a reply that is already
// settled or deleted (nothing, and no throw), which usage rows a turn writes, how the model
// deadline setting is read, and which stored messages count toward a debrief's cap and an
// extraction's transcript.
import { describe, expect, test } from 'vitest'
import { api, internal } from '../convex/_generated/api'
import type { Doc, Id } from '../convex/_generated/dataModel'
import {
  convexErrorOf,
  makeAction,
  makeUser,
  openChat,
  setupBackend,
  useModelServer,
  type Backend,
  type Chat,
} from './support/backend'

const server = useModelServer()

const CHATS: Chat[] = ['general', 'debrief']

async function usageRows(t: Backend) {
  return await t.run(async (ctx) => ctx.db.query('modelUsage').collect())
}

async function messageOf(t: Backend, id: Id<'enrichmentMessages'>) {
  return await t.run(async (ctx) => ctx.db.get('enrichmentMessages', id))
}

type Seeded = Pick<Doc<'enrichmentMessages'>, 'role' | 'content'> & { status?: 'streaming' | 'failed' }

/** Stores messages with their status, oldest first, one millisecond apart. */
async function seedWithStatus(
  t: Backend,
  profileId: Id<'profiles'>,
  actionId: Id<'careerActions'> | undefined,
  messages: Seeded[],
) {
  return await t.run(async (ctx) => {
    const ids: Id<'enrichmentMessages'>[] = []
    for (const [index, message] of messages.entries()) {
      ids.push(
        await ctx.db.insert('enrichmentMessages', {
          ...message, profileId, ...(actionId && { actionId }), createdAt: 1_000 + index,
        }),
      )
    }
    return ids
  })
}

const usage = { inputTokens: 12, outputTokens: 7 }

describe('a late write to a reply that is already settled changes nothing and throws nothing', () => {
  async function finishedReply() {
    const t = setupBackend()
    const { userId, profileId } = await makeUser(t)
    const [, replyId] = await seedWithStatus(t, profileId, undefined, [
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: '', status: 'streaming' },
    ])
    const caller = { userId, profileId }
    await t.mutation(internal.enrichment.turns.finishTurn, { replyId, caller, content: 'Whole reply.', usage })
    return { t, userId, profileId, replyId, caller }
  }

  test('a flush after the finish does not overwrite the whole reply', async () => {
    const { t, replyId } = await finishedReply()
    const settled = await messageOf(t, replyId)
    expect(await t.mutation(internal.enrichment.turns.writeReplyProgress, { replyId, content: 'Whole' })).toBeNull()
    expect(await messageOf(t, replyId)).toEqual(settled)
  })

  test('a failTurn after the finish keeps the reply; its spent tokens are recorded as a failed call', async () => {
    const { t, userId, profileId, replyId, caller } = await finishedReply()
    const settled = await messageOf(t, replyId)
    const result = await t.mutation(internal.enrichment.turns.failTurn, {
      replyId, caller, partialText: 'Who', usage: { inputTokens: 3, outputTokens: 0 },
    })
    expect(result).toBe('stored')
    expect(await messageOf(t, replyId)).toEqual(settled)
    expect((await usageRows(t)).map(({ succeeded, inputTokens, outputTokens, userId: user, profileId: profile, chat }) => ({
      succeeded, inputTokens, outputTokens, user, profile, chat,
    }))).toEqual([
      { succeeded: true, inputTokens: 12, outputTokens: 7, user: userId, profile: profileId, chat: 'general' },
      { succeeded: false, inputTokens: 3, outputTokens: 0, user: userId, profile: profileId, chat: 'general' },
    ])
  })

  test('a failTurn that spent no tokens writes no usage row', async () => {
    const { t, replyId, caller } = await finishedReply()
    await t.mutation(internal.enrichment.turns.failTurn, {
      replyId, caller, partialText: '', usage: { inputTokens: 0, outputTokens: 0 },
    })
    expect((await usageRows(t)).map((row) => row.succeeded)).toEqual([true])
  })

  test('an expiry after the finish leaves the reply finished', async () => {
    const { t, replyId } = await finishedReply()
    const settled = await messageOf(t, replyId)
    expect(await t.mutation(internal.enrichment.turns.expireReply, { replyId })).toBeNull()
    expect(await messageOf(t, replyId)).toEqual(settled)
  })

  test('a refusal arriving after the finish does not set aside the user message', async () => {
    const { t, profileId, replyId, caller } = await finishedReply()
    await t.mutation(internal.enrichment.turns.failTurn, { replyId, caller, partialText: '', usage, refused: true })
    const stored = await t.run(async (ctx) => ctx.db.query('enrichmentMessages').collect())
    expect(stored.filter((message) => message.profileId === profileId).map(({ content, status }) => ({ content, status }))).toEqual([
      { content: 'Hi', status: undefined },
      { content: 'Whole reply.', status: undefined },
    ])
  })

  test('a flush, failTurn or expiry after the reply was deleted writes nothing to the chat and throws nothing', async () => {
    const t = setupBackend()
    const { userId, profileId } = await makeUser(t)
    const [userMessageId, replyId] = await seedWithStatus(t, profileId, undefined, [
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: '', status: 'streaming' },
    ])
    // An empty reply is deleted when its turn fails (or expires).
    await t.mutation(internal.enrichment.turns.expireReply, { replyId })
    expect(await messageOf(t, replyId)).toBeNull()

    expect(await t.mutation(internal.enrichment.turns.writeReplyProgress, { replyId, content: 'Late' })).toBeNull()
    expect(await t.mutation(internal.enrichment.turns.writeReplyChunk, { replyId, seq: 0, text: 'Late' })).toBeNull()
    expect(
      await t.mutation(internal.enrichment.turns.failTurn, {
        replyId, caller: { userId, profileId }, partialText: 'Late', usage, refused: true,
      }),
    ).toBe('replyGone')
    expect(await t.mutation(internal.enrichment.turns.expireReply, { replyId })).toBeNull()

    expect(await messageOf(t, replyId)).toBeNull()
    const userMessage = await messageOf(t, userMessageId)
    expect([userMessage?.content, userMessage?.status]).toEqual(['Hi', undefined])
    expect(await t.run(async (ctx) => ctx.db.query('liveReplyChunks').collect())).toEqual([])
    // The call was made: it is counted against the caller beginTurn found, reply or not.
    expect(await usageRows(t)).toEqual([
      expect.objectContaining({ userId, profileId, succeeded: false, inputTokens: 12, outputTokens: 7 }),
    ])
  })

  test('a finish after the reply was deleted stores no reply, but its usage row is written', async () => {
    const t = setupBackend()
    const { userId, profileId } = await makeUser(t)
    const [, replyId] = await seedWithStatus(t, profileId, undefined, [
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: '', status: 'streaming' },
    ])
    await t.mutation(internal.enrichment.turns.expireReply, { replyId })
    expect(
      await t.mutation(internal.enrichment.turns.finishTurn, { replyId, caller: { userId, profileId }, content: 'Late', usage }),
    ).toBe('replyGone')
    expect(await messageOf(t, replyId)).toBeNull()
    expect(await usageRows(t)).toEqual([
      expect.objectContaining({ userId, profileId, succeeded: true, inputTokens: 12, outputTokens: 7 }),
    ])
  })
})

describe.each(CHATS)('usage rows of the %s chat', (chat) => {
  test('a streamed reply records the final output-token count, not the first event\'s', async () => {
    const t = setupBackend()
    const c = await openChat(t, chat)
    server().reply({ kind: 'text', text: 'One two three four five six seven.' })
    await c.send('Hello.')
    const rows = await usageRows(t)
    expect(rows).toEqual([expect.objectContaining({ chat, succeeded: true, outputTokens: 7 })])
    expect(rows[0].inputTokens).toBeGreaterThan(0)
  })

  test('a non-streamed reply records its tokens', async () => {
    const t = setupBackend()
    const c = await openChat(t, chat)
    process.env.CHAT_STREAMING = 'off'
    server().reply({ kind: 'text', text: 'One two three.' })
    expect((await c.send('Hello.')).message).toBe('One two three.')
    expect(server().requests[0].body.stream).toBeUndefined()
    expect(await usageRows(t)).toEqual([expect.objectContaining({ chat, succeeded: true, outputTokens: 3 })])
  })

  test('a reply cut at max_tokens spent tokens: "too long", the text kept as failed, a failed usage row', async () => {
    const t = setupBackend()
    const c = await openChat(t, chat)
    server().reply({ kind: 'text', text: 'word '.repeat(600) })
    expect(await convexErrorOf(c.send('Tell me everything.'))).toBe(
      "The assistant's answer was too long and got cut off. Please try again.",
    )
    const stored = await c.stored()
    expect(stored.map(({ role, status }) => ({ role, status }))).toEqual([
      { role: 'user', status: undefined },
      { role: 'assistant', status: 'failed' },
    ])
    expect(stored[1].content).toBe('word '.repeat(500))
    expect(await usageRows(t)).toEqual([
      expect.objectContaining({ userId: c.userId, chat, succeeded: false, outputTokens: 500 }),
    ])
  })

  test('a whitespace-only reply is "an empty reply": nothing kept, the message kept, a failed usage row', async () => {
    const t = setupBackend()
    const c = await openChat(t, chat)
    server().reply({ kind: 'text', text: '   \n  ', chunks: ['   ', '\n  '] })
    expect(await convexErrorOf(c.send('Hello?'))).toBe('The assistant sent an empty reply. Please try again.')
    expect((await c.stored()).map(({ role, content, status }) => ({ role, content, status }))).toEqual([
      { role: 'user', content: 'Hello?', status: undefined },
    ])
    expect(await usageRows(t)).toEqual([expect.objectContaining({ chat, succeeded: false })])
  })
})

describe('MODEL_DEADLINE_MS', () => {
  async function expiryDelay(setting: string | undefined) {
    const t = setupBackend()
    const c = await openChat(t, 'general')
    if (setting === undefined) delete process.env.MODEL_DEADLINE_MS
    else process.env.MODEL_DEADLINE_MS = setting
    server().reply({ kind: 'text', text: 'Hi!' })
    await c.send('Hello.')
    const jobs = await t.run(async (ctx) => ctx.db.system.query('_scheduled_functions').collect())
    const expiry = jobs.filter((job) => job.name.includes('expireReply'))
    expect(expiry).toHaveLength(1)
    return expiry[0].scheduledTime - expiry[0]._creationTime
  }

  // A reply's expiry is scheduled at twice the deadline: the default deadline is 60 s.
  test.each([
    ['unset', undefined],
    ['empty', ''],
    ['0', '0'],
    ['negative', '-5000'],
    ['not a number', 'soon'],
  ])('%s falls back to the 60-second default', async (_, setting) => {
    const delay = await expiryDelay(setting)
    expect(delay).toBeGreaterThan(119_000)
    expect(delay).toBeLessThanOrEqual(120_000)
  })

  test('a positive value is used', async () => {
    const delay = await expiryDelay('5000')
    expect(delay).toBeGreaterThan(9_000)
    expect(delay).toBeLessThanOrEqual(10_000)
  })

  test('a reply streaming for less than twice the default deadline still blocks a new turn', async () => {
    const t = setupBackend()
    const c = await openChat(t, 'general')
    process.env.MODEL_DEADLINE_MS = '0'
    await t.run(async (ctx) => {
      await ctx.db.insert('enrichmentMessages', {
        profileId: c.profileId, role: 'assistant', content: 'Wri', status: 'streaming', createdAt: Date.now() - 90_000,
      })
    })
    expect(await convexErrorOf(c.send('Hello?'))).toBe(
      'A reply is still being written in this conversation. Wait for it to finish, then send your message.',
    )
  })
})

describe('the debrief cap counts finished user messages only', () => {
  const CAP = 'This debrief has reached its limit of 10 messages. You can update your profile from it now.'

  async function debriefWith(messages: Seeded[]) {
    const t = setupBackend()
    const { as, profileId } = await makeUser(t)
    const actionId = await makeAction(t, profileId, { status: 'done', completedAt: 5, completionConversationStarted: true })
    await seedWithStatus(t, profileId, actionId, messages)
    const send = (message: string) =>
      as.action(api.enrichment.conversation.sendCompletionMessage, { profileId, actionId, message })
    return { t, send }
  }

  test('nine user messages each answered by a failed reply: the tenth is sent, the eleventh refused', async () => {
    const seeded: Seeded[] = []
    for (let i = 0; i < 9; i++) {
      seeded.push({ role: 'user', content: `Message ${i}` }, { role: 'assistant', content: `Half ${i}`, status: 'failed' })
    }
    const { send } = await debriefWith(seeded)
    server().reply({ kind: 'text', text: 'Thanks!' })
    expect((await send('Message 9')).message).toBe('Thanks!')
    expect(await convexErrorOf(send('Message 10'))).toBe(CAP)
  })

  test('a user message set aside after a refusal does not count', async () => {
    const seeded: Seeded[] = []
    for (let i = 0; i < 9; i++) seeded.push({ role: 'user', content: `Message ${i}` }, { role: 'assistant', content: `Reply ${i}` })
    seeded.push({ role: 'user', content: 'Refused message', status: 'failed' })
    const { send } = await debriefWith(seeded)
    server().reply({ kind: 'text', text: 'Thanks!' })
    expect((await send('Message 9')).message).toBe('Thanks!')
    expect(await convexErrorOf(send('Message 10'))).toBe(CAP)
  })

  test('ten finished user messages: the next is refused and nothing is written', async () => {
    const seeded: Seeded[] = []
    for (let i = 0; i < 10; i++) seeded.push({ role: 'user', content: `Message ${i}` }, { role: 'assistant', content: `Reply ${i}` })
    const { t, send } = await debriefWith(seeded)
    const before = await t.run(async (ctx) => ctx.db.query('enrichmentMessages').collect())
    expect(await convexErrorOf(send('One more'))).toBe(CAP)
    expect(await t.run(async (ctx) => ctx.db.query('enrichmentMessages').collect())).toEqual(before)
    expect(server().requests).toHaveLength(0)
  })

  test('the tenth message sent again after its reply failed is a retry, not an eleventh message', async () => {
    const seeded: Seeded[] = []
    for (let i = 0; i < 9; i++) seeded.push({ role: 'user', content: `Message ${i}` }, { role: 'assistant', content: `Reply ${i}` })
    seeded.push({ role: 'user', content: 'Message 9' })
    const { send } = await debriefWith(seeded)
    server().reply({ kind: 'text', text: 'Got it.' })
    expect((await send('Message 9')).message).toBe('Got it.')
    expect(server().requests[0].body.messages.at(-1)).toEqual({ role: 'user', content: 'Message 9' })
  })
})

describe('the extraction transcript', () => {
  test('failed and still-streaming replies are left out; the user messages around them become one turn', async () => {
    const t = setupBackend()
    const { as, profileId } = await makeUser(t)
    const actionId = await makeAction(t, profileId, { status: 'done', completedAt: 5 })
    await seedWithStatus(t, profileId, actionId, [
      { role: 'user', content: 'I ran the replication.' },
      { role: 'assistant', content: 'Half a failed repl', status: 'failed' },
      { role: 'user', content: 'It took two weeks.' },
      { role: 'assistant', content: 'Well done! What did you learn?' },
      { role: 'user', content: 'Refused words', status: 'failed' },
      { role: 'user', content: 'Induction heads.' },
      { role: 'assistant', content: 'Still strea', status: 'streaming' },
    ])
    server().reply({ kind: 'tool', name: 'save_profile_updates', input: { skills_mentioned: [], career_interests: [] } })
    await as.action(api.enrichment.extraction.extractFromConversation, { profileId, actionId, messages: [] })

    const content = server().requests[0].body.messages[0].content
    expect(content).toBe(
      '<conversation>\n' +
        'User: I ran the replication.\n| \n| It took two weeks.\n\n' +
        'Coach: Well done! What did you learn?\n\n' +
        'User: Induction heads.\n' +
        '</conversation>\n\nRecord what this conversation reveals about me by calling save_profile_updates.',
    )
  })

  test('client messages marked with no status are all used', async () => {
    const t = setupBackend()
    const { as, profileId } = await makeUser(t)
    server().reply({ kind: 'tool', name: 'save_profile_updates', input: { skills_mentioned: [], career_interests: [] } })
    await as.action(api.enrichment.extraction.extractFromConversation, {
      profileId,
      messages: [
        { role: 'assistant', content: 'Hello!' },
        { role: 'user', content: 'Hi.' },
      ],
    })
    expect(server().requests[0].body.messages[0].content).toContain('Coach: Hello!\n\nUser: Hi.\n</conversation>')
  })
})

describe('a turn that ends cancels the job that would expire its reply', () => {
  async function jobsOf(t: Backend) {
    return await t.run(async (ctx) => ctx.db.system.query('_scheduled_functions').collect())
  }

  test.each(CHATS)('%s: a finished reply keeps no expiry job, and the job is cancelled', async (chat) => {
    const t = setupBackend()
    const c = await openChat(t, chat)
    server().reply({ kind: 'text', text: 'All done.' })
    await c.send('Hello.')
    const [, reply] = await c.stored()
    expect(reply.expiryJobId).toBeUndefined()
    const expiry = (await jobsOf(t)).filter((job) => job.name.includes('expireReply'))
    expect(expiry.map((job) => job.state.kind)).toEqual(['canceled'])
  })

  test.each(CHATS)('%s: a failed reply with text keeps no expiry job, and the job is cancelled', async (chat) => {
    const t = setupBackend()
    const c = await openChat(t, chat)
    server().reply({ kind: 'text', text: 'word '.repeat(600) })
    await convexErrorOf(c.send('Tell me everything.'))
    const [, reply] = await c.stored()
    expect(reply.status).toBe('failed')
    expect(reply.expiryJobId).toBeUndefined()
    const expiry = (await jobsOf(t)).filter((job) => job.name.includes('expireReply'))
    expect(expiry.map((job) => job.state.kind)).toEqual(['canceled'])
  })

  test('a failTurn whose call spent only output tokens still records them', async () => {
    const t = setupBackend()
    const { userId, profileId } = await makeUser(t)
    const [, replyId] = await seedWithStatus(t, profileId, undefined, [
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: '', status: 'streaming' },
    ])
    await t.mutation(internal.enrichment.turns.failTurn, {
      replyId, caller: { userId, profileId }, partialText: '', usage: { inputTokens: 0, outputTokens: 5 },
    })
    expect(await messageOf(t, replyId)).toBeNull()
    expect(await usageRows(t)).toEqual([expect.objectContaining({ inputTokens: 0, outputTokens: 5, succeeded: false })])
  })
})

describe('the debrief opening sent again', () => {
  test('returns the latest finished reply, passing over a failed one, and calls no model', async () => {
    const t = setupBackend()
    const { as, profileId } = await makeUser(t)
    const actionId = await makeAction(t, profileId, { status: 'done', completedAt: 5, completionConversationStarted: true })
    await seedWithStatus(t, profileId, actionId, [
      { role: 'user', content: 'I finished it!' },
      { role: 'assistant', content: 'Great — I have a good picture of what you accomplished!' },
      { role: 'user', content: 'More details.' },
      { role: 'assistant', content: 'Half a fail', status: 'failed' },
    ])
    const before = await t.run(async (ctx) => ctx.db.query('enrichmentMessages').collect())
    const reply = await as.action(api.enrichment.conversation.sendCompletionMessage, {
      profileId, actionId, message: 'I finished it!',
      actionContext: { title: 'x', description: 'y', type: 'replicate' },
    })
    expect(reply).toEqual({ message: 'Great — I have a good picture of what you accomplished!', shouldExtract: true })
    expect(server().requests).toHaveLength(0)
    expect(await t.run(async (ctx) => ctx.db.query('enrichmentMessages').collect())).toEqual(before)
  })
})

describe('a refusal sets aside exactly the user messages its reply answered', () => {
  test('the user messages since the last finished reply, passing over failed replies, none newer', async () => {
    const t = setupBackend()
    const { userId, profileId } = await makeUser(t)
    const ids = await seedWithStatus(t, profileId, undefined, [
      { role: 'user', content: 'Answered before' },
      { role: 'assistant', content: 'A finished reply' },
      { role: 'user', content: 'First try' },
      { role: 'assistant', content: 'Half a fail', status: 'failed' },
      { role: 'user', content: 'Second try' },
      { role: 'assistant', content: '', status: 'streaming' },
      { role: 'user', content: 'Sent after the reply began' },
    ])
    await t.mutation(internal.enrichment.turns.failTurn, {
      replyId: ids[5], caller: { userId, profileId }, partialText: '', usage, refused: true,
    })
    const stored = await t.run(async (ctx) => ctx.db.query('enrichmentMessages').collect())
    expect(stored.map(({ content, status }) => ({ content, status }))).toEqual([
      { content: 'Answered before', status: undefined },
      { content: 'A finished reply', status: undefined },
      { content: 'First try', status: 'failed' },
      { content: 'Half a fail', status: 'failed' },
      { content: 'Second try', status: 'failed' },
      { content: 'Sent after the reply began', status: undefined },
    ])
  })
})

describe('the debrief opening', () => {
  test('a debrief holding only a failed reply has not been opened: the opening calls the model', async () => {
    const t = setupBackend()
    const { as, profileId } = await makeUser(t)
    const actionId = await makeAction(t, profileId, { status: 'done', completedAt: 5, completionConversationStarted: true })
    await seedWithStatus(t, profileId, actionId, [{ role: 'assistant', content: 'Half a fail', status: 'failed' }])
    server().reply({ kind: 'text', text: 'Congratulations!' })
    const reply = await as.action(api.enrichment.conversation.sendCompletionMessage, {
      profileId, actionId, message: 'I finished it!',
      actionContext: { title: 'x', description: 'y', type: 'replicate' },
    })
    expect(reply).toEqual({ message: 'Congratulations!', shouldExtract: false })
    expect(server().requests).toHaveLength(1)
  })
})

describe('removing a delta reply\'s chunks', () => {
  test('more chunks than one batch are removed over several scheduled batches', async () => {
    const t = setupBackend()
    const { profileId } = await makeUser(t)
    const [replyId] = await seedWithStatus(t, profileId, undefined, [{ role: 'assistant', content: 'Done.' }])
    await t.run(async (ctx) => {
      for (let seq = 0; seq < 1_100; seq++) await ctx.db.insert('liveReplyChunks', { replyId, seq, text: 'x' })
    })
    await t.mutation(internal.enrichment.turns.deleteReplyChunks, { replyId })
    const left = async () => (await t.run(async (ctx) => ctx.db.query('liveReplyChunks').collect())).length
    expect(await left()).toBe(600)
    await t.finishAllScheduledFunctions(() => {})
    expect(await left()).toBe(0)
  })
})
