import { authTables } from '@convex-dev/auth/server'
import { defineSchema, defineTable } from 'convex/server'
import { v } from 'convex/values'

// Validators shared by the schema and the functions that accept the same shapes.

export const educationEntry = v.object({
  institution: v.string(),
  degree: v.optional(v.string()),
  field: v.optional(v.string()),
  startYear: v.optional(v.number()),
  endYear: v.optional(v.number()),
  current: v.optional(v.boolean()),
})

export const workEntry = v.object({
  organization: v.string(),
  title: v.string(),
  startDate: v.optional(v.string()),
  endDate: v.optional(v.string()),
  current: v.optional(v.boolean()),
  description: v.optional(v.string()),
})

/** Every profile field a user may edit; all optional so one object serves create and update. */
export const editableProfileFields = {
  name: v.optional(v.string()),
  pronouns: v.optional(v.string()),
  location: v.optional(v.string()),
  headline: v.optional(v.string()),
  education: v.optional(v.array(educationEntry)),
  workHistory: v.optional(v.array(workEntry)),
  skills: v.optional(v.array(v.string())),
  careerGoals: v.optional(v.string()),
  aiSafetyInterests: v.optional(v.array(v.string())),
  seeking: v.optional(v.string()),
  enrichmentSummary: v.optional(v.string()),
  hasEnrichmentConversation: v.optional(v.boolean()),
}

export const actionType = v.union(
  v.literal('replicate'),
  v.literal('collaborate'),
  v.literal('start_org'),
  v.literal('identify_gaps'),
  v.literal('volunteer'),
  v.literal('build_tools'),
  v.literal('teach_write'),
  v.literal('develop_skills'),
)

export const actionStatus = v.union(
  v.literal('active'),
  v.literal('saved'),
  v.literal('dismissed'),
  v.literal('in_progress'),
  v.literal('done'),
)

export const messageRole = v.union(v.literal('user'), v.literal('assistant'))

/**
 * Absent on a finished message. `streaming`: the reply is still being written;
 * `failed`: its model call failed part-way. Neither is ever sent to the model as history.
 */
export const messageStatus = v.union(v.literal('streaming'), v.literal('failed'))

/**
 * How a reply reaches the client while it is written. `document`: into its message document,
 * which the chat queries return. `deltas`: into liveReplyChunks, read with getLiveReply; the
 * message document is written only when the turn starts and when it ends.
 */
export const liveReplyMode = v.union(v.literal('document'), v.literal('deltas'))

export const usageChat = v.union(
  v.literal('general'),
  v.literal('debrief'),
  v.literal('extraction'),
)

export default defineSchema({
  ...authTables,

  profiles: defineTable({
    userId: v.id('users'),
    ...editableProfileFields,
    createdAt: v.number(),
    updatedAt: v.number(),
  }).index('by_user', ['userId']),

  careerActions: defineTable({
    profileId: v.id('profiles'),
    type: actionType,
    title: v.string(),
    description: v.string(),
    rationale: v.string(),
    profileBasis: v.optional(v.array(v.string())),
    status: actionStatus,
    generatedAt: v.number(),
    startedAt: v.optional(v.number()),
    completedAt: v.optional(v.number()),
    modelVersion: v.string(),
    completionConversationStarted: v.optional(v.boolean()),
  })
    // by_profile is part of the schema other code and tests rely on (all of a profile's
    // actions in creation order); this backend's own reads use by_profile_status.
    // eslint-disable-next-line @convex-dev/no-duplicate-indexes
    .index('by_profile', ['profileId'])
    .index('by_profile_status', ['profileId', 'status']),

  enrichmentMessages: defineTable({
    profileId: v.id('profiles'),
    role: messageRole,
    content: v.string(),
    // Set on completion-debrief messages; absent on the general enrichment chat.
    actionId: v.optional(v.id('careerActions')),
    status: v.optional(messageStatus),
    // While a reply streams: the scheduled job that settles it if its action dies, so the
    // finishing transaction can cancel it. Removed when the reply is settled.
    expiryJobId: v.optional(v.id('_scheduled_functions')),
    createdAt: v.number(),
  })
    .index('by_profile', ['profileId', 'createdAt'])
    .index('by_action', ['actionId', 'createdAt'])
    // The general chat reads (profileId, actionId = undefined) so it never walks debriefs.
    .index('by_profile_chat', ['profileId', 'actionId', 'createdAt']),

  // The text of a reply being written with liveReply 'deltas': each chunk written once, in
  // order (seq 0, 1, ...). The chat queries never read it; a finished reply's chunks are deleted.
  liveReplyChunks: defineTable({
    replyId: v.id('enrichmentMessages'),
    seq: v.number(),
    text: v.string(),
  }).index('by_reply', ['replyId', 'seq']),

  // One row per model call, so cost per user can be read.
  modelUsage: defineTable({
    userId: v.id('users'),
    profileId: v.id('profiles'),
    chat: usageChat,
    actionId: v.optional(v.id('careerActions')),
    model: v.string(),
    inputTokens: v.number(),
    outputTokens: v.number(),
    succeeded: v.boolean(),
    createdAt: v.number(),
  }).index('by_user', ['userId', 'createdAt']),
})
