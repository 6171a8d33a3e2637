// The transactions of one chat turn: beginTurn before the model call, finishTurn or failTurn
// after it, and writeReplyProgress (document mode) or writeReplyChunk (delta mode) for the
// stream in between.
import { ConvexError, v, type Infer } from 'convex/values'
import type { Doc } from '../_generated/dataModel'
import { internalMutation, type MutationCtx } from '../_generated/server'
import { internal } from '../_generated/api'
import { modelDeadlineMs } from '../ai/claude'
import { chatModel } from '../ai/models'
import { isAccountClosed, requireChatAccess } from '../lib/auth'
import { checkChatMessage } from '../lib/limits'
import { requireModelCall } from '../lib/spending/ceilings'
import { consumeLimits } from '../lib/rateLimits'
import { modelUsageValidator, recordModelUsage } from '../lib/spending/usage'
import { messageRole } from '../schema'
import { chatOf } from './chats'
import { buildModelHistory } from './history'
import { deleteChunkBatch, lastChunk, scheduleChunkRemoval, textSoFar } from './liveReplyChunks'
import { hasSignal } from './prompts'

export const REPLY_IN_PROGRESS =
  'A reply is still being written in this conversation. Wait for it to finish, then send your message.'

/** A reply still marked streaming after this long belongs to a call that died without cleanup. */
function staleReplyMs(): number {
  return 2 * modelDeadlineMs()
}

/**
 * Removes an empty reply placeholder, or keeps the text that did arrive, marked failed; either
 * way its live chunks (delta mode) go. Its expiry job is the caller's to cancel.
 */
async function settleFailedReply(ctx: MutationCtx, reply: Doc<'enrichmentMessages'>, text: string) {
  if (text.length === 0) await ctx.db.delete('enrichmentMessages', reply._id)
  else {
    await ctx.db.patch('enrichmentMessages', reply._id, {
      content: text,
      status: 'failed',
      expiryJobId: undefined,
    })
  }
  await scheduleChunkRemoval(ctx, reply._id)
}

/** A turn that ends (finished or failed) no longer needs the job that would expire its reply. */
async function cancelExpiry(ctx: MutationCtx, reply: Doc<'enrichmentMessages'>) {
  if (reply.expiryJobId) await ctx.scheduler.cancel(reply.expiryJobId)
}

/**
 * Whose turn it is, as beginTurn found it: the finish counts the call's usage against this
 * user even when the reply, the profile or the whole account is gone by then.
 */
const turnCaller = v.object({
  userId: v.id('users'),
  profileId: v.id('profiles'),
  actionId: v.optional(v.id('careerActions')),
})
type TurnCaller = Infer<typeof turnCaller>

/**
 * How a turn's finish went: the reply stored, the reply gone (settled by its expiry first), or
 * the account deleted meanwhile (the call is counted; nothing is written into the chat).
 */
const turnSettled = v.union(v.literal('stored'), v.literal('replyGone'), v.literal('accountClosed'))

/**
 * Checks the caller, the career action and the limits, stores the user message and an empty reply
 * placeholder, and returns everything the model call needs. One transaction: a refused call
 * writes nothing, and two racing turns cannot both pass the in-progress check.
 */
