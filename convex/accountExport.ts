// The transactions of account.exportMyData: begin (checks and rate limit), bounded pages of
// each table, and finish (the stored file and its link). The file is deleted when the link
// expires.
import { paginationResultValidator } from 'convex/server'
import { ConvexError, v } from 'convex/values'
import { internal } from './_generated/api'
import type { Doc, Id } from './_generated/dataModel'
import { internalMutation, internalQuery, type MutationCtx, type QueryCtx } from './_generated/server'
import { findMyProfile, findUserId, NOT_AUTHENTICATED, requireUserId } from './lib/auth'
import {
  EXPORT_LINK_LIFETIME_MS,
  EXPORT_PAGE_BYTES,
  EXPORT_PAGE_ROWS,
  exportAccount,
  exportAction,
  exportedAccount,
  exportedAction,
  exportedMessage,
  exportedProfile,
  exportedUsage,
  exportMessage,
  exportProfile,
  exportUsage,
} from './lib/account/exportFile'
import { consumeLimits } from './lib/rateLimits'

/** An action may run 10 minutes; an export row whose file never arrived goes after that. */
const EXPORT_BUILD_DEADLINE_MS = 10 * 60 * 1000

/** The export's owner when that is the caller, still signed in; otherwise null. */
async function exportOwner(ctx: QueryCtx, exportId: Id<'accountExports'>): Promise<Id<'users'> | null> {
  const userId = await findUserId(ctx)
  if (!userId) return null
  const row = await ctx.db.get('accountExports', exportId)
  return row && row.userId === userId ? userId : null
}

async function requireExportOwner(ctx: QueryCtx, exportId: Id<'accountExports'>): Promise<Id<'users'>> {
  const userId = await exportOwner(ctx, exportId)
  if (!userId) throw new ConvexError(NOT_AUTHENTICATED)
  return userId
}

const pageOptions = (cursor: string | null) => ({
  numItems: EXPORT_PAGE_ROWS,
  cursor,
  maximumBytesRead: EXPORT_PAGE_BYTES,
})

/** Checks the caller and the rate limit, and records the export so it is cleaned up even if the action dies. */
export const beginExport = internalMutation({
  args: {},
  returns: v.id('accountExports'),
  handler: async (ctx) => {
    const userId = await requireUserId(ctx)
    await consumeLimits(ctx, userId, ['accountExport'])
    const now = Date.now()
    const expiresAt = now + EXPORT_BUILD_DEADLINE_MS + EXPORT_LINK_LIFETIME_MS
    const exportId = await ctx.db.insert('accountExports', { userId, createdAt: now, expiresAt })
    await ctx.scheduler.runAt(expiresAt, internal.accountExport.expireExport, { exportId })
    return exportId
  },
})

export const readAccount = internalQuery({
  args: { exportId: v.id('accountExports') },
  returns: v.object({
    account: exportedAccount,
    profile: v.union(exportedProfile, v.null()),
    profileId: v.union(v.id('profiles'), v.null()),
  }),
  handler: async (ctx, { exportId }) => {
    const userId = await requireExportOwner(ctx, exportId)
    const user = await ctx.db.get('users', userId)
    if (!user) throw new ConvexError(NOT_AUTHENTICATED)
    const profile = await findMyProfile(ctx)
    return {
      account: exportAccount(user),
      profile: profile && exportProfile(profile),
      profileId: profile?._id ?? null,
    }
  },
})

/** The profile's career actions, in the order they were created. */
export const readActionsPage = internalQuery({
  args: { exportId: v.id('accountExports'), profileId: v.id('profiles'), cursor: v.union(v.string(), v.null()) },
  returns: paginationResultValidator(exportedAction),
  handler: async (ctx, { exportId, profileId, cursor }) => {
    await requireOwnProfile(ctx, exportId, profileId)
    const result = await ctx.db
      .query('careerActions')
      .withIndex('by_profile', (q) => q.eq('profileId', profileId))
      .paginate(pageOptions(cursor))
    return { ...result, page: result.page.map(exportAction) }
  },
})

/** Both chats' messages, oldest first. */
export const readMessagesPage = internalQuery({
  args: { exportId: v.id('accountExports'), profileId: v.id('profiles'), cursor: v.union(v.string(), v.null()) },
  returns: paginationResultValidator(exportedMessage),
  handler: async (ctx, { exportId, profileId, cursor }) => {
    await requireOwnProfile(ctx, exportId, profileId)
    const result = await ctx.db
      .query('enrichmentMessages')
      .withIndex('by_profile', (q) => q.eq('profileId', profileId))
      .paginate(pageOptions(cursor))
    return { ...result, page: result.page.map(exportMessage) }
  },
})

