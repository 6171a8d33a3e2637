// Ending sessions in bounded work, whatever a session's number of refresh tokens.
//
// @convex-dev/auth stores a session as one `authSessions` document (index `userId`) and every
// refresh token it ever issued for it as an `authRefreshTokens` document (indexes `sessionId`
// and `sessionIdAndParentRefreshTokenId`). A refresh marks the old token used and adds a new
// one; nothing deletes used tokens while the session lives, so a session refreshed thousands
// of times has thousands of tokens. The library ends a session by deleting it with all its
// tokens in one transaction, which such a session pushes past Convex's limits.
//
// Here the session document goes in the ending transaction (access ends with it: findUserId
// and every refresh check it), with up to a thousand of its tokens; any more go afterwards,
// in bounded scheduled batches (convex/sessionEnding.ts). Every way a session ends goes
// through here: a password reset, sign-out, account deletion, a refresh with a dead token,
// and a new sign-in from a client that still holds a session.
import { getAuthSessionId } from '@convex-dev/auth/server'
import type { GenericDataModel, GenericMutationCtx } from 'convex/server'
import type { Value } from 'convex/values'
import { internal } from '../../_generated/api'
import type { Doc, Id } from '../../_generated/dataModel'
import type { MutationCtx } from '../../_generated/server'

/**
 * Sessions one transaction deletes itself; a user with more (only a script signing in over
 * and over makes them) has the rest deleted by the first scheduled batch, seconds later.
 */
export const SESSIONS_ENDED_AT_ONCE = 2_000

/**
 * Refresh tokens (and verifiers) the ending transaction deletes itself: a session that has
 * been refreshed fewer times is gone whole at once, with nothing scheduled.
 */
export const REMAINS_DELETED_AT_ONCE = 1_000

/** Documents (refresh tokens, verifiers, leftover sessions) one scheduled batch deletes. */
export const ENDED_SESSION_BATCH = 2_000

/** Ended sessions one cleanup row lists: the row stays small whatever is left to delete. */
export const MAX_LISTED_SESSIONS = 4_000

/** Sessions of one user still to delete after the ending transaction: those created up to `createdUpTo`. */
export type SessionsLeft = Doc<'sessionCleanups'>['left']

/** Deletes up to `budget` documents that hang off one ended session; `done` when none are left. */
async function deleteSessionRemains(ctx: MutationCtx, sessionId: Id<'authSessions'>, budget: number) {
  const tokens = await ctx.db
    .query('authRefreshTokens')
    .withIndex('sessionId', (q) => q.eq('sessionId', sessionId))
    .take(budget)
  for (const token of tokens) await ctx.db.delete('authRefreshTokens', token._id)
  if (tokens.length === budget) return { deleted: tokens.length, done: false }
  const verifiers = await ctx.db
    .query('authVerifiers')
    .withIndex('sessionId', (q) => q.eq('sessionId', sessionId))
    .take(budget - tokens.length)
  for (const verifier of verifiers) await ctx.db.delete('authVerifiers', verifier._id)
  const deleted = tokens.length + verifiers.length
  return { deleted, done: deleted < budget }
}

/**
 * Deletes what hangs off these ended sessions, in order, up to `budget` documents; returns
 * the sessions that still have some. Each session costs at least four, for its index reads.
 */
export async function deleteRemainsOf(
  ctx: MutationCtx,
  sessionIds: Id<'authSessions'>[],
  budget: number,
): Promise<Id<'authSessions'>[]> {
  const left = [...sessionIds]
  while (budget > 0 && left.length > 0) {
    const { deleted, done } = await deleteSessionRemains(ctx, left[0], budget)
    budget -= Math.max(deleted, 4)
    if (!done) break
    left.shift()
  }
  return left
}

/**
 * Deletes up to `budget` of the user's sessions left to end (never those in `except`);
 * returns their ids, how many were read, and whether any may remain.
 */
export async function deleteSessionsLeft(ctx: MutationCtx, left: NonNullable<SessionsLeft>, budget: number) {
  const sessions = await ctx.db
    .query('authSessions')
    .withIndex('userId', (q) => q.eq('userId', left.userId).lte('_creationTime', left.createdUpTo))
    .take(budget)
  const ended = sessions.filter((session) => !left.except.includes(session._id)).map((session) => session._id)
  for (const sessionId of ended) await ctx.db.delete('authSessions', sessionId)
  return { ended, read: sessions.length, more: sessions.length === budget }
}

/**
 * After session documents are deleted: what hangs off them goes now up to
 * REMAINS_DELETED_AT_ONCE; anything more, and sessions `left` to end, are written down in a
 * cleanup row that scheduled batches work through. The scheduler's records carry only the
 * row's id, never a session or user id.
 */
async function cleanUpEnded(ctx: MutationCtx, ended: Id<'authSessions'>[], left?: SessionsLeft) {
  const sessionIds = await deleteRemainsOf(ctx, ended, REMAINS_DELETED_AT_ONCE)
  if (sessionIds.length === 0 && !left) return
  const cleanupId = await ctx.db.insert('sessionCleanups', { sessionIds, ...(left && { left }) })
  await ctx.scheduler.runAfter(0, internal.sessionEnding.deleteEndedSessions, { cleanupId })
}

