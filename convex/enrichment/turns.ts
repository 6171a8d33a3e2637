// The transactions of one chat turn: beginTurn before the model call, finishTurn or failTurn
// after it, and writeReplyProgress for the stream flushes in between.
import { ConvexError, v } from 'convex/values'
import type { Doc, Id } from '../_generated/dataModel'
import { internalMutation, type MutationCtx } from '../_generated/server'
import { modelDeadlineMs, MODEL_ID } from '../ai/claude'
import { requireProfileAction, requireProfileOwner } from '../lib/auth'
import { checkChatMessage } from '../lib/limits'
import { consumeLimits } from '../lib/rateLimits'
import { messageRole } from '../schema'
import {
  buildModelHistory,
  DEBRIEF_READ_LIMIT,
  HISTORY_LIMIT,
  MAX_DEBRIEF_USER_TURNS,
} from './history'
import { careerCoachSystemPrompt, completionCoachSystemPrompt } from './prompts'
import { readDebrief, readGeneralChat } from './queries'

export const REPLY_IN_PROGRESS =
  'A reply is still being written in this conversation. Wait for it to finish, then send your message.'

/** A reply still marked streaming after this long belongs to a call that died without cleanup. */
function staleReplyMs(): number {
  return 2 * modelDeadlineMs()
}

const usageValidator = v.object({ inputTokens: v.number(), outputTokens: v.number() })

/** Removes an empty reply placeholder, or keeps the text that did arrive, marked failed. */
async function settleFailedReply(ctx: MutationCtx, reply: Doc<'enrichmentMessages'>, text: string) {
  if (text.length === 0) await ctx.db.delete('enrichmentMessages', reply._id)
  else await ctx.db.patch('enrichmentMessages', reply._id, { content: text, status: 'failed' })
}

/**
 * Checks the caller, the action and the limits, stores the user message and an empty reply
 * placeholder, and returns everything the model call needs. One transaction: a refused call
 * writes nothing, and two racing turns cannot both pass the in-progress check.
 */
export const beginTurn = internalMutation({
  args: {
    profileId: v.id('profiles'),
    actionId: v.optional(v.id('careerActions')),
    message: v.string(),
  },
  returns: v.object({
    userId: v.id('users'),
    replyId: v.id('enrichmentMessages'),
    system: v.string(),
    messages: v.array(v.object({ role: messageRole, content: v.string() })),
  }),
  handler: async (ctx, { profileId, actionId, message }) => {
    let userId: Id<'users'>
    let profile: Doc<'profiles'>
    let action: Doc<'careerActions'> | null = null
    if (actionId) {
      ;({ userId, profile, action } = await requireProfileAction(ctx, profileId, actionId))
      if (action.status !== 'done') {
        throw new ConvexError(
          `Cannot debrief an action with status "${action.status}" - must be "done"`,
        )
      }
    } else {
      ;({ userId, profile } = await requireProfileOwner(ctx, profileId))
    }
    checkChatMessage(message)

    const conversation = actionId
      ? await readDebrief(ctx, actionId, DEBRIEF_READ_LIMIT)
      : await readGeneralChat(ctx, profileId, HISTORY_LIMIT)

    const now = Date.now()
    for (const stored of conversation) {
      if (stored.status !== 'streaming') continue
      if (now - stored.createdAt < staleReplyMs()) throw new ConvexError(REPLY_IN_PROGRESS)
      await settleFailedReply(ctx, stored, stored.content)
    }

    const finished = conversation.filter((stored) => stored.status === undefined)
    const last = finished.at(-1)
    // Sending the same text again after a failed reply retries that message, not a new one.
    const isRetry = last?.role === 'user' && last.content === message
    if (action && !isRetry) {
      const userTurns = finished.filter((stored) => stored.role === 'user').length
      if (userTurns >= MAX_DEBRIEF_USER_TURNS) {
        throw new ConvexError(
          `This debrief has reached its limit of ${MAX_DEBRIEF_USER_TURNS} messages. You can update your profile from it now.`,
        )
      }
    }

    await consumeLimits(ctx, userId, ['chatTurn', 'modelCallsPerDay'])

    const link = actionId ? { actionId } : {}
    if (!isRetry) {
      await ctx.db.insert('enrichmentMessages', {
        profileId, role: 'user', content: message, ...link, createdAt: now,
      })
    }
    // Date.now() is fixed for a whole mutation: +1 keeps the reply after the message it answers.
    const replyId = await ctx.db.insert('enrichmentMessages', {
      profileId, role: 'assistant', content: '', status: 'streaming', ...link, createdAt: now + 1,
    })

    const history = isRetry ? finished : [...finished, { role: 'user' as const, content: message }]
    return {
      userId,
      replyId,
      system: action
        ? completionCoachSystemPrompt(profile, action)
        : careerCoachSystemPrompt(profile),
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

async function recordUsage(
  ctx: MutationCtx,
  userId: Id<'users'>,
  reply: Doc<'enrichmentMessages'>,
  usage: { inputTokens: number; outputTokens: number },
  succeeded: boolean,
) {
  await ctx.db.insert('modelUsage', {
    userId,
    profileId: reply.profileId,
    chat: reply.actionId ? 'debrief' : 'general',
    ...(reply.actionId && { actionId: reply.actionId }),
    model: MODEL_ID,
    ...usage,
    succeeded,
    createdAt: Date.now(),
  })
}

export const finishTurn = internalMutation({
  args: {
    replyId: v.id('enrichmentMessages'),
    userId: v.id('users'),
    content: v.string(),
    usage: usageValidator,
  },
  returns: v.null(),
  handler: async (ctx, { replyId, userId, content, usage }) => {
    const reply = await ctx.db.get('enrichmentMessages', replyId)
    if (!reply) throw new Error(`Reply ${replyId} vanished before it was finished`)
    await ctx.db.patch('enrichmentMessages', replyId, { content, status: undefined })
    await recordUsage(ctx, userId, reply, usage, true)
    return null
  },
})

export const failTurn = internalMutation({
  args: {
    replyId: v.id('enrichmentMessages'),
    userId: v.id('users'),
    partialText: v.string(),
    usage: usageValidator,
  },
  returns: v.null(),
  handler: async (ctx, { replyId, userId, partialText, usage }) => {
    const reply = await ctx.db.get('enrichmentMessages', replyId)
    if (!reply) return null
    await settleFailedReply(ctx, reply, partialText)
    if (usage.inputTokens + usage.outputTokens > 0) {
      await recordUsage(ctx, userId, reply, usage, false)
    }
    return null
  },
})
