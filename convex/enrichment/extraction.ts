import { ConvexError, v } from 'convex/values'
import { internal } from '../_generated/api'
import { action, internalMutation } from '../_generated/server'
import { callTool } from '../ai/claude'
import { requireChatAccess } from '../lib/auth'
import { checkLength, FIELD_LIMITS } from '../lib/limits'
import { requireModelBudget } from '../lib/budget'
import { consumeLimits } from '../lib/rateLimits'
import { recordModelUsage } from '../lib/usage'
import { messageRole } from '../schema'
import { DEBRIEF_READ_LIMIT, finishedTurns } from './history'
import {
  extractionResult,
  EXTRACTION_TOOL,
  parseExtraction,
  type ExtractionResult,
} from './extractionResult'
import { promptSafe } from './profileContext'
import { extractionSystemPrompt } from './prompts'
import { readDebrief } from './queries'

export const EXTRACTION_MAX_TOKENS = 1024
/**
 * Longest transcript one extraction sends, counted as sent (marked and escaped); a debrief at
 * its cap fits well inside.
 */
export const EXTRACTION_MAX_CHARS = 80_000
export const NOTHING_TO_EXTRACT =
  'There is nothing to update your profile from yet: the conversation has no message from you.'

const clientMessage = v.object({ role: messageRole, content: v.string() })

// Every way a text can start a new line, so no message can start a line of its own.
const LINE_BREAK = /\r\n|[\n\r\v\f\u0085\u2028\u2029]/

/**
 * The transcript as sent: each message opens with a `User:` or `Coach:` line and each of its
 * further lines starts with `| `, so a message cannot forge the other speaker's line; data tags
 * are escaped and half characters replaced.
 */
function renderTranscript(messages: { role: 'user' | 'assistant'; content: string }[]): string {
  return messages
    .map((message) => {
      const [first, ...rest] = promptSafe(message.content).split(LINE_BREAK)
      const speaker = message.role === 'user' ? 'User' : 'Coach'
      return [`${speaker}: ${first}`, ...rest.map((text) => `| ${text}`)].join('\n')
    })
    .join('\n\n')
}

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
  returns: v.object({
    userId: v.id('users'),
    system: v.string(),
    messages: v.array(clientMessage),
    existing: v.object({
      skills: v.optional(v.array(v.string())),
      aiSafetyInterests: v.optional(v.array(v.string())),
    }),
  }),
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
    if (!history.some((turn) => turn.role === 'user' && turn.content.trim())) {
      throw new ConvexError(NOTHING_TO_EXTRACT)
    }
    const transcript = renderTranscript(history)
    if (transcript.length > EXTRACTION_MAX_CHARS) {
      throw new ConvexError(
        'This conversation is too long to update your profile from at once. Send a shorter part of it.',
      )
    }
    await requireModelBudget(ctx)
    await consumeLimits(ctx, userId, ['extraction', 'modelCallsPerDay'])
    return {
      userId,
      system: extractionSystemPrompt(profile),
      messages: [
        {
          role: 'user' as const,
          content: `<conversation>\n${transcript}\n</conversation>\n\nRecord what this conversation reveals about me by calling ${EXTRACTION_TOOL.name}.`,
        },
      ],
      existing: { skills: profile.skills, aiSafetyInterests: profile.aiSafetyInterests },
    }
  },
})

export const recordExtractionUsage = internalMutation({
  args: {
    userId: v.id('users'),
    profileId: v.id('profiles'),
    actionId: v.optional(v.id('careerActions')),
    usage: v.object({ inputTokens: v.number(), outputTokens: v.number() }),
    succeeded: v.boolean(),
  },
  returns: v.null(),
  handler: async (ctx, call) => {
    await recordModelUsage(ctx, { ...call, chat: 'extraction' })
    return null
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
  handler: async (ctx, { profileId, messages, actionId }) => {
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
    if (!outcome.ok) throw outcome.error
    // Parse before recording, but record either way: the tokens were spent.
    let result: ExtractionResult | undefined
    try {
      result = parseExtraction(outcome.value, request.existing)
    } finally {
      await ctx.runMutation(internal.enrichment.extraction.recordExtractionUsage, {
        userId: request.userId,
        profileId,
        actionId,
        usage: outcome.usage,
        succeeded: result !== undefined,
      })
    }
    return result
  },
})