/** The user's model calls, oldest first. */
export const readUsagePage = internalQuery({
  args: { exportId: v.id('accountExports'), cursor: v.union(v.string(), v.null()) },
  returns: paginationResultValidator(exportedUsage),
  handler: async (ctx, { exportId, cursor }) => {
    const userId = await requireExportOwner(ctx, exportId)
    const result = await ctx.db
      .query('modelUsage')
      .withIndex('by_user', (q) => q.eq('userId', userId))
      .paginate(pageOptions(cursor))
    return { ...result, page: result.page.map(exportUsage) }
  },
})

async function requireOwnProfile(ctx: QueryCtx, exportId: Id<'accountExports'>, profileId: Id<'profiles'>) {
  const userId = await requireExportOwner(ctx, exportId)
  const profile = await ctx.db.get('profiles', profileId)
  if (!profile || profile.userId !== userId) throw new ConvexError(NOT_AUTHENTICATED)
}

/** The size of the file about to be stored (see `fileBytes` in the schema); refused once the caller is signed out. */
export const recordFileSize = internalMutation({
  args: { exportId: v.id('accountExports'), fileBytes: v.number() },
  returns: v.null(),
  handler: async (ctx, { exportId, fileBytes }) => {
    await requireExportOwner(ctx, exportId)
    await ctx.db.patch('accountExports', exportId, { fileBytes })
    return null
  },
})

/**
 * Records the stored file and returns its link, or deletes the file and returns null when
 * the caller can no longer have it (signed out, or their account is being deleted).
 */
export const finishExport = internalMutation({
  args: { exportId: v.id('accountExports'), storageId: v.id('_storage') },
  returns: v.union(v.object({ url: v.string(), expiresAt: v.number() }), v.null()),
  handler: async (ctx, { exportId, storageId }) => {
    const owner = await exportOwner(ctx, exportId)
    const url = owner && (await ctx.storage.getUrl(storageId))
    if (!url) {
      await ctx.storage.delete(storageId)
      return null
    }
    const expiresAt = Date.now() + EXPORT_LINK_LIFETIME_MS
    await ctx.db.patch('accountExports', exportId, { storageId, expiresAt })
    await ctx.scheduler.runAt(expiresAt, internal.accountExport.expireExport, { exportId })
    return { url, expiresAt }
  },
})

/**
 * Deletes an export's file and row once its time is up (scheduled at begin and at finish).
 * A row whose action died before recording its file starts the search for that file.
 */
export const expireExport = internalMutation({
  args: { exportId: v.id('accountExports') },
  returns: v.null(),
  handler: async (ctx, { exportId }) => {
    const row = await ctx.db.get('accountExports', exportId)
    if (!row || row.expiresAt > Date.now()) return null
    await deleteExportRow(ctx, row)
    return null
  },
})

/** Files of the store window one batch looks at. */
const ORPHAN_SCAN_PAGE = 200

/**
 * One page of the search for files an export action stored but never recorded: files stored
 * in the export's window (from its start to the latest its action could run) with the size it
 * was about to store, that no export row names. Only export files are kept in storage. The
 * arguments name no user, so the scheduler's records do not either.
 */
export const deleteOrphanedExportFiles = internalMutation({
  args: { from: v.number(), to: v.number(), fileBytes: v.number(), cursor: v.union(v.string(), v.null()) },
  returns: v.null(),
  handler: async (ctx, args) => {
    const { page, isDone, continueCursor } = await ctx.db.system
      .query('_storage')
      .withIndex('by_creation_time', (q) => q.gte('_creationTime', args.from).lte('_creationTime', args.to))
      .paginate({ numItems: ORPHAN_SCAN_PAGE, cursor: args.cursor })
    for (const file of page) {
      if (file.size !== args.fileBytes) continue
      const owner = await ctx.db
        .query('accountExports')
        .withIndex('by_storage', (q) => q.eq('storageId', file._id))
        .first()
      if (!owner) await ctx.storage.delete(file._id)
    }
    if (!isDone) {
      await ctx.scheduler.runAfter(0, internal.accountExport.deleteOrphanedExportFiles, { ...args, cursor: continueCursor })
    }
    return null
  },
})

/**
 * Deletes an export row and its file. A row without a recorded file whose action got as far
 * as sizing one may have left it stored: the search for it runs once that action cannot be
 * running any more.
 */
export async function deleteExportRow(ctx: MutationCtx, row: Doc<'accountExports'>): Promise<void> {
  if (row.storageId) {
    await ctx.storage.delete(row.storageId)
  } else if (row.fileBytes !== undefined) {
    const to = row.createdAt + EXPORT_BUILD_DEADLINE_MS
    await ctx.scheduler.runAt(Math.max(to, Date.now()), internal.accountExport.deleteOrphanedExportFiles, {
      from: row.createdAt,
      to,
      fileBytes: row.fileBytes,
      cursor: null,
    })
  }
  await ctx.db.delete('accountExports', row._id)
}
