// One-off data fix for deployments that had password accounts before email normalization:
// `npx convex run authMigrations:normalizeAccountEmails '{}'` rewrites each stored address the
// way sign-in now looks it up, in batches, scheduling itself until every account is done.
import { ConvexError, v } from 'convex/values'
import { internal } from './_generated/api'
import { internalMutation } from './_generated/server'
import { PASSWORD_PROVIDER_ID } from './authAttempts'
import { normalizeEmail } from './lib/account/email'

const BATCH_SIZE = 200

function normalizedOrNull(raw: string): string | null {
  try {
    return normalizeEmail(raw)
  } catch (error) {
    if (error instanceof ConvexError) return null
    throw error
  }
}

export const normalizeAccountEmails = internalMutation({
  args: { cursor: v.optional(v.union(v.string(), v.null())) },
  returns: v.object({
    checked: v.number(),
    normalized: v.number(),
    /** Accounts left as they were: another account already has the normalized address. */
    collisions: v.array(v.id('authAccounts')),
    isDone: v.boolean(),
  }),
  handler: async (ctx, { cursor }) => {
    // In creation order, not by address, so rewriting an address never moves a page boundary.
    const page = await ctx.db.query('authAccounts').paginate({ cursor: cursor ?? null, numItems: BATCH_SIZE })
    let normalized = 0
    const collisions = []
    for (const account of page.page) {
      if (account.provider !== PASSWORD_PROVIDER_ID) continue
      const email = normalizedOrNull(account.providerAccountId)
      if (email === null || email === account.providerAccountId) continue
      const taken = await ctx.db
        .query('authAccounts')
        .withIndex('providerAndAccountId', (q) => q.eq('provider', PASSWORD_PROVIDER_ID).eq('providerAccountId', email))
        .first()
      if (taken) {
        console.warn(`Account ${account._id}: ${email} already belongs to account ${taken._id}; left unchanged`)
        collisions.push(account._id)
        continue
      }
      await ctx.db.patch('authAccounts', account._id, {
        providerAccountId: email,
        ...(account.emailVerified !== undefined && { emailVerified: email }),
      })
      const user = await ctx.db.get('users', account.userId)
      if (user?.email === account.providerAccountId) await ctx.db.patch('users', user._id, { email })
      normalized++
    }
    if (!page.isDone) {
      await ctx.scheduler.runAfter(0, internal.authMigrations.normalizeAccountEmails, { cursor: page.continueCursor })
    }
    return { checked: page.page.length, normalized, collisions, isDone: page.isDone }
  },
})
