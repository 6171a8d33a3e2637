import { pick } from 'convex-helpers'
import { doc } from 'convex-helpers/validators'
import { ConvexError, v, type Infer } from 'convex/values'
import type { Doc, Id } from '../_generated/dataModel'
import { internal } from '../_generated/api'
import { internalMutation, type MutationCtx } from '../_generated/server'
import { MODEL_ID } from '../ai/claude'
import { ownedCareerActionMutation } from '../lib/auth'
import { checkLength, checkListLength } from '../lib/limits'
import schema from '../schema'

type Status = Doc<'careerActions'>['status']

/**
 * Moves the caller's career action from one of `from` to `to`. Any other current status
 * throws, naming the status it has and the ones it needs.
 */
async function moveCareerAction(
  ctx: MutationCtx & { careerAction: Doc<'careerActions'> },
  move: { verb: string; from: Status[]; to: Status; patch?: Partial<Doc<'careerActions'>> },
): Promise<null> {
  const { careerAction } = ctx
  if (!move.from.includes(careerAction.status)) {
    const expected = move.from.map((status) => `"${status}"`).join(' or ')
    throw new ConvexError(
      `Cannot ${move.verb} an action with status "${careerAction.status}" - must be ${expected}`,
    )
  }
  await ctx.db.patch('careerActions', careerAction._id, { ...move.patch, status: move.to })
  return null
}

export const saveAction = ownedCareerActionMutation({
  args: {},
  returns: v.null(),
  handler: (ctx) => moveCareerAction(ctx, { verb: 'save', from: ['active'], to: 'saved' }),
})

export const dismissAction = ownedCareerActionMutation({
  args: {},
  returns: v.null(),
  handler: (ctx) =>
    moveCareerAction(ctx, { verb: 'dismiss', from: ['active', 'saved'], to: 'dismissed' }),
})

export const startAction = ownedCareerActionMutation({
  args: {},
  returns: v.null(),
  handler: (ctx) =>
    moveCareerAction(ctx, {
      verb: 'start',
      from: ['active', 'saved'],
      to: 'in_progress',
      patch: { startedAt: Date.now() },
    }),
})

export const completeAction = ownedCareerActionMutation({
  args: {},
  returns: v.null(),
  handler: (ctx) =>
    moveCareerAction(ctx, {
      verb: 'complete',
      from: ['in_progress'],
      to: 'done',
      patch: { completedAt: Date.now() },
    }),
})

export const unsaveAction = ownedCareerActionMutation({
  args: {},
  returns: v.null(),
  handler: (ctx) => moveCareerAction(ctx, { verb: 'unsave', from: ['saved'], to: 'active' }),
})

export const cancelAction = ownedCareerActionMutation({
  args: {},
  returns: v.null(),
  handler: (ctx) =>
    moveCareerAction(ctx, {
      verb: 'cancel',
      from: ['in_progress'],
      to: 'active',
      patch: { startedAt: undefined },
    }),
})

/**
 * Called after completeAction when the user chooses "Tell us about it". Only a done career
 * action can have a debrief; calling it again leaves the flag set and changes nothing else.
 */
export const markCompletionStarted = ownedCareerActionMutation({
  args: {},
  returns: v.null(),
  handler: async (ctx) => {
    const { careerAction } = ctx
    if (careerAction.status !== 'done') {
      throw new ConvexError(
        `Cannot start completion conversation for action with status "${careerAction.status}" - must be "done"`,
      )
    }
    if (!careerAction.completionConversationStarted) {
      await ctx.db.patch('careerActions', careerAction._id, { completionConversationStarted: true })
    }
    return null
  },
})

/** Most actions one generation may save. */
export const MAX_GENERATED_ACTIONS = 50

/** Longest texts of a generated action (the model writes them), so every read of actions is bounded. */
export const GENERATED_ACTION_LIMITS = {
  title: 200,
  description: 2000,
  rationale: 1000,
  profileBasisEntries: 10,
  profileBasisEntry: 200,
} as const