/** Ends one session now; its refresh tokens go with it, or in scheduled batches when many. True if it existed. */
export async function endSession(ctx: MutationCtx, sessionId: Id<'authSessions'>): Promise<boolean> {
  const session = await ctx.db.get('authSessions', sessionId)
  if (session) await ctx.db.delete('authSessions', sessionId)
  // A session already gone may still have tokens left: its cleanup may still be running.
  await cleanUpEnded(ctx, [sessionId])
  return session !== null
}

/**
 * Ends every session of the user but `except`, now: up to SESSIONS_ENDED_AT_ONCE in this
 * transaction, any beyond in the first scheduled batch. Returns how many were deleted here.
 */
export async function endSessionsOf(
  ctx: MutationCtx,
  userId: Id<'users'>,
  except: Id<'authSessions'>[] = [],
): Promise<number> {
  const sessionsOfUser = () => ctx.db.query('authSessions').withIndex('userId', (q) => q.eq('userId', userId))
  const sessions = await sessionsOfUser().take(SESSIONS_ENDED_AT_ONCE)
  const ended = sessions.filter((session) => !except.includes(session._id)).map((session) => session._id)
  for (const sessionId of ended) await ctx.db.delete('authSessions', sessionId)
  let left: SessionsLeft
  if (sessions.length === SESSIONS_ENDED_AT_ONCE) {
    // The rest are those that exist now: a session made after this one is newer than the newest.
    const newest = await sessionsOfUser().order('desc').first()
    if (newest) left = { userId, createdUpTo: newest._creationTime, except }
  }
  await cleanUpEnded(ctx, ended, left)
  return ended.length
}

/**
 * How a refresh with this token (`<refreshTokenId>|<sessionId>`, as the library writes it)
 * must fail, or null when the library should go on with it (or cannot parse it). A session
 * that is gone or expired, or whose token has expired, is ended; a token that is missing or
 * names another session while the session lives is refused and ends nothing (a client can
 * only hold such a token by forging it, knowing someone's session id).
 */
async function failedRefresh(
  ctx: MutationCtx,
  refreshToken: string,
): Promise<{ end: Id<'authSessions'> | null } | null> {
  const [rawTokenId, rawSessionId] = refreshToken.split('|')
  const sessionId = rawSessionId ? ctx.db.normalizeId('authSessions', rawSessionId) : null
  if (!sessionId) return null
  const session = await ctx.db.get('authSessions', sessionId)
  const now = Date.now()
  if (!session || session.expirationTime < now) return { end: sessionId }
  const tokenId = rawTokenId ? ctx.db.normalizeId('authRefreshTokens', rawTokenId) : null
  const token = tokenId && (await ctx.db.get('authRefreshTokens', tokenId))
  if (!token || token.sessionId !== sessionId) return { end: null }
  if (token.expirationTime < now) return { end: sessionId }
  return null
}

type StoreArgs = { args: { type: string } & Record<string, Value | undefined> }
type StoreHandler = (ctx: GenericMutationCtx<GenericDataModel>, args: StoreArgs) => Promise<unknown>

/**
 * The handler of a registered mutation (the library's `store`), to run inside our own. Convex
 * keeps it as `_handler` on every registered function (convex-test runs functions through it);
 * the property is marked internal in convex's types, so this checks it at load time.
 */
export function handlerOf(registered: unknown): StoreHandler {
  const handler = (registered as { _handler?: unknown })._handler
  if (typeof handler !== 'function') throw new Error('@convex-dev/auth: its `store` mutation has no handler to wrap')
  return handler as StoreHandler
}

/**
 * The library's `auth:store` with every session ending made bounded; everything else is the
 * library's own code. The library reaches the database only through `auth:store`, so these
 * are all the places it ends a session:
 * - `signOut`: the caller's session;
 * - `invalidateSessions`: every session of a user but some;
 * - `refreshSession` with a dead token: the session the token names (the library would
 *   delete it with all its tokens); a live token goes on to the library, which deletes
 *   nothing for it (its reuse detection patches the token's descendants: docs/architecture.md);
 * - `signIn` from a client that still holds a session: that old session.
 * (`verifyCodeAndSignIn` also replaces a caller's old session, but only once the code is
 * right; our flows call it from actions that run without the caller's token.)
 */
export async function storeWithBoundedSessionEnds(
  ctx: MutationCtx,
  { args }: StoreArgs,
  libraryStore: StoreHandler,
): Promise<unknown> {
  switch (args.type) {
    case 'signOut': {
      const sessionId = await callerSessionId(ctx)
      const session = sessionId && (await ctx.db.get('authSessions', sessionId))
      if (!session) return null
      await endSession(ctx, session._id)
      return { userId: session.userId, sessionId: session._id }
    }
    case 'invalidateSessions': {
      const { userId, except } = args as unknown as { userId: Id<'users'>; except?: Id<'authSessions'>[] }
      await endSessionsOf(ctx, userId, except)
      return null
    }
    case 'refreshSession': {
      const failed = await failedRefresh(ctx, String(args.refreshToken))
      if (!failed) break
      if (failed.end) await endSession(ctx, failed.end)
      return null
    }
    case 'signIn': {
      // The library replaces the caller's current session (when it names none to use).
      const sessionId = args.sessionId === undefined ? await callerSessionId(ctx) : null
      if (sessionId) await endSession(ctx, sessionId)
      break
    }
  }
  return await libraryStore(ctx, { args })
}

async function callerSessionId(ctx: MutationCtx): Promise<Id<'authSessions'> | null> {
  const raw = await getAuthSessionId(ctx)
  return raw && ctx.db.normalizeId('authSessions', raw)
}
