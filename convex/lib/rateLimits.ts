import { HOUR, MINUTE, RateLimiter } from '@convex-dev/rate-limiter'
import { ConvexError } from 'convex/values'
import { components } from '../_generated/api'
import type { Id } from '../_generated/dataModel'
import type { MutationCtx } from '../_generated/server'

/**
 * Every limit, keyed by user. A debrief (2-4 exchanges) or a long general chat at human
 * speed never meets them; a script sending as fast as it can is stopped after the burst.
 */
export const RATE_LIMITS = {
  // Both chats together: a burst of 5 turns, then one every 6 seconds.
  chatTurn: { kind: 'token bucket', rate: 10, period: MINUTE, capacity: 5 },
  // Extraction runs once per conversation; 3 in a row, then one every 20 seconds.
  extraction: { kind: 'token bucket', rate: 3, period: MINUTE, capacity: 3 },
  // Every model call (chat turns and extractions) of one user: at most MODEL_CALLS_PER_24H in
  // ANY 24 hours. A bucket holds at most `capacity` and refills `rate` per 24 hours, so no
  // 24 hours can see more than capacity + rate (a fixed window allowed twice that across its edge).
  modelCallsPerDay: { kind: 'token bucket', rate: 100, period: 24 * HOUR, capacity: 100 },
  // Building an export reads everything the user has: 3 in a row, then one every 10 minutes.
  accountExport: { kind: 'token bucket', rate: 6, period: HOUR, capacity: 3 },
  // The first call closes the account; the calls after it, while the deletion runs, change
  // nothing but still count, so a script repeating it is stopped after 3.
  accountDeletion: { kind: 'token bucket', rate: 3, period: HOUR, capacity: 3 },
} as const

/** The most model calls one user can make in any 24 hours. */
export const MODEL_CALLS_PER_24H =
  RATE_LIMITS.modelCallsPerDay.capacity + RATE_LIMITS.modelCallsPerDay.rate

export type LimitName = keyof typeof RATE_LIMITS

const rateLimiter = new RateLimiter(components.rateLimiter, RATE_LIMITS)

const LIMIT_DESCRIPTIONS: Record<LimitName, string> = {
  chatTurn: 'You are sending messages too quickly.',
  extraction: 'You are updating your profile from conversations too quickly.',
  modelCallsPerDay: 'You have reached the daily limit of assistant replies.',
  accountExport: 'You have asked for your data too often.',
  accountDeletion: 'You have asked to delete your data too often.',
}

export type RateLimitedError = {
  code: 'RATE_LIMITED'
  limit: LimitName
  retryAfterMs: number
  message: string
}

/** A wait as a person reads it: seconds under two minutes, then minutes, then hours. */
export function describeWait(ms: number): string {
  const plural = (count: number, unit: string) => `${count} ${unit}${count === 1 ? '' : 's'}`
  const seconds = Math.max(1, Math.ceil(ms / 1000))
  if (seconds < 120) return plural(seconds, 'second')
  const minutes = Math.ceil(seconds / 60)
  if (minutes < 120) return plural(minutes, 'minute')
  return plural(Math.ceil(minutes / 60), 'hour')
}

/**
 * Takes one token from each named limit, all or none: the first one that refuses throws,
 * and the mutation's rollback returns the tokens already taken.
 */
export async function consumeLimits(
  ctx: MutationCtx,
  userId: Id<'users'>,
  names: LimitName[],
): Promise<void> {
  for (const name of names) {
    const status = await rateLimiter.limit(ctx, name, { key: userId })
    if (!status.ok) {
      const retryAfterMs = Math.ceil(status.retryAfter)
      throw new ConvexError<RateLimitedError>({
        code: 'RATE_LIMITED',
        limit: name,
        retryAfterMs,
        message: `${LIMIT_DESCRIPTIONS[name]} Try again in ${describeWait(retryAfterMs)}.`,
      })
    }
  }
}

/** Forgets every limit's state for this user (account deletion): nothing keyed by them is left. */
export async function resetLimitsOf(ctx: MutationCtx, userId: Id<'users'>): Promise<void> {
  for (const name of Object.keys(RATE_LIMITS) as LimitName[]) {
    await rateLimiter.reset(ctx, name, { key: userId })
  }
}
