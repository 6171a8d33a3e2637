import { pick } from 'convex-helpers'
import { ConvexError, v } from 'convex/values'
import { internal } from '../_generated/api'
import { action, internalMutation } from '../_generated/server'
import { callTool } from '../ai/claude'
import { extractionModel } from '../ai/models'
import { isAccountClosed, NOT_AUTHENTICATED, PROFILE_NOT_FOUND, requireChatAccess } from '../lib/auth'
import { checkLength, FIELD_LIMITS } from '../lib/limits'
import { hasVisibleText } from '../lib/text'
import { requireModelCall } from '../lib/spending/ceilings'
import { consumeLimits } from '../lib/rateLimits'
import { modelUsageValidator, recordModelUsage } from '../lib/spending/usage'
import { messageDoc, readDebrief } from './chats'
import { DEBRIEF_READ_LIMIT, finishedTurns } from './history'
import { extractionResult, EXTRACTION_TOOL, parseExtraction, type ExtractionResult } from './extractionResult'
import { renderTranscript } from './promptEscaping'
import { extractionRequest, extractionSystemPrompt } from './prompts'

export const EXTRACTION_MAX_TOKENS = 1024
/**
 * Longest transcript one extraction sends, counted as sent (marked and escaped); a debrief at
 * its cap fits well inside.
 */
export const EXTRACTION_MAX_CHARS = 80_000
export const NOTHING_TO_EXTRACT =
  'There is nothing to update your profile from yet: the conversation has no message from you.'

/** A message as a client sends it for extraction: its role and text, as stored. */
const clientMessage = v.object(pick(messageDoc.fields, ['role', 'content']))

/**
 * Checks the caller (and the action), takes the rate-limit tokens, and returns the request:
 * the stored debrief when `actionId` is given, otherwise the client's `messages`.
 */
export const beginExtraction = internalMutation({
  args: {
    profileId: v.id('profiles'),
    actionId: v.optional(v.id('careerActions')),
    messages: v.array(clientMessage),
  },
  returns: v.object({ userId: v.id('users'), system: v.string(), messages: v.array(clientMessage) }),
  handler: async (ctx, { profileId, actionId, messages }) => {
    const { userId, profile } = await requireChatAccess(ctx, profileId, actionId)
    let source: { role: 'user' | 'assistant'; content: string; status?: 'streaming' | 'failed' }[]
    if (actionId) {
      source = await readDebrief(ctx, actionId, DEBRIEF_READ_LIMIT)
    } else {
      if (messages.length > DEBRIEF_READ_LIMIT) {
        throw new ConvexError(`Too many messages: at most ${DEBRIEF_READ_LIMIT} can be extracted at once`)
      }
      for (const message of messages) checkLength(message.content, FIELD_LIMITS.chatMessage)
      source = messages
    }
    // Every accepted message is read (at most DEBRIEF_READ_LIMIT), not only the chat window.
    const history = finishedTurns(source)
    if (!history.some((turn) => turn.role === 'user' && hasVisibleText(turn.content))) {
      throw new ConvexError(NOTHING_TO_EXTRACT)
    }
    const transcript = renderTranscript(history)
    if (transcript.length > EXTRACTION_MAX_CHARS) {
      throw new ConvexError(
        'This conversation is too long to update your profile from at once. Send a shorter part of it.',
      )
    }
    await requireModelCall(ctx, extractionModel().id)
    await consumeLimits(ctx, userId, ['extraction', 'modelCallsPerDay'])
    return {
      userId,
      system: extractionSystemPrompt(profile),
      messages: [{ role: 'user' as const, content: extractionRequest(transcript) }],
    }
  },
})

/**
 * Composes the model's answer with the profile as it is now (so the whole values reflect any
 * edit made while the model was thinking) and records the call's usage either way: the tokens
 * were spent. A malformed answer comes back as `error`, not a throw, so the usage row stays.
 * The call counts against `userId` (from beginExtraction) even when the profile or the whole
 * account was deleted meanwhile; then no result is composed, and nothing is written of them.
 */
export const finishExtraction = internalMutation({
  args: {
    userId: v.id('users'),
    profileId: v.id('profiles'),
    actionId: v.optional(v.id('careerActions')),
    // The tool's input as the model sent it; absent when the reply held no call to the tool.
    answer: v.optional(v.any()),
    // Set when the model call itself failed after spending tokens (a refusal, say).
    failure: v.optional(v.string()),
    usage: modelUsageValidator,
  },
  returns: v.union(
    v.object({ ok: v.literal(true), result: extractionResult }),
    v.object({ ok: v.literal(false), error: v.string() }),
  ),
  handler: async (ctx, { userId, profileId, actionId, answer, failure, usage }) => {
    const call = { userId, profileId, actionId, usage, chat: 'extraction' as const }
    const profile = await ctx.db.get('profiles', profileId)
    if (!profile || profile.userId !== userId || (await isAccountClosed(ctx, userId))) {
      // Returned, not thrown: a throw would roll back the usage just recorded.
      const { accountOpen } = await recordModelUsage(ctx, { ...call, succeeded: failure === undefined })
      return { ok: false as const, error: accountOpen ? PROFILE_NOT_FOUND : NOT_AUTHENTICATED }
    }
    let outcome: { ok: true; result: ExtractionResult } | { ok: false; error: string }
    try {
      outcome = failure === undefined ? { ok: true, result: parseExtraction(answer, profile) } : { ok: false, error: failure }
    } catch (error) {
      if (!(error instanceof ConvexError) || typeof error.data !== 'string') throw error
      outcome = { ok: false, error: error.data }
    }
    await recordModelUsage(ctx, { ...call, succeeded: outcome.ok })
    return outcome
  },
})

/**
 * Proposes profile updates from a conversation, for the review screen. With `actionId` the
 * stored debrief of that action is used and `messages` is ignored (a client can put anything
 * in `messages`; the stored debrief cannot be forged).
 */
export const extractFromConversation = action({
  args: {
    profileId: v.id('profiles'),
    messages: v.array(clientMessage),
    actionId: v.optional(v.id('careerActions')),
  },
  returns: extractionResult,
  handler: async (ctx, { profileId, messages, actionId }): Promise<ExtractionResult> => {
    const request = await ctx.runMutation(internal.enrichment.extraction.beginExtraction, {
      profileId,
      actionId,
      messages,
    })
    const outcome = await callTool({
      system: request.system,
      messages: request.messages,
      tool: EXTRACTION_TOOL,
      maxTokens: EXTRACTION_MAX_TOKENS,
    })
    // A failed call is recorded only when it spent tokens (a refusal does; a 429 does not).
    if (!outcome.ok && outcome.usage.inputTokens + outcome.usage.outputTokens === 0) throw outcome.error
    const finished: { ok: true; result: ExtractionResult } | { ok: false; error: string } =
      await ctx.runMutation(internal.enrichment.extraction.finishExtraction, {
        userId: request.userId,
        profileId,
        actionId,
        ...(outcome.ok ? { answer: outcome.value } : { failure: outcome.error.data }),
        usage: outcome.usage,
      })
    if (!finished.ok) throw new ConvexError(finished.error)
    return finished.result
  },
})
