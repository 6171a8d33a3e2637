// Runs an account deletion job: one scheduled transaction after another, each deleting one
// bounded batch (DELETION_STEPS in lib/account/deletion.ts) until nothing of the user is left.
import { v } from 'convex/values'
import { internal } from './_generated/api'
import type { Doc } from './_generated/dataModel'
import { internalMutation } from './_generated/server'
import { BATCH_TRANSACTION_LIMITS, batchLimitAfter, DELETION_STEPS, retryDelayMs } from './lib/account/deletion'

/**
 * One scheduled run: the batch runs as a sub-transaction, so a batch that throws is rolled
 * back whole while this records the failure and schedules a retry with smaller batches.
 */
export const runDeletion = internalMutation({
  args: { jobId: v.id('accountDeletions') },
  returns: v.null(),
  handler: async (ctx, { jobId }) => {
    const job = await ctx.db.get('accountDeletions', jobId)
    if (!job) return null
    let finished: boolean
    try {
      const batch = await ctx.runMutation(
        internal.accountDeletion.deleteBatch,
        { jobId },
        { transactionLimits: BATCH_TRANSACTION_LIMITS },
      )
      finished = batch.finished
    } catch (error) {
      const failures = job.failures + 1
      // Kept for whoever runs the deployment; cut by code point so the stored text stays whole.
      const lastError = Array.from(error instanceof Error ? error.message : String(error)).slice(0, 1000).join('')
      console.error(`Account deletion ${jobId}: batch ${job.batches + 1} (${job.step}) failed: ${lastError}`)
      await ctx.db.patch('accountDeletions', jobId, { failures, lastError })
      await ctx.scheduler.runAfter(retryDelayMs(failures), internal.accountDeletion.runDeletion, { jobId })
      return null
    }
    if (!finished) await ctx.scheduler.runAfter(0, internal.accountDeletion.runDeletion, { jobId })
    return null
  },
})

/** The index of the step a job is on; a name no longer listed starts over (every step is safe to repeat). */
function stepIndexOf(job: Doc<'accountDeletions'>): number {
  return Math.max(0, DELETION_STEPS.findIndex((step) => step.name === job.step))
}

/** One bounded batch of the job's current step; the last step's end removes the job itself. */
export const deleteBatch = internalMutation({
  args: { jobId: v.id('accountDeletions') },
  returns: v.object({ finished: v.boolean() }),
  handler: async (ctx, { jobId }) => {
    const job = await ctx.db.get('accountDeletions', jobId)
    if (!job) return { finished: true }
    const index = stepIndexOf(job)
    const { deleted, done } = await DELETION_STEPS[index].run(ctx, job.userId, batchLimitAfter(job.failures))
    const next = done ? DELETION_STEPS[index + 1] : DELETION_STEPS[index]
    if (!next) {
      await ctx.db.delete('accountDeletions', jobId)
      return { finished: true }
    }
    await ctx.db.patch('accountDeletions', jobId, {
      step: next.name,
      batches: job.batches + 1,
      deleted: job.deleted + deleted,
    })
    return { finished: false }
  },
})
