import type { Id } from '../_generated/dataModel'
import type { MutationCtx } from '../_generated/server'
import { MODEL_ID, type ModelUsage } from '../ai/claude'
import { costIfPriced } from '../ai/prices'
import { addToUsageReport } from './usageReport'

/**
 * One modelUsage row per model call, so cost per user can be read. The row is priced and
 * counted in the operator's report in this same transaction.
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
  const row = {
    userId: call.userId,
    profileId: call.profileId,
    chat: call.chat,
    ...(call.actionId && { actionId: call.actionId }),
    model: MODEL_ID,
    inputTokens: call.usage.inputTokens,
    outputTokens: call.usage.outputTokens,
    succeeded: call.succeeded,
    createdAt: Date.now(),
  }
  // Unpriced (the price vanished mid-call): stored without a cost, counted by the backfill.
  const costMicroUsd = costIfPriced(row.model, call.usage)
  await ctx.db.insert('modelUsage', costMicroUsd === undefined ? row : { ...row, costMicroUsd })
  if (costMicroUsd !== undefined) await addToUsageReport(ctx, [{ ...row, costMicroUsd }])
}
