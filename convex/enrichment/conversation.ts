import { v } from 'convex/values'
import { action } from '../_generated/server'
import { liveReplyMode } from '../schema'
import { runChatTurn } from './chatTurn'
import { COMPLETION_SIGNALS, ENRICHMENT_SIGNALS } from './prompts'

// The prompts (CAREER_COACH_PROMPT, COMPLETION_COACH_PROMPT) live in ./prompts and are filled
// there with buildProfileContext. Each turn loads its history inside beginTurn, with the same
// helpers as getMessages and getMessagesByAction, so one transaction checks, writes and reads.

const chatReply = v.object({ message: v.string(), shouldExtract: v.boolean() })

// `liveReply` (default 'document'): how the reply reaches clients while it is written; see
// liveReplyMode in the schema and getLiveReply in ./queries.

/** A turn of the general enrichment chat. */
export const sendMessage = action({
  args: { profileId: v.id('profiles'), message: v.string(), liveReply: v.optional(liveReplyMode) },
  returns: chatReply,
  handler: async (ctx, { profileId, message, liveReply }) =>
    await runChatTurn(ctx, { profileId, message, signals: ENRICHMENT_SIGNALS, liveReply }),
})

/**
 * A turn of the completion debrief of one done action. `actionContext` marks the opening
 * message: on a debrief that already holds a user message it stores nothing, calls no model
 * and returns the latest finished reply (the frontend sends the opening each time the view
 * mounts). Its contents are not used: the prompt describes the action as stored, so a client
 * cannot change what the model is told the action was.
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
      signals: COMPLETION_SIGNALS,
      liveReply,
    }),
})