/**
 * Replaced actions deleted per transaction. With the text limits of a generated action (at
 * most about 16 KB of UTF-8 each) a batch reads at most about 3.2 MB, well under the 8 MiB a
 * transaction may read, and writes 200 documents.
 */
export const REPLACED_ACTIONS_PER_BATCH = 200

/** What a generation writes of each career action; the rest is set when it is saved. */
const generatedCareerAction = v.object(
  pick(doc(schema, 'careerActions').fields, ['type', 'title', 'description', 'rationale', 'profileBasis']),
)

function checkGeneratedAction(action: Infer<typeof generatedCareerAction>): void {
  const limits = GENERATED_ACTION_LIMITS
  checkLength(action.title, limits.title)
  checkLength(action.description, limits.description)
  checkLength(action.rationale, limits.rationale)
  if (action.profileBasis) {
    checkListLength(action.profileBasis, limits.profileBasisEntries, 'profile basis entries')
    for (const basis of action.profileBasis) checkLength(basis, limits.profileBasisEntry)
  }
}

/**
 * Deletes the profile's active actions created at or before `upTo`, oldest first, one batch
 * per transaction; schedules the next batch while a full one was found. Unsave and cancel move
 * actions back to active, so there can be any number of them.
 */
async function deleteReplacedActions(
  ctx: MutationCtx,
  profileId: Id<'profiles'>,
  upTo: number,
): Promise<void> {
  const batch = await ctx.db
    .query('careerActions')
    .withIndex('by_profile_status', (q) =>
      q.eq('profileId', profileId).eq('status', 'active').lte('_creationTime', upTo),
    )
    .take(REPLACED_ACTIONS_PER_BATCH)
  for (const action of batch) await ctx.db.delete('careerActions', action._id)
  if (batch.length === REPLACED_ACTIONS_PER_BATCH) {
    await ctx.scheduler.runAfter(0, internal.careerActions.mutations.deleteReplacedActionsBatch, {
      profileId,
      upTo,
    })
  }
}

/** The next batch of a replacement that had more than one batch of active actions. */
export const deleteReplacedActionsBatch = internalMutation({
  args: { profileId: v.id('profiles'), upTo: v.number() },
  returns: v.null(),
  handler: async (ctx, { profileId, upTo }) => {
    await deleteReplacedActions(ctx, profileId, upTo)
    return null
  },
})

/**
 * Replaces the profile's `active` actions; saved, in-progress, done and dismissed ones stay.
 * Up to REPLACED_ACTIONS_PER_BATCH old active actions go in this transaction (so the usual
 * replacement is atomic); more are deleted by scheduled batches right after.
 */
export const saveGeneratedActions = internalMutation({
  args: {
    profileId: v.id('profiles'),
    actions: v.array(generatedCareerAction),
    modelVersion: v.optional(v.string()),
  },
  returns: v.object({ savedCount: v.number() }),
  handler: async (ctx, { profileId, actions, modelVersion }) => {
    if (!(await ctx.db.get('profiles', profileId))) throw new ConvexError('Profile not found')
    if (actions.length > MAX_GENERATED_ACTIONS) {
      throw new ConvexError(`Too many actions: at most ${MAX_GENERATED_ACTIONS} per generation`)
    }
    for (const action of actions) checkGeneratedAction(action)
    // Every active action that exists now was created no later than the newest one; the new
    // actions are created after it, so `upTo` tells old from new in every later batch.
    const newestOld = await ctx.db
      .query('careerActions')
      .withIndex('by_profile_status', (q) => q.eq('profileId', profileId).eq('status', 'active'))
      .order('desc')
      .first()
    if (newestOld) await deleteReplacedActions(ctx, profileId, newestOld._creationTime)
    const generatedAt = Date.now()
    for (const action of actions) {
      await ctx.db.insert('careerActions', {
        ...action,
        profileId,
        status: 'active',
        generatedAt,
        modelVersion: modelVersion ?? MODEL_ID,
      })
    }
    return { savedCount: actions.length }
  },
})
