// Whether an account is claimed: someone has used it, so a sign-up with its address must not
// touch it. Accounts made before email verification existed are unverified but were used;
// treating them as unclaimed sign-ups would let anyone who knows the address replace the
// owner's password.
import type { AnyDataModel, GenericMutationCtx } from 'convex/server'
import type { Doc, Id } from '../../_generated/dataModel'
import type { MutationCtx, QueryCtx } from '../../_generated/server'

/**
 * @convex-dev/auth's `beforeSessionCreation` callback: the first session a user ever gets is
 * recorded on the user document, so signing out (which deletes the session) does not make the
 * account look unused.
 */
export async function markSessionStarted(ctx: GenericMutationCtx<AnyDataModel>, { userId }: { userId: string }) {
  const db = ctx.db as unknown as MutationCtx['db']
  const user = await db.get('users', userId as Id<'users'>)
  if (user && user.firstSessionAt === undefined) await db.patch('users', user._id, { firstSessionAt: Date.now() })
}

/**
 * True when the account's address was verified, or it has ever had a session (the mark
 * above, or a session document still stored: accounts from before the mark have those while
 * they are signed in, or until an expired session is next refreshed), or it holds data (a
 * profile, which career actions and messages belong to, or a model call). Every read is made
 * whatever the answer, so a claimed account and an unclaimed one cost the same here.
 */
export async function isClaimedAccount(ctx: QueryCtx, account: Doc<'authAccounts'>): Promise<boolean> {
  const userId = account.userId
  const [user, session, profile, usage] = await Promise.all([
    ctx.db.get('users', userId),
    ctx.db.query('authSessions').withIndex('userId', (q) => q.eq('userId', userId)).first(),
    ctx.db.query('profiles').withIndex('by_user', (q) => q.eq('userId', userId)).first(),
    ctx.db.query('modelUsage').withIndex('by_user', (q) => q.eq('userId', userId)).first(),
  ])
  return (
    account.emailVerified !== undefined ||
    user?.firstSessionAt !== undefined ||
    session !== null ||
    profile !== null ||
    usage !== null
  )
}
