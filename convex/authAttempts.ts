// The account throttles, keyed by normalized email address so that an address with an account
// and one without are throttled alike, and the account lookup the password provider needs.
import { HOUR, RateLimiter } from '@convex-dev/rate-limiter'
import { ConvexError, v } from 'convex/values'
import { components } from './_generated/api'
import { isClaimedAccount } from './lib/account/claims'
import { internalMutation, type MutationCtx } from './_generated/server'

/** The provider id of password accounts (`authAccounts.provider`). */
export const PASSWORD_PROVIDER_ID = 'password'

export const ACCOUNT_LIMITS = {
  // Every password check (sign-in, sign-up, code entry with the password) takes one; the right
  // password, a verified code or a password reset gives them all back. 10 in a row, then one
  // every 6 minutes.
  passwordAttempts: { kind: 'token bucket', rate: 10, period: HOUR, capacity: 10 },
  // Every email the account flows send to one address: 5 in a row, then one every 6 minutes.
  accountEmails: { kind: 'token bucket', rate: 10, period: HOUR, capacity: 5 },
} as const

export type AccountLimitName = keyof typeof ACCOUNT_LIMITS

const accountLimiter = new RateLimiter(components.rateLimiter, ACCOUNT_LIMITS)

const LIMIT_MESSAGES: Record<AccountLimitName, string> = {
  passwordAttempts: 'Too many attempts for this email address.',
  accountEmails: 'Too many emails have been sent to this address.',
}

const LIMIT_ADVICE: Record<AccountLimitName, string> = {
  passwordAttempts: ' If you have forgotten your password, reset it.',
  accountEmails: '',
}

export type AccountLimitedError = {
  code: 'RATE_LIMITED'
  limit: AccountLimitName
  retryAfterMs: number
  message: string
}

const accountLimitName = v.union(v.literal('passwordAttempts'), v.literal('accountEmails'))

const passwordAccount = v.object({
  accountId: v.id('authAccounts'),
  userId: v.id('users'),
  /** The stored password hash; absent only on an account made without one. */
  secret: v.optional(v.string()),
  emailVerified: v.boolean(),
  /** Verified, or ever signed in, or holding data: a sign-up must leave it alone (lib/account/claims.ts). */
  claimed: v.boolean(),
})

/**
 * Takes one token from each named limit (all or none: a refusal rolls the mutation back) and
 * returns the password account of `email`, or null. The answer for a throttled address is the
 * same whether or not it has an account.
 */
export const beginAccountAttempt = internalMutation({
  args: { email: v.string(), limits: v.array(accountLimitName) },
  returns: v.union(v.null(), passwordAccount),
  handler: async (ctx, { email, limits }) => {
    for (const name of limits) {
      const status = await accountLimiter.limit(ctx, name, { key: email })
      if (!status.ok) {
        const retryAfterMs = Math.ceil(status.retryAfter)
        const minutes = Math.max(1, Math.ceil(retryAfterMs / 60_000))
        throw new ConvexError<AccountLimitedError>({
          code: 'RATE_LIMITED',
          limit: name,
          retryAfterMs,
          message: `${LIMIT_MESSAGES[name]} Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.${LIMIT_ADVICE[name]}`,
        })
      }
    }
    const account = await ctx.db
      .query('authAccounts')
      .withIndex('providerAndAccountId', (q) =>
        q.eq('provider', PASSWORD_PROVIDER_ID).eq('providerAccountId', email),
      )
      .unique()
    if (!account) return null
    return {
      accountId: account._id,
      userId: account.userId,
      secret: account.secret,
      emailVerified: account.emailVerified !== undefined,
      claimed: await isClaimedAccount(ctx, account),
    }
  },
})

/** Removes every throttle kept for an address (its account is being deleted). */
export async function resetAccountLimitsOf(ctx: MutationCtx, email: string): Promise<void> {
  for (const name of Object.keys(ACCOUNT_LIMITS) as AccountLimitName[]) {
    await accountLimiter.reset(ctx, name, { key: email })
  }
}

/** Lifts the password throttle of an address: its owner has just proved who they are. */
export const clearPasswordAttempts = internalMutation({
  args: { email: v.string() },
  returns: v.null(),
  handler: async (ctx, { email }) => {
    await accountLimiter.reset(ctx, 'passwordAttempts', { key: email })
    return null
  },
})
