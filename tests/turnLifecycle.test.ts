// What happens to a reply whose action never finishes it: beginTurn schedules its expiry, the
// expiry settles it, and a late finish cannot revive a reply the conversation moved past.
import { expect, test } from 'vitest'
import { api, internal } from '../convex/_generated/api'
import type { Id } from '../convex/_generated/dataModel'
import { makeAction, makeUser, setupBackend, useModelServer, type Backend } from './support/backend'

const server = useModelServer()

async function reply(t: Backend, replyId: Id<'enrichmentMessages'>) {
  return await t.run(async (ctx) => ctx.db.get('enrichmentMessages', replyId))
}

async function seedStreamingReply(t: Backend, content: string) {
  const { userId, profileId } = await makeUser(t)
  const replyId = await t.run(async (ctx) =>
    ctx.db.insert('enrichmentMessages', {
      profileId, role: 'assistant', content, status: 'streaming', createdAt: 1,
    }),
  )
  return { userId, profileId, replyId }
}

test('each turn schedules the expiry of its reply, well after the model deadline', async () => {
  const t = setupBackend()
  const { as, profileId } = await makeUser(t)
  const actionId = await makeAction(t, profileId, { status: 'done' })
  server().reply({ kind: 'text', text: 'Well done!' })
  await as.action(api.enrichment.conversation.sendCompletionMessage, { profileId, actionId, message: 'Done.' })

  const stored = await t.run(async (ctx) => ctx.db.query('enrichmentMessages').collect())
  const replyId = stored.find((message) => message.role === 'assistant')!._id
  const jobs = await t.run(async (ctx) => ctx.db.system.query('_scheduled_functions').collect())
  expect(jobs).toHaveLength(1)
  expect(jobs[0].name).toContain('expireReply')
  expect(jobs[0].args).toEqual([{ replyId }])
  expect(jobs[0].scheduledTime - jobs[0]._creationTime).toBeGreaterThan(119_000)
})

test('expiry removes an empty reply still streaming', async () => {
  const t = setupBackend()
  const { replyId } = await seedStreamingReply(t, '')
  await t.mutation(internal.enrichment.turns.expireReply, { replyId })
  expect(await reply(t, replyId)).toBeNull()
})

test('expiry marks a partial reply still streaming as failed, keeping its text', async () => {
  const t = setupBackend()
  const { replyId } = await seedStreamingReply(t, 'Half a')
  await t.mutation(internal.enrichment.turns.expireReply, { replyId })
  expect(await reply(t, replyId)).toMatchObject({ content: 'Half a', status: 'failed' })
})

test('expiry leaves a finished reply alone', async () => {
  const t = setupBackend()
  const { userId, profileId, replyId } = await seedStreamingReply(t, '')
  const usage = { inputTokens: 10, outputTokens: 5 }
  await t.mutation(internal.enrichment.turns.finishTurn, { replyId, caller: { userId, profileId }, content: 'Whole reply.', usage })
  await t.mutation(internal.enrichment.turns.expireReply, { replyId })
  const finished = await reply(t, replyId)
  expect(finished).toMatchObject({ content: 'Whole reply.' })
  expect(finished?.status).toBeUndefined()
})

test('a finish arriving after the reply was settled as failed does not revive it, but its usage is recorded', async () => {
  const t = setupBackend()
  const { userId, profileId, replyId } = await seedStreamingReply(t, 'Partial')
  await t.mutation(internal.enrichment.turns.expireReply, { replyId })
  const usage = { inputTokens: 10, outputTokens: 5 }
  await t.mutation(internal.enrichment.turns.finishTurn, { replyId, caller: { userId, profileId }, content: 'Late whole reply.', usage })
  expect(await reply(t, replyId)).toMatchObject({ content: 'Partial', status: 'failed' })
  const rows = await t.run(async (ctx) => ctx.db.query('modelUsage').collect())
  expect(rows).toEqual([
    expect.objectContaining({ userId, profileId, chat: 'general', inputTokens: 10, outputTokens: 5, succeeded: true }),
  ])
})
