import { doc } from 'convex-helpers/validators'
import { v } from 'convex/values'
import type { Doc, Id } from '../_generated/dataModel'
import { query, type QueryCtx } from '../_generated/server'
import { findMyProfile, findUserId } from '../lib/auth'
import schema from '../schema'

/**
 * Most actions listed per status (the newest). Four lists at the generated-action text limits
 * in 3-byte characters (about 16 KB an action) stay near 3.8 MB, under half a transaction's
 * 8 MiB read limit.
 */
export const ACTIONS_PER_STATUS = 60

const actionDoc = doc(schema, 'careerActions')

async function actionsWithStatus(
  ctx: QueryCtx,
  profileId: Id<'profiles'>,
  status: Doc<'careerActions'>['status'],
): Promise<Doc<'careerActions'>[]> {
  return await ctx.db
    .query('careerActions')
    .withIndex('by_profile_status', (q) => q.eq('profileId', profileId).eq('status', status))
    .order('desc')
    .take(ACTIONS_PER_STATUS)
}

export const getMyActions = query({
  args: {},
  returns: v.union(
    v.null(),
    v.object({
      active: v.array(actionDoc),
      inProgress: v.array(actionDoc),
      saved: v.array(actionDoc),
      completed: v.array(actionDoc),
      hasProfile: v.boolean(),
      profileId: v.union(v.id('profiles'), v.null()),
    }),
  ),
  handler: async (ctx) => {
    if (!(await findUserId(ctx))) return null
    const profile = await findMyProfile(ctx)
    if (!profile) {
      return { active: [], inProgress: [], saved: [], completed: [], hasProfile: false, profileId: null }
    }
    const [active, inProgress, saved, done] = await Promise.all([
      actionsWithStatus(ctx, profile._id, 'active'),
      actionsWithStatus(ctx, profile._id, 'in_progress'),
      actionsWithStatus(ctx, profile._id, 'saved'),
      actionsWithStatus(ctx, profile._id, 'done'),
    ])
    const completed = done.sort((a, b) => (b.completedAt ?? 0) - (a.completedAt ?? 0))
    return { active, inProgress, saved, completed, hasProfile: true, profileId: profile._id }
  },
})
