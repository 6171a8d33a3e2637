import { convexAuth } from '@convex-dev/auth/server'
import { v } from 'convex/values'
import { internalMutation, query } from './_generated/server'
import { markSessionStarted } from './lib/account/claims'
import { CODE_ATTEMPTS_PER_HOUR, accountPassword } from './lib/account/passwordProvider'
import { handlerOf, storeWithBoundedSessionEnds } from './lib/account/sessions'
import { findUserId } from './lib/auth'

// The flows, throttles and emails are in lib/account/passwordProvider.ts; docs/api.md lists the params.
const library = convexAuth({
  providers: [accountPassword],
  // The library's own failed-attempt throttle; with this provider it counts wrong codes only.
  signIn: { maxFailedAttempsPerHour: CODE_ATTEMPTS_PER_HOUR },
  callbacks: { beforeSessionCreation: markSessionStarted },
})
export const { auth, signIn, signOut } = library
const libraryStore = handlerOf(library.store)

/**
 * The library's internal `auth:store` (its only way to the database), with every session
 * ending bounded: see lib/account/sessions.ts. Only the library calls it, with its own
 * arguments (`{ args: { type, ... } }`), which the library's handler trusts as it always has.
 */
export const store = internalMutation({
  args: { args: v.any() },
  returns: v.any(),
  handler: (ctx, args) => storeWithBoundedSessionEnds(ctx, args, libraryStore),
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