export const beginTurn = internalMutation({
  args: {
    profileId: v.id('profiles'),
    actionId: v.optional(v.id('careerActions')),
    message: v.string(),
    /** The debrief's opening message (sent with actionContext). */
    opening: v.optional(v.boolean()),
  },
  returns: v.union(
    v.object({
      kind: v.literal('reply'),
      replyId: v.id('enrichmentMessages'),
      caller: turnCaller,
      system: v.string(),
      messages: v.array(v.object({ role: messageRole, content: v.string() })),
    }),
    // The opening was already sent (the frontend sends it again each time the view mounts).
    v.object({ kind: v.literal('alreadyOpened'), message: v.string(), shouldExtract: v.boolean() }),
  ),
  handler: async (ctx, { profileId, actionId, message, opening }) => {
    const { userId, profile, careerAction } = await requireChatAccess(ctx, profileId, actionId)
    const chat = chatOf({ profileId, actionId })
    const required = chat.requiredActionStatus
    if (careerAction && required && careerAction.status !== required) {
      throw new ConvexError(
        `Cannot debrief an action with status "${careerAction.status}" - must be "${required}"`,
      )
    }

    const conversation = await chat.read(ctx, chat.turnReadLimit)

    if (opening && conversation.some((stored) => stored.role === 'user')) {
      const latestReply = conversation.findLast(
        (stored) => stored.role === 'assistant' && stored.status === undefined,
      )
      const text = latestReply?.content ?? ''
      return { kind: 'alreadyOpened' as const, message: text, shouldExtract: hasSignal(text, chat.signals) }
    }
    checkChatMessage(message)

    const now = Date.now()
    for (const stored of conversation) {
      if (stored.status !== 'streaming') continue
      if (now - stored.createdAt < staleReplyMs()) throw new ConvexError(REPLY_IN_PROGRESS)
      await cancelExpiry(ctx, stored)
      await settleFailedReply(ctx, stored, await textSoFar(ctx, stored))
    }

    const finished = conversation.filter((stored) => stored.status === undefined)
    const last = finished.at(-1)
    // Sending the same text again after a failed reply retries that message, not a new one.
    const isRetry = last?.role === 'user' && last.content === message
    if (chat.maxUserTurns !== null && !isRetry) {
      const userTurns = finished.filter((stored) => stored.role === 'user').length
      if (userTurns >= chat.maxUserTurns) {
        throw new ConvexError(
          `This debrief has reached its limit of ${chat.maxUserTurns} messages. You can update your profile from it now.`,
        )
      }
    }

    await requireModelCall(ctx, chatModel().id)
    await consumeLimits(ctx, userId, ['chatTurn', 'modelCallsPerDay'])

    if (!isRetry) {
      await ctx.db.insert('enrichmentMessages', {
        ...chat.link, role: 'user', content: message, createdAt: now,
      })
    }
    // Date.now() is fixed for a whole mutation: +1 keeps the reply after the message it answers.
    const replyId = await ctx.db.insert('enrichmentMessages', {
      ...chat.link, role: 'assistant', content: '', status: 'streaming', createdAt: now + 1,
    })
    // If the Convex action running the turn dies before finishing the reply, this settles it so
    // no chat shows it forever.
    // Stored on the reply (same transaction, so still one write) for the finish to cancel.
    const expiryJobId = await ctx.scheduler.runAfter(
      staleReplyMs(),
      internal.enrichment.turns.expireReply,
      { replyId },
    )
    await ctx.db.patch('enrichmentMessages', replyId, { expiryJobId })

    const history = isRetry ? finished : [...finished, { role: 'user' as const, content: message }]
    return {
      kind: 'reply' as const,
      replyId,
      caller: { userId, profileId, ...(actionId && { actionId }) },
      system: chat.systemPrompt(profile, careerAction),
      messages: buildModelHistory(history),
    }
  },
})

/** A stream flush: the reply so far, written only while the reply is still streaming. */
export const writeReplyProgress = internalMutation({
  args: { replyId: v.id('enrichmentMessages'), content: v.string() },
  returns: v.null(),
  handler: async (ctx, { replyId, content }) => {
    const reply = await ctx.db.get('enrichmentMessages', replyId)
    if (reply?.status === 'streaming') {
      await ctx.db.patch('enrichmentMessages', replyId, { content })
    }
    return null
  },
})

/**
 * One chunk of a reply written with liveReply 'deltas', stored once and in order: a chunk
 * already stored (a retried write) is left as it is, and one that would leave a gap is refused.
 * Written only while the reply is still streaming.
 */
export const writeReplyChunk = internalMutation({
  args: { replyId: v.id('enrichmentMessages'), seq: v.number(), text: v.string() },
  returns: v.null(),
  handler: async (ctx, { replyId, seq, text }) => {
    const reply = await ctx.db.get('enrichmentMessages', replyId)
    if (reply?.status !== 'streaming') return null
    const last = await lastChunk(ctx, replyId)
    const expected = last ? last.seq + 1 : 0
    if (seq < expected) return null
    if (seq > expected) throw new Error(`Chunk ${seq} of reply ${replyId} would follow chunk ${expected - 1}`)
    await ctx.db.insert('liveReplyChunks', { replyId, seq, text })
    return null
  },
})

