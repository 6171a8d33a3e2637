import { ConvexError, v } from 'convex/values'
import type { Doc, Id } from '../_generated/dataModel'
import { internalMutation, mutation, type MutationCtx } from '../_generated/server'
import { MODEL_ID } from '../ai/claude'
import { verifyActionOwnership } from '../lib/auth'
import { actionType } from '../schema'

type Status = Doc<'careerActions'>['status']

/**
 * Moves an owned action from one of `from` to `to`. Any other current status throws,
 * naming the status it has and the ones it needs.
 */
async function moveAction(
  ctx: MutationCtx,
  actionId: Id<'careerActions'>,
  move: { verb: string; from: Status[]; to: Status; patch?: Partial<Doc<'careerActions'>> },
): Promise<null> {
  const { action } = await verifyActionOwnership(ctx, actionId)
  if (!move.from.includes(action.status)) {
    const expected = move.from.map((status) => `"${status}"`).join(' or ')
    throw new ConvexError(
      `Cannot ${move.verb} an action with status "${action.status}" - must be ${expected}`,
    )
  }
  await ctx.db.patch('careerActions', actionId, { ...move.patch, status: move.to })
  return null
}

const byId = { actionId: v.id('careerActions') }

export const saveAction = mutation({
  args: byId,
  returns: v.null(),
  handler: (ctx, { actionId }) =>
    moveAction(ctx, actionId, { verb: 'save', from: ['active'], to: 'saved' }),
})

export const dismissAction = mutation({
  args: byId,
  returns: v.null(),
  handler: (ctx, { actionId }) =>
    moveAction(ctx, actionId, { verb: 'dismiss', from: ['active', 'saved'], to: 'dismissed' }),
})

export const startAction = mutation({
  args: byId,
  returns: v.null(),
  handler: (ctx, { actionId }) =>
    moveAction(ctx, actionId, {
      verb: 'start',
      from: ['active', 'saved'],
      to: 'in_progress',
      patch: { startedAt: Date.now() },
    }),
})

export const completeAction = mutation({
  args: byId,
  returns: v.null(),
  handler: (ctx, { actionId }) =>
    moveAction(ctx, actionId, {
      verb: 'complete',
      from: ['in_progress'],
      to: 'done',
      patch: { completedAt: Date.now() },
    }),
})

export const unsaveAction = mutation({
  args: byId,
  returns: v.null(),
  handler: (ctx, { actionId }) =>
    moveAction(ctx, actionId, { verb: 'unsave', from: ['saved'], to: 'active' }),
})

export const cancelAction = mutation({
  args: byId,
  returns: v.null(),
  handler: (ctx, { actionId }) =>
    moveAction(ctx, actionId, {
      verb: 'cancel',
      from: ['in_progress'],
      to: 'active',
      patch: { startedAt: undefined },
    }),
})

/**
 * Called after completeAction when the user chooses "Tell us about it". Only a done action
 * can have a debrief; calling it again leaves the flag set and changes nothing else.
 */
export const markCompletionStarted = mutation({
  args: byId,
  returns: v.null(),
  handler: async (ctx, { actionId }) => {
    const { action } = await verifyActionOwnership(ctx, actionId)
    if (action.status !== 'done') {
      throw new ConvexError(
        `Cannot start completion conversation for action with status "${action.status}" - must be "done"`,
      )
    }
    if (!action.completionConversationStarted) {
      await ctx.db.patch('careerActions', actionId, { completionConversationStarted: true })
    }
    return null
  },
})

/** Most actions one generation may save. */
export const MAX_GENERATED_ACTIONS = 50

/** Replaces the profile's `active` actions; saved, in-progress, done and dismissed ones stay. */
export const saveGeneratedActions = internalMutation({
  args: {
    profileId: v.id('profiles'),
    actions: v.array(
      v.object({
        type: actionType,
        title: v.string(),
        description: v.string(),
        rationale: v.string(),
        profileBasis: v.optional(v.array(v.string())),
      }),
    ),
    modelVersion: v.optional(v.string()),
  },
  returns: v.object({ savedCount: v.number() }),
  handler: async (ctx, { profileId, actions, modelVersion }) => {
    if (!(await ctx.db.get('profiles', profileId))) throw new ConvexError('Profile not found')
    if (actions.length > MAX_GENERATED_ACTIONS) {
      throw new ConvexError(`Too many actions: at most ${MAX_GENERATED_ACTIONS} per generation`)
    }
    // Bounded: only this mutation creates actions, at most MAX_GENERATED_ACTIONS at a time.
    const previous = await ctx.db
      .query('careerActions')
      .withIndex('by_profile_status', (q) => q.eq('profileId', profileId).eq('status', 'active'))
      .collect()
    for (const action of previous) await ctx.db.delete('careerActions', action._id)
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
