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
  // Sign-ups (every one, whatever the address, so the answers match) and the codes a sign-in
  // sends an unverified account: 5 in a row, then one every 6 minutes.
  accountEmails: { kind: 'token bucket', rate: 10, period: HOUR, capacity: 5 },
  // Reset requests, and nothing else: sign-ups never use them up, so a stranger's sign-ups cannot
  // keep an owner from a reset code. 5 in a row, then one every 6 minutes; each sends the address
  // a code that works for 15 minutes, so when this refuses, the latest email's code still works.
  resetEmails: { kind: 'token bucket', rate: 10, period: HOUR, capacity: 5 },
  // The "someone tried to sign up with your email" note: at most one an hour per address. Never
  // refuses a step: when it is spent the note is simply not sent and the answer stays the same.
  signUpNotes: { kind: 'token bucket', rate: 1, period: HOUR, capacity: 1 },
} as const

export type AccountLimitName = keyof typeof ACCOUNT_LIMITS
/** The limits that refuse a step (signUpNotes only skips a note). */
export type RefusingLimitName = Exclude<AccountLimitName, 'signUpNotes'>

const accountLimiter = new RateLimiter(components.rateLimiter, ACCOUNT_LIMITS)

const LIMIT_MESSAGES: Record<RefusingLimitName, string> = {
  passwordAttempts: 'Too many attempts for this email address.',
  accountEmails: 'Too many emails have been sent to this address.',
  resetEmails: 'Too many password reset emails have been sent to this address.',
}

const LIMIT_ADVICE: Record<RefusingLimitName, string> = {
  passwordAttempts: ' If you have forgotten your password, reset it.',
  accountEmails: '',
  resetEmails: ' A code from the last 15 minutes still works: use the latest email.',
}

export type AccountLimitedError = {
  code: 'RATE_LIMITED'
  limit: RefusingLimitName
  retryAfterMs: number
  message: string
}

/** A step that would email an address whose email bounces or was reported as spam. */
export type UndeliverableEmailError = { code: 'EMAIL_UNDELIVERABLE'; message: string }

export const EMAIL_UNDELIVERABLE =
  'Emails to this address do not arrive: the last one we sent was returned or reported as spam. ' +
  'Check the address for typos, or use another one.'

/** How long a bounce or spam report keeps a step from emailing the address. */
export const DELIVERY_PROBLEM_DAYS = 7
export const DELIVERY_PROBLEM_MS = DELIVERY_PROBLEM_DAYS * 24 * HOUR

const accountLimitName = v.union(v.literal('passwordAttempts'), v.literal('accountEmails'), v.literal('resetEmails'))

/**
 * Refuses a step that would email `email` when its email bounced or was reported as spam
 * lately. About the address, not an account: the answer is the same with or without one.
 */
async function refuseUndeliverable(ctx: MutationCtx, email: string) {
  const problem = await ctx.db
    .query('emailDeliveryProblems')
    .withIndex('by_address', (q) => q.eq('address', email))
    .first()
  if (problem && problem.recordedAt > Date.now() - DELIVERY_PROBLEM_MS) {
    throw new ConvexError<UndeliverableEmailError>({ code: 'EMAIL_UNDELIVERABLE', message: EMAIL_UNDELIVERABLE })
  }
}

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
 * same whether or not it has an account. `sendsEmail`: the step emails the address, so an
 * address whose email does not arrive is told so first.
 */
export const beginAccountAttempt = internalMutation({
  args: { email: v.string(), limits: v.array(accountLimitName), sendsEmail: v.optional(v.boolean()) },
  returns: v.union(v.null(), passwordAccount),
  handler: async (ctx, { email, limits, sendsEmail }) => {
    if (sendsEmail) await refuseUndeliverable(ctx, email)
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

/**
 * Takes the address's "someone tried to sign up" note allowance: true when the note may be
 * sent now. Never refuses; a spent allowance only skips the note.
 */
export async function takeSignUpNoteAllowance(ctx: MutationCtx, email: string): Promise<boolean> {
  return (await accountLimiter.limit(ctx, 'signUpNotes', { key: email })).ok
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
