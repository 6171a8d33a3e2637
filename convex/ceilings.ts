// The daily ceilings' snapshot, kept by the cron in ./crons.ts; the check before a model call
// reads it instead of the counter shards (see ./lib/spending/ceilings.ts).
import { v } from 'convex/values'
import { internalMutation } from './_generated/server'
import { refreshCeilingSnapshot as refresh } from './lib/spending/ceilings'

/** Sums today's counter shards into today's snapshot; `npx convex run ceilings:refreshCeilingSnapshot`. */
export const refreshCeilingSnapshot = internalMutation({
  args: {},
  returns: v.object({ modelTokensPerDay: v.number(), modelMicroUsdPerDay: v.number() }),
  handler: async (ctx) => await refresh(ctx),
})
