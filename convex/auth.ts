import { convexAuth } from '@convex-dev/auth/server'
import { v } from 'convex/values'
import { query } from './_generated/server'
import { CODE_ATTEMPTS_PER_HOUR, accountPassword } from './lib/account/passwordProvider'
import { findUserId } from './lib/auth'

// The flows, throttles and emails are in lib/account/passwordProvider.ts; docs/api.md lists the params.
export const { auth, signIn, signOut, store } = convexAuth({
  providers: [accountPassword],
  // The library's own failed-attempt throttle; with this provider it counts wrong codes only.
  signIn: { maxFailedAttempsPerHour: CODE_ATTEMPTS_PER_HOUR },
})

/**
 * Replaces the library's `isAuthenticated`, which trusts the token alone: true only while the
 * token's session exists, as every other function sees it.
 */
export const isAuthenticated = query({
  args: {},
  returns: v.boolean(),
  handler: async (ctx) => (await findUserId(ctx)) !== null,
})
