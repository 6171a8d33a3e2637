// A person's data is theirs: everything they own as one file, or all of it deleted.
import { ConvexError, v } from 'convex/values'
import { internal } from './_generated/api'
import { action, mutation } from './_generated/server'
import { closingAccountOfCaller, startAccountDeletion } from './lib/account/deletion'
import { ExportFile, forEachPage } from './lib/account/exportFile'
import { findUserId, NOT_AUTHENTICATED } from './lib/auth'
import { consumeLimits } from './lib/rateLimits'

/**
 * Signs the caller out everywhere and makes every function treat their data as gone, in this
 * transaction; scheduled batches then delete it all (see docs/architecture.md, "Deletion
 * and export"). A second call while that runs, or after, changes nothing and returns null
 * (while it runs it still counts against the rate limit).
 */
export const deleteMyData = mutation({
  args: {},
  returns: v.null(),
  handler: async (ctx) => {
    const userId = await findUserId(ctx)
    if (userId) {
      await consumeLimits(ctx, userId, ['accountDeletion'])
      await startAccountDeletion(ctx, userId)
      return null
    }
    const closing = await closingAccountOfCaller(ctx)
    if (!closing) throw new ConvexError(NOT_AUTHENTICATED)
    // Nothing more to do, but a script repeating the call is still stopped; the job's last
    // batch resets this limit along with the others.
    if (closing.jobRunning) await consumeLimits(ctx, closing.userId, ['accountDeletion'])
    return null
  },
})

/**
 * Everything the caller owns as one JSON file in storage: `url` downloads it until
 * `expiresAt` (ms), when the file is deleted. Read a page per transaction, so any size fits.
 */
export const exportMyData = action({
  args: {},
  returns: v.object({ url: v.string(), expiresAt: v.number(), sizeBytes: v.number() }),
  handler: async (ctx): Promise<{ url: string; expiresAt: number; sizeBytes: number }> => {
    const exportedAt = Date.now()
    const exportId = await ctx.runMutation(internal.accountExport.beginExport, {})
    const { account, profile, profileId } = await ctx.runQuery(internal.accountExport.readAccount, { exportId })
    const file = new ExportFile()
    if (profileId) {
      await forEachPage(
        (cursor) => ctx.runQuery(internal.accountExport.readActionsPage, { exportId, profileId, cursor }),
        (page) => file.addActions(page),
      )
      await forEachPage(
        (cursor) => ctx.runQuery(internal.accountExport.readMessagesPage, { exportId, profileId, cursor }),
        (page) => file.addMessages(page),
      )
    }
    await forEachPage(
      (cursor) => ctx.runQuery(internal.accountExport.readUsagePage, { exportId, cursor }),
      (page) => file.addUsage(page),
    )
    const blob = file.toBlob({ exportedAt, account, profile })
    // Written down before the file exists, so the cleanup finds it even if this action dies next.
    await ctx.runMutation(internal.accountExport.recordFileSize, { exportId, fileBytes: blob.size })
    const storageId = await ctx.storage.store(blob)
    const link = await ctx.runMutation(internal.accountExport.finishExport, { exportId, storageId })
    if (!link) throw new ConvexError(NOT_AUTHENTICATED)
    return { ...link, sizeBytes: blob.size }
  },
})
