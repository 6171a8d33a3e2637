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
export const editableProfile = v.object(editableProfileFields)

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
 * `failed`: its model call failed part-way (a reply), or the model refused it (a user message).
 * Neither is ever sent to the model as history.
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

/** Totals of one (model, chat) within a day and shard of the usage report. */
export const usageReportLine = v.object({
  model: v.string(),
  chat: usageChat,
  calls: v.number(),
  failedCalls: v.number(),
  inputTokens: v.number(),
  outputTokens: v.number(),
  costMicroUsd: v.number(),
})

export default defineSchema({
  ...authTables,

  // @convex-dev/auth's users table, every field and index kept, plus the deletion mark.
  users: defineTable({
    ...authTables.users.validator.fields,
    // Set by account.deleteMyData: from then on every function treats the user as signed out.
    deletionRequestedAt: v.optional(v.number()),
    // When the user first had a session (lib/account/claims.ts); absent on accounts older than it.
    firstSessionAt: v.optional(v.number()),
  })
    .index('email', ['email'])
    .index('phone', ['phone']),

  // @convex-dev/auth's verifiers, plus an index so a deleted user's session's verifiers are found.
  authVerifiers: defineTable(authTables.authVerifiers.validator.fields)
    .index('signature', ['signature'])
    .index('sessionId', ['sessionId']),

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
    // Integer micro-dollars, priced when the row is written. A row has it exactly when it is
    // counted in the usage report; older rows get it from admin:backfillUsageReport.
    costMicroUsd: v.optional(v.number()),
  }).index('by_user', ['userId', 'createdAt']),

  // One per account being deleted, removed with the last batch. Scheduled batches carry only
  // this id, so the scheduler's records never name the user.
  accountDeletions: defineTable({
    userId: v.id('users'),
    requestedAt: v.number(),
    /** The step the next batch runs (see DELETION_STEPS in convex/lib/account/deletion.ts). */
    step: v.string(),
    /** The email and phone the user signed in with: the sign-in rate limits keyed by them go last. */
    signInIdentifiers: v.array(v.string()),
    batches: v.number(),
    deleted: v.number(),
    /** Batches that threw; each is rolled back and retried later. */
    failures: v.number(),
    lastError: v.optional(v.string()),
  }).index('by_user', ['userId']),

  // What is left of ended sessions (convex/sessionEnding.ts): their refresh tokens, and the
  // sessions of `left.userId` created up to `left.createdUpTo` (never those in `except`)
  // that the ending transaction had no room for. Deleted when nothing is left.
  sessionCleanups: defineTable({
    sessionIds: v.array(v.id('authSessions')),
    left: v.optional(
      v.object({
        userId: v.id('users'),
        createdUpTo: v.number(),
        except: v.array(v.id('authSessions')),
      }),
    ),
  }),

  // An account email while it is in @convex-dev/resend's queue (convex/accountEmails.ts): a new
  // code cancels the old code's email, a code's email is queued again while the code works, and
  // a deleted account's queued emails are cancelled. Deleted once its email has left the queue.
  queuedAccountEmails: defineTable({
    address: v.string(),
    /** The component's email id. */
    emailId: v.string(),
    kind: v.union(v.literal('code'), v.literal('note')),
    /** A code email's idempotency key: the same code is never queued twice. */
    key: v.optional(v.string()),
    codeExpiresAt: v.optional(v.number()),
    /** How many times the email was queued again after the component gave up on it. */
    resends: v.number(),
  }).index('by_address', ['address', 'kind']),

  // Addresses whose email bounced or was reported as spam (Resend's webhook): a step that would
  // email one says so instead. One row per address, gone after DELIVERY_PROBLEM_DAYS.
  emailDeliveryProblems: defineTable({
    address: v.string(),
    problem: v.union(v.literal('bounced'), v.literal('complained')),
    recordedAt: v.number(),
  })
    .index('by_address', ['address'])
    .index('by_recordedAt', ['recordedAt']),

  // An export file in storage, deleted (with this row) when its link expires.
  accountExports: defineTable({
    userId: v.id('users'),
    storageId: v.optional(v.id('_storage')),
    // The size of the file the action is about to store, written just before it stores it:
    // if the action dies before recording `storageId`, the cleanup finds the file by it.
    fileBytes: v.optional(v.number()),
    createdAt: v.number(),
    expiresAt: v.number(),
  })
    .index('by_user', ['userId'])
    .index('by_storage', ['storageId']),
  // The operator's usage report (convex/lib/report/rollups.ts), kept current in the transaction
  // that writes each usage row. One document per UTC day and shard of users, so no document is
  // written by every call; a report reads days x shards documents, never the rows.
  usageReportDays: defineTable({
    day: v.number(), // UTC midnight, ms
    shard: v.number(),
    lines: v.array(usageReportLine),
  }).index('by_day_shard', ['day', 'shard']),

  // Calls and cost per UTC day and user, for the top users of a day. `userId` is removed when
  // the account is deleted; the spending stays.
  usageReportUserDays: defineTable({
    day: v.number(),
    userId: v.optional(v.id('users')),
    calls: v.number(),
    costMicroUsd: v.number(),
  })
    .index('by_day_cost', ['day', 'costMicroUsd'])
    .index('by_user_day', ['userId', 'day']),

  // What the daily ceilings had counted when the cron last summed their shards (one document
  // per UTC day). The check before a model call reads this instead of the shards, which every
  // finishing call writes; see convex/lib/spending/ceilings.ts.
  ceilingSnapshots: defineTable({
    day: v.string(), // YYYY-MM-DD, UTC
    modelTokensPerDay: v.number(),
    modelMicroUsdPerDay: v.number(),
    takenAt: v.number(),
  }).index('by_day', ['day']),

  // Progress of admin:backfillUsageReport (at most one document).
  usageReportBackfill: defineTable({
    runId: v.number(),
    status: v.union(v.literal('running'), v.literal('done'), v.literal('stopped')),
    cursor: v.union(v.string(), v.null()),
    rowsSeen: v.number(),
    rowsCounted: v.number(),
    note: v.optional(v.string()),
    updatedAt: v.number(),
  }),
})
