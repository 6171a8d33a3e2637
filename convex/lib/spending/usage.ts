import { pick } from 'convex-helpers'
import { v, type Infer } from 'convex/values'
import type { Id } from '../../_generated/dataModel'
import type { MutationCtx } from '../../_generated/server'
import { chatModel, extractionModel } from '../../ai/models'
import { costIfPriced } from '../../ai/prices'
import { isAccountClosed } from '../auth'
import { recordModelSpend } from './ceilings'
import { addToUsageReport } from '../report/rollups'
import schema, { type usageChat } from '../../schema'

/**
 * A model call's usage as mutations receive it. `model` is the id actually called; it is
 * optional only for internal callers that predate it, which get the model configured now.
 */
const usageRow = schema.tables.modelUsage.validator.fields
export const modelUsageValidator = v.object({
  ...pick(usageRow, ['inputTokens', 'outputTokens']),
  model: v.optional(usageRow.model),
})


/**
 * One modelUsage row per model call, so cost per user (and per model) can be read. In the same
 * transaction the row is priced, counted in the operator's report, and its tokens and cost
 * count against the deployment's daily budget.
 *
 * A call whose account was deleted meanwhile (deletion asked for, or done) is counted all the
 * same, in the ceilings and in the report as a deleted account's spending (top users show it
 * with userId null), but no row naming the user is written: nothing of theirs comes back.
 * Returns whether the account was open.
 */
export async function recordModelUsage(
  ctx: MutationCtx,
  call: {
    userId: Id<'users'>
    profileId: Id<'profiles'>
    chat: Infer<typeof usageChat>
    actionId?: Id<'careerActions'>
    usage: Infer<typeof modelUsageValidator>
    succeeded: boolean
  },
): Promise<{ accountOpen: boolean }> {
  const configured = call.chat === 'extraction' ? extractionModel() : chatModel()
  const row = {
    userId: call.userId,
    profileId: call.profileId,
    chat: call.chat,
    ...(call.actionId && { actionId: call.actionId }),
    model: call.usage.model ?? configured.id,
    inputTokens: call.usage.inputTokens,
    outputTokens: call.usage.outputTokens,
    succeeded: call.succeeded,
    createdAt: Date.now(),
  }
  // Unpriced (the price vanished mid-call): stored without a cost, counted by the backfill.
  const costMicroUsd = costIfPriced(row.model, call.usage)
  if (await isAccountClosed(ctx, call.userId)) {
    // No row will be left for the backfill to price, so an unpriced call counts at no cost now.
    await addToUsageReport(ctx, [{ ...row, costMicroUsd: costMicroUsd ?? 0, accountDeleted: true }])
    await recordModelSpend(ctx, call.usage, costMicroUsd)
    return { accountOpen: false }
  }
  await ctx.db.insert('modelUsage', costMicroUsd === undefined ? row : { ...row, costMicroUsd })
  if (costMicroUsd !== undefined) await addToUsageReport(ctx, [{ ...row, costMicroUsd }])
  await recordModelSpend(ctx, call.usage, costMicroUsd)
  return { accountOpen: true }
}
