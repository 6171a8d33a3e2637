// A chat turn, from the public action to the reply: beginTurn (./turns) checks and stores the
// user message, the model writes the reply live (./liveWriter), finishTurn or failTurn settles
// it. Which of the two chats a turn belongs to is decided once, by ./chats.
import { ConvexError, v, type Infer } from 'convex/values'
import { internal } from '../_generated/api'
import type { Id } from '../_generated/dataModel'
import { action, env, type ActionCtx } from '../_generated/server'
import { generateReply, MODEL_ERRORS } from '../ai/claude'
import { NOT_AUTHENTICATED } from '../lib/auth'
import { liveReplyMode } from '../schema'
import { chatOf } from './chats'
import { createLiveWriter, type LiveReplyMode } from './liveWriter'
import { hasSignal } from './prompts'

const chatReply = v.object({ message: v.string(), shouldExtract: v.boolean() })
type ChatReply = Infer<typeof chatReply>

// `liveReply` (default 'document'): how the reply reaches clients while it is written; see
// liveReplyMode in the schema and getLiveReply in ./queries.

/** A turn of the general chat. */
export const sendMessage = action({
  args: { profileId: v.id('profiles'), message: v.string(), liveReply: v.optional(liveReplyMode) },
  returns: chatReply,
  handler: async (ctx, { profileId, message, liveReply }) =>
    await runChatTurn(ctx, { profileId, message, liveReply }),
})

/**
 * A turn of the debrief of one done career action. `actionContext` marks the opening
 * message: on a debrief that already holds a user message it stores nothing, calls no model
 * and returns the latest finished reply (the frontend sends the opening each time the view
 * mounts). Its contents are not used: the prompt describes the career action as stored, so a
 * client cannot change what the model is told it was.
 */
export const sendCompletionMessage = action({
  args: {
    profileId: v.id('profiles'),
    actionId: v.id('careerActions'),
    message: v.string(),
    actionContext: v.optional(
      v.object({ title: v.string(), description: v.string(), type: v.string() }),
    ),
    liveReply: v.optional(liveReplyMode),
  },
  returns: chatReply,
  handler: async (ctx, { profileId, actionId, message, actionContext, liveReply }) =>
    await runChatTurn(ctx, {
      profileId,
      actionId,
      message,
      opening: actionContext !== undefined,
      liveReply,
    }),
})

/**
 * One chat turn, in two transactions apart from the live writes: beginTurn (checks, stores the
 * user message, returns the request), the model call, then finishTurn or failTurn.
 */
async function runChatTurn(
  ctx: ActionCtx,
  turn: {
    profileId: Id<'profiles'>
    actionId?: Id<'careerActions'>
    message: string
    opening?: boolean
    liveReply?: LiveReplyMode
  },
): Promise<ChatReply> {
  const request = await ctx.runMutation(internal.enrichment.turns.beginTurn, {
    profileId: turn.profileId,
    actionId: turn.actionId,
    message: turn.message,
    opening: turn.opening,
  })
  if (request.kind === 'alreadyOpened') {
    return { message: request.message, shouldExtract: request.shouldExtract }
  }
  // CHAT_STREAMING=off waits for the whole reply (kept for the benchmark's comparison).
  const stream = env.CHAT_STREAMING !== 'off'
  const live = createLiveWriter(ctx, request.replyId, turn.liveReply ?? 'document')

  const outcome = await generateReply({
    system: request.system,
    messages: request.messages,
    stream,
    onText: live.push,
  })
  await live.drain()

  if (!outcome.ok) {
    const settled = await ctx.runMutation(internal.enrichment.turns.failTurn, {
      replyId: request.replyId,
      caller: request.caller,
      partialText: outcome.partialText,
      usage: outcome.usage,
      refused: outcome.refused,
    })
    if (settled === 'accountClosed') throw new ConvexError(NOT_AUTHENTICATED)
    throw outcome.error
  }
  const settled = await ctx.runMutation(internal.enrichment.turns.finishTurn, {
    replyId: request.replyId,
    caller: request.caller,
    content: outcome.value,
    usage: outcome.usage,
  })
  // The account was deleted while the model wrote: its reply is not handed out either.
  if (settled === 'accountClosed') throw new ConvexError(NOT_AUTHENTICATED)
  // Settled by its expiry first (the turn outlived the stale limit): the chat has no reply to show.
  if (settled === 'replyGone') throw new ConvexError(MODEL_ERRORS.timeout)
  return { message: outcome.value, shouldExtract: hasSignal(outcome.value, chatOf(turn).signals) }
}
