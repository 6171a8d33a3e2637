import { getAuthSessionId, getAuthUserId } from '@convex-dev/auth/server'
import { customMutation } from 'convex-helpers/server/customFunctions'
import { ConvexError, v } from 'convex/values'
import type { Doc, Id } from '../_generated/dataModel'
import { mutation, type QueryCtx } from '../_generated/server'

// The one place access is checked. `find*` returns null when the caller may not see the thing
// (for queries that answer empty); `require*` throws a ConvexError (for everything that writes).
// Stranger and not-found get the same message so that ids of other users' data leak nothing.
export const PROFILE_NOT_FOUND = 'Profile not found'
export const ACTION_NOT_FOUND = 'Career action not found'
export const NOT_AUTHENTICATED = 'Not authenticated'

// Queries and mutations only: the checks below read the database, which an action cannot.
type AuthCtx = QueryCtx

/**
 * The signed-in user's id, or null when signed out. An access token stays valid for up to an
 * hour after it is issued, so it counts only while the session it names still exists: sign-out,
 * a password reset and account deletion delete the session, and end access at once. An account
 * being deleted also reads as signed out from the moment deletion is asked for.
 * Every access check in the backend goes through here. Actions have no db: they reach data
 * only through an internal query or mutation, which inherits the caller's identity and checks.
 */
export async function findUserId(ctx: AuthCtx): Promise<Id<'users'> | null> {
  const tokenUserId = await getAuthUserId(ctx)
  const rawSessionId = await getAuthSessionId(ctx)
  if (!tokenUserId || !rawSessionId) return null
  const sessionId = ctx.db.normalizeId('authSessions', rawSessionId)
  if (!sessionId) return null
  const session = await ctx.db.get('authSessions', sessionId)
  if (!session || session.userId !== tokenUserId || session.expirationTime <= Date.now()) return null
  if (await isAccountClosed(ctx, session.userId)) return null
  return session.userId
}

export async function requireUserId(ctx: AuthCtx): Promise<Id<'users'>> {
  const userId = await findUserId(ctx)
  if (!userId) throw new ConvexError(NOT_AUTHENTICATED)
  return userId
}

/**
 * True once account.deleteMyData has run for this user (or their user document is gone):
 * from that moment they are signed out everywhere and their data reads as gone.
 */
export async function isAccountClosed(ctx: AuthCtx, userId: Id<'users'>): Promise<boolean> {
  const user = await ctx.db.get('users', userId)
  return user === null || user.deletionRequestedAt !== undefined
}

/** The caller's profile with that id, or null (signed out, missing, or someone else's). */
export async function findOwnedProfile(
  ctx: QueryCtx,
  profileId: Id<'profiles'>,
): Promise<Doc<'profiles'> | null> {
  const userId = await findUserId(ctx)
  if (!userId) return null
  const profile = await ctx.db.get('profiles', profileId)
  return profile && profile.userId === userId ? profile : null
}

export async function requireOwnedProfile(
  ctx: QueryCtx,
  profileId: Id<'profiles'>,
): Promise<{ userId: Id<'users'>; profile: Doc<'profiles'> }> {
  const userId = await requireUserId(ctx)
  const profile = await ctx.db.get('profiles', profileId)
  if (!profile || profile.userId !== userId) throw new ConvexError(PROFILE_NOT_FOUND)
  return { userId, profile }
}

/** The caller's own profile, or null when signed out or they have none yet. */
export async function findMyProfile(ctx: QueryCtx): Promise<Doc<'profiles'> | null> {
  const userId = await findUserId(ctx)
  if (!userId) return null
  return await ctx.db
    .query('profiles')
    .withIndex('by_user', (q) => q.eq('userId', userId))
    .unique()
}

/** A career action the caller owns through its profile; throws the same message otherwise. */
export async function requireOwnedCareerAction(
  ctx: QueryCtx,
  actionId: Id<'careerActions'>,
): Promise<{ userId: Id<'users'>; profile: Doc<'profiles'>; careerAction: Doc<'careerActions'> }> {
  const userId = await requireUserId(ctx)
  const careerAction = await ctx.db.get('careerActions', actionId)
  if (!careerAction) throw new ConvexError(ACTION_NOT_FOUND)
  const profile = await ctx.db.get('profiles', careerAction.profileId)
  if (!profile || profile.userId !== userId) throw new ConvexError(ACTION_NOT_FOUND)
  return { userId, profile, careerAction }
}

/**
 * Both ids checked together: the profile is the caller's and the action is that profile's.
 * Throws the same not-found message for every mismatch.
 */
export async function requireProfileCareerAction(
  ctx: QueryCtx,
  profileId: Id<'profiles'>,
  actionId: Id<'careerActions'>,
): Promise<{ userId: Id<'users'>; profile: Doc<'profiles'>; careerAction: Doc<'careerActions'> }> {
  const { userId, profile } = await requireOwnedProfile(ctx, profileId)
  const careerAction = await ctx.db.get('careerActions', actionId)
  if (!careerAction || careerAction.profileId !== profile._id) throw new ConvexError(ACTION_NOT_FOUND)
  return { userId, profile, careerAction }
}

/** A chat's access check: the caller's profile and, for a debrief, that profile's career action. */
export async function requireChatAccess(
  ctx: QueryCtx,
  profileId: Id<'profiles'>,
  actionId: Id<'careerActions'> | undefined,
): Promise<{ userId: Id<'users'>; profile: Doc<'profiles'>; careerAction: Doc<'careerActions'> | null }> {
  if (actionId) return await requireProfileCareerAction(ctx, profileId, actionId)
  return { ...(await requireOwnedProfile(ctx, profileId)), careerAction: null }
}

// --- Function builders ------------------------------------------------------------------------
// A public mutation that is passed a profile or a career action is declared with one of these,
// so its handler gets the document already checked and cannot forget the check.

/**
 * A mutation on one of the caller's profiles: takes `profileId`, refuses anyone else's, and
 * hands the handler `ctx.profile` and `ctx.userId`.
 */
export const ownedProfileMutation = customMutation(mutation, {
  args: { profileId: v.id('profiles') },
  input: async (ctx, { profileId }) => {
    const { userId, profile } = await requireOwnedProfile(ctx, profileId)
    return { ctx: { userId, profile }, args: {} }
  },
})

/**
 * A mutation on one of the caller's career actions: takes `actionId`, refuses anyone else's,
 * and hands the handler `ctx.careerAction`, `ctx.profile` and `ctx.userId`.
 */
export const ownedCareerActionMutation = customMutation(mutation, {
  args: { actionId: v.id('careerActions') },
  input: async (ctx, { actionId }) => {
    const { userId, profile, careerAction } = await requireOwnedCareerAction(ctx, actionId)
    return { ctx: { userId, profile, careerAction }, args: {} }
  },
})
