// What is left of ended sessions, deleted in bounded scheduled batches (see
// convex/lib/account/sessions.ts): their refresh tokens and verifiers, and the sessions of a
// user beyond what the ending transaction deleted itself.
import { v } from 'convex/values'
import { internal } from './_generated/api'
import { internalMutation } from './_generated/server'
import {
  deleteRemainsOf,
  deleteSessionsLeft,
  ENDED_SESSION_BATCH,
  endSessionsOf,
  MAX_LISTED_SESSIONS,
} from './lib/account/sessions'

/** A password reset: every session of the user but the one the reset signed in, ended now. */
export const endOtherSessions = internalMutation({
  args: { userId: v.id('users'), keep: v.optional(v.id('authSessions')) },
  returns: v.null(),
  handler: async (ctx, { userId, keep }) => {
    await endSessionsOf(ctx, userId, keep ? [keep] : [])
    return null
  },
})

/**
 * One batch of a cleanup row: at most ENDED_SESSION_BATCH documents read and deleted, then
 * the row is updated and the next batch scheduled, or the row deleted when nothing is left.
 * Safe to run again: it finds what is left in the database.
 */
export const deleteEndedSessions = internalMutation({
  args: { cleanupId: v.id('sessionCleanups') },
  returns: v.null(),
  handler: async (ctx, { cleanupId }) => {
    const cleanup = await ctx.db.get('sessionCleanups', cleanupId)
    if (!cleanup) return null
    let budget = ENDED_SESSION_BATCH
    let sessionIds = cleanup.sessionIds
    let left = cleanup.left
    if (left && sessionIds.length < MAX_LISTED_SESSIONS) {
      const batch = await deleteSessionsLeft(ctx, left, Math.min(budget, MAX_LISTED_SESSIONS - sessionIds.length))
      sessionIds = [...sessionIds, ...batch.ended]
      budget -= batch.read
      if (!batch.more) left = undefined
    }
    sessionIds = await deleteRemainsOf(ctx, sessionIds, budget)
    if (sessionIds.length === 0 && !left) {
      await ctx.db.delete('sessionCleanups', cleanupId)
      return null
    }
    await ctx.db.replace('sessionCleanups', cleanupId, { sessionIds, ...(left && { left }) })
    await ctx.scheduler.runAfter(0, internal.sessionEnding.deleteEndedSessions, { cleanupId })
    return null
  },
})
