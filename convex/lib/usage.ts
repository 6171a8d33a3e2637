import type { Id } from '../_generated/dataModel'
import type { MutationCtx } from '../_generated/server'
import { MODEL_ID, type ModelUsage } from '../ai/claude'
import { recordModelSpend } from './budget'

/**
 * One modelUsage row per model call, so cost per user can be read; its tokens also count
 * against the deployment's daily budget.
 */
export async function recordModelUsage(
  ctx: MutationCtx,
  call: {
    userId: Id<'users'>
    profileId: Id<'profiles'>
    chat: 'general' | 'debrief' | 'extraction'
    actionId?: Id<'careerActions'>
    usage: ModelUsage
    succeeded: boolean
  },
): Promise<void> {
  await ctx.db.insert('modelUsage', {
    userId: call.userId,
    profileId: call.profileId,
    chat: call.chat,
    ...(call.actionId && { actionId: call.actionId }),
    model: MODEL_ID,
    inputTokens: call.usage.inputTokens,
    outputTokens: call.usage.outputTokens,
    succeeded: call.succeeded,
    createdAt: Date.now(),
  })
  await recordModelSpend(ctx, call.usage)
}