/** Scheduled when a delta-mode reply ends: its chunks have served their purpose. */
export const deleteReplyChunks = internalMutation({
  args: { replyId: v.id('enrichmentMessages') },
  returns: v.null(),
  handler: async (ctx, { replyId }) => {
    if (await deleteChunkBatch(ctx, replyId)) {
      await ctx.scheduler.runAfter(0, internal.enrichment.turns.deleteReplyChunks, { replyId })
    }
    return null
  },
})

/** Who a turn's model call is counted against, from what beginTurn returned. */
function usageOf(caller: TurnCaller) {
  return { ...caller, chat: chatOf(caller).usageKind }
}

export const finishTurn = internalMutation({
  args: {
    replyId: v.id('enrichmentMessages'),
    caller: turnCaller,
    content: v.string(),
    usage: modelUsageValidator,
  },
  returns: turnSettled,
  handler: async (ctx, { replyId, caller, content, usage }) => {
    // The call was made: it counts whatever happened to the reply or the account meanwhile.
    const { accountOpen } = await recordModelUsage(ctx, { ...usageOf(caller), usage, succeeded: true })
    // A deleted account's reply is never written (its deletion removes what is left of it).
    if (!accountOpen) return 'accountClosed'
    const reply = await ctx.db.get('enrichmentMessages', replyId)
    if (!reply) return 'replyGone'
    // A reply already settled as failed (its turn ran past the stale limit) stays settled:
    // the conversation may have moved on without it.
    if (reply.status === 'streaming') {
      await cancelExpiry(ctx, reply)
      await ctx.db.patch('enrichmentMessages', replyId, {
        content,
        status: undefined,
        expiryJobId: undefined,
      })
      await scheduleChunkRemoval(ctx, replyId)
    }
    return 'stored'
  },
})

export const failTurn = internalMutation({
  args: {
    replyId: v.id('enrichmentMessages'),
    caller: turnCaller,
    partialText: v.string(),
    usage: modelUsageValidator,
    /** The model's safety classifiers declined the request. */
    refused: v.optional(v.boolean()),
  },
  returns: turnSettled,
  handler: async (ctx, { replyId, caller, partialText, usage, refused }) => {
    // A call that spent nothing (a 429, say) has nothing to count.
    const accountOpen = usage.inputTokens + usage.outputTokens > 0
      ? (await recordModelUsage(ctx, { ...usageOf(caller), usage, succeeded: false })).accountOpen
      : !(await isAccountClosed(ctx, caller.userId))
    if (!accountOpen) return 'accountClosed'
    const reply = await ctx.db.get('enrichmentMessages', replyId)
    if (!reply) return 'replyGone'
    if (reply.status === 'streaming') {
      await cancelExpiry(ctx, reply)
      await settleFailedReply(ctx, reply, partialText)
      if (refused) await setAsideRefusedMessages(ctx, reply)
    }
    return 'stored'
  },
})

/**
 * After a refusal the request must not be sent again as it was (the model would keep refusing
 * every later turn), so the user messages that reply answered are marked `failed`: still
 * stored and listed, never again part of the history. A rephrased message starts afresh.
 */
async function setAsideRefusedMessages(ctx: MutationCtx, reply: Doc<'enrichmentMessages'>) {
  const chat = chatOf(reply)
  const newestFirst = (await chat.read(ctx, chat.turnReadLimit)).reverse()
  for (const message of newestFirst) {
    if (message.createdAt >= reply.createdAt || message.status !== undefined) continue
    if (message.role !== 'user') break
    await ctx.db.patch('enrichmentMessages', message._id, { status: 'failed' })
  }
}

/** Scheduled by beginTurn: settles a reply still streaming long after its deadline. */
export const expireReply = internalMutation({
  args: { replyId: v.id('enrichmentMessages') },
  returns: v.null(),
  handler: async (ctx, { replyId }) => {
    const reply = await ctx.db.get('enrichmentMessages', replyId)
    // This job is the reply's expiry itself, so there is nothing to cancel.
    if (reply?.status === 'streaming') await settleFailedReply(ctx, reply, await textSoFar(ctx, reply))
    return null
  },
})
