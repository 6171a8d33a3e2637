// Who may read the operator's report: users whose verified email is listed in ADMIN_EMAILS.
import { ConvexError } from 'convex/values'
import type { Id } from '../../_generated/dataModel'
import { env, type QueryCtx } from '../../_generated/server'
import { findUserId } from '../auth'
import { emailKey } from '../account/email'

export type ForbiddenError = { code: 'FORBIDDEN'; message: string }

export const FORBIDDEN_MESSAGE = 'Only the operators of this deployment can see usage reports.'

/** ADMIN_EMAILS, comma-separated, normalized; unset means there are no operators. */
export function operatorEmails(): Set<string> {
  return new Set(
    (env.ADMIN_EMAILS ?? '')
      .split(',')
      .map(emailKey)
      .filter((email) => email.length > 0),
  )
}

/** The caller's id if they are an operator; otherwise a FORBIDDEN ConvexError, before anything else is read. */
export async function requireOperator(ctx: QueryCtx): Promise<Id<'users'>> {
  const forbidden = () => new ConvexError<ForbiddenError>({ code: 'FORBIDDEN', message: FORBIDDEN_MESSAGE })
  // The one access check: a signed-out session or an account being deleted is no operator.
  const userId = await findUserId(ctx)
  if (!userId) throw forbidden()
  const user = await ctx.db.get('users', userId)
  // An address nobody has proved they own gives no access, even if it is listed.
  if (!user?.email || user.emailVerificationTime === undefined) throw forbidden()
  if (!operatorEmails().has(emailKey(user.email))) throw forbidden()
  return userId
}
