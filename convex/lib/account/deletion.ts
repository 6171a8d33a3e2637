// What deleting an account removes: a list of steps, each run in bounded batches (one
// transaction per batch) by convex/accountDeletion.ts until it reports nothing left.
import { getAuthUserId } from '@convex-dev/auth/server'
import type { PaginationOptions, PaginationResult } from 'convex/server'
import { internal } from '../../_generated/api'
import type { Doc, Id } from '../../_generated/dataModel'
import type { MutationCtx, QueryCtx } from '../../_generated/server'
import { isAccountClosed } from '../auth'
import { resetAccountLimitsOf } from '../../authAttempts'
import { resetLimitsOf } from '../rateLimits'
import { forgetUserInUsageReport } from '../report/rollups'
import { scheduleChunkRemoval } from '../../enrichment/liveReplyChunks'
import { endSessionsOf } from './sessions'
import { deleteExportRow } from '../../accountExport'
import { cancelQueuedEmailsTo } from './emailQueue'

const MiB = 1024 * 1024

/** What one batch may delete: documents and bytes read, both bounded. */
export type BatchLimit = { documents: number; bytesRead: number }

/**
 * A batch runs as a sub-transaction held to half of Convex's limits on one transaction, so a
 * batch that passes them fails alone, rolled back, and the run around it can record that.
 */
export const BATCH_TRANSACTION_LIMITS = {
  documentsRead: 8_000,
  documentsWritten: 4_000,
  bytesRead: 4 * MiB,
  bytesWritten: 4 * MiB,
}

/**
 * A batch's budget. Deleting a document reads it again, so a page's bytes count twice; a
 * chat message is at most about 15 KB, so even a page of the longest fits.
 */
export const BATCH_LIMIT: BatchLimit = { documents: 1000, bytesRead: 1.5 * MiB }

/** After each failed batch the job's batches are halved, so one that was too big gets through. */
export function batchLimitAfter(failures: number): BatchLimit {
  const halvings = Math.min(failures, 10)
  return {
    documents: Math.max(1, Math.floor(BATCH_LIMIT.documents / 2 ** halvings)),
    bytesRead: Math.max(64 * 1024, Math.floor(BATCH_LIMIT.bytesRead / 2 ** halvings)),
  }
}

/** What deleteMyData itself deletes of the sign-in records before it returns. */
export const SIGN_OUT_LIMIT: BatchLimit = { documents: 500, bytesRead: 1 * MiB }

export type StepOutcome = { deleted: number; done: boolean }

export type DeletionStep = {
  name: string
  /**
   * Deletes at most `limit` of this step's documents in the caller's transaction and says
   * whether any are left. Runs again until done; must be safe to run again after a rollback.
   */
  run: (ctx: MutationCtx, userId: Id<'users'>, limit: BatchLimit) => Promise<StepOutcome>
}

const DONE: StepOutcome = { deleted: 0, done: true }

/** The user's profiles. createProfile keeps one per user; the loops here cover any number. */
function profilesOf(ctx: MutationCtx, userId: Id<'users'>) {
  return ctx.db.query('profiles').withIndex('by_user', (q) => q.eq('userId', userId))
}

/** The rows of one table that a step deletes, found through an index. */
type Rows<T extends 'enrichmentMessages' | 'careerActions' | 'modelUsage'> = {
  first(): Promise<Doc<T> | null>
  paginate(options: PaginationOptions): Promise<PaginationResult<Doc<T>>>
}

/**
 * Deletes one byte-bounded page of rows. Always from the start of the range: what the
 * previous batch deleted is gone, so no cursor needs keeping.
 */
async function deletePage<T extends 'enrichmentMessages' | 'careerActions' | 'modelUsage'>(
  ctx: MutationCtx,
  table: T,
  rows: Rows<T>,
  limit: BatchLimit,
): Promise<StepOutcome> {
  const { page, isDone } = await rows.paginate({
    numItems: limit.documents,
    cursor: null,
    maximumBytesRead: limit.bytesRead,
  })
  for (const doc of page) {
    // A reply still being written in delta mode has live chunks and no removal scheduled yet
    // (a finished or failed one already has it); its chunks are found by its id, not the user.
    if ('status' in doc && doc.status === 'streaming') await scheduleChunkRemoval(ctx, doc._id as Id<'enrichmentMessages'>)
    await ctx.db.delete(table, doc._id)
  }
  return { deleted: page.length, done: isDone }
}

/** Deletes a page of rows of the first of the user's profiles that still has any. */
async function deleteProfileRows<T extends 'enrichmentMessages' | 'careerActions'>(
  ctx: MutationCtx,
  userId: Id<'users'>,
  limit: BatchLimit,
  table: T,
  rowsOf: (profileId: Id<'profiles'>) => Rows<T>,
): Promise<StepOutcome> {
  for await (const profile of profilesOf(ctx, userId)) {
    // A query runs once, so one to look and a fresh one to delete from.
    if ((await rowsOf(profile._id).first()) === null) continue
    // One paginated query per transaction, so one profile per batch.
    const { deleted } = await deletePage(ctx, table, rowsOf(profile._id), limit)
    return { deleted, done: false }
  }
  return DONE
}

/** Deletes sign-in rate-limit rows of @convex-dev/auth for these identifiers. */
async function deleteAuthRateLimits(ctx: MutationCtx, identifiers: (string | undefined)[]) {
  let deleted = 0
  for (const identifier of identifiers) {
    if (!identifier) continue
    const rows = await ctx.db
      .query('authRateLimits')
      .withIndex('identifier', (q) => q.eq('identifier', identifier))
      .take(10)
    for (const row of rows) await ctx.db.delete('authRateLimits', row._id)
    deleted += rows.length
  }
  return deleted
}

/**
 * Sessions with their refresh tokens (one is added each time a session is refreshed, so a
 * long session has hundreds) and OAuth verifiers; a session goes once its tokens are gone.
 */
export const deleteSessions: DeletionStep['run'] = async (ctx, userId, limit) => {
  let deleted = 0
  const sessions = await ctx.db
    .query('authSessions')
    .withIndex('userId', (q) => q.eq('userId', userId))
    .take(limit.documents)
  for (const session of sessions) {
    const tokens = await ctx.db
      .query('authRefreshTokens')
      .withIndex('sessionId', (q) => q.eq('sessionId', session._id))
      .take(limit.documents - deleted)
    for (const token of tokens) await ctx.db.delete('authRefreshTokens', token._id)
    deleted += tokens.length
    const verifiers = await ctx.db
      .query('authVerifiers')
      .withIndex('sessionId', (q) => q.eq('sessionId', session._id))
      .take(limit.documents - deleted)
    for (const verifier of verifiers) await ctx.db.delete('authVerifiers', verifier._id)
    deleted += verifiers.length
    if (deleted >= limit.documents) return { deleted, done: false }
    await ctx.db.delete('authSessions', session._id)
    deleted += 1
  }
  return { deleted, done: sessions.length < limit.documents }
}

/**
 * Sign-in accounts with their verification codes and the sign-in rate limits keyed by the
 * account (password attempts) or its email (code attempts). Once they are gone nobody can
 * sign in as this user again, so no new session can appear while the rest is deleted.
 */
export const deleteAccounts: DeletionStep['run'] = async (ctx, userId, limit) => {
  let deleted = 0
  const accounts = await ctx.db
    .query('authAccounts')
    .withIndex('userIdAndProvider', (q) => q.eq('userId', userId))
    .take(limit.documents)
  for (const account of accounts) {
    const codes = await ctx.db
      .query('authVerificationCodes')
      .withIndex('accountId', (q) => q.eq('accountId', account._id))
      .take(limit.documents - deleted)
    for (const code of codes) await ctx.db.delete('authVerificationCodes', code._id)
    deleted += codes.length
    if (deleted >= limit.documents) return { deleted, done: false }
    deleted += await deleteAuthRateLimits(ctx, [account._id, account.providerAccountId])
    await ctx.db.delete('authAccounts', account._id)
    deleted += 1
  }
  return { deleted, done: accounts.length < limit.documents }
}

/**
 * Every step, in order. Each finds what is left from the database itself, so a batch that
 * fails is rolled back and simply runs again. To delete one more kind of document, add one
 * entry here (before `profiles` if it is found through the profile, before `user` if through
 * the user).
 *
 * The order matters where work may still be in flight when deletion starts: a model call that
 * finishes once deletion was asked for writes no usage row (recordModelUsage counts it in the
 * ceilings and the report as a deleted account's), so none appears after this step; sign-in
 * accounts go before sessions so
 * that no new session can be created for this user; the user document and the rate-limit
 * state go last.
 */
export const DELETION_STEPS: DeletionStep[] = [
  {
    name: 'exports',
    run: async (ctx, userId, limit) => {
      const exports = await ctx.db
        .query('accountExports')
        .withIndex('by_user', (q) => q.eq('userId', userId))
        .take(limit.documents)
      for (const row of exports) await deleteExportRow(ctx, row)
      return { deleted: exports.length, done: exports.length < limit.documents }
    },
  },
  // Both chats: general and debrief messages all carry the profile id.
  {
    name: 'chatMessages',
    run: (ctx, userId, limit) =>
      deleteProfileRows(ctx, userId, limit, 'enrichmentMessages', (profileId) =>
        ctx.db.query('enrichmentMessages').withIndex('by_profile', (q) => q.eq('profileId', profileId)),
      ),
  },
  {
    name: 'careerActions',
    run: (ctx, userId, limit) =>
      deleteProfileRows(ctx, userId, limit, 'careerActions', (profileId) =>
        ctx.db.query('careerActions').withIndex('by_profile', (q) => q.eq('profileId', profileId)),
      ),
  },
  {
    name: 'profiles',
    run: async (ctx, userId) => {
      const profile = await profilesOf(ctx, userId).first()
      if (!profile) return DONE
      await ctx.db.delete('profiles', profile._id)
      return { deleted: 1, done: false }
    },
  },
  {
    // Usage rows are deleted; the operator's report keeps their totals (rows not yet counted
    // are counted first) and its per-user day entries lose this user's id. Up to three writes
    // a row, so a third of the batch's documents.
    name: 'modelUsage',
    run: async (ctx, userId, limit) => {
      const rows = Math.max(1, Math.floor(limit.documents / 3))
      const { changed, more } = await forgetUserInUsageReport(ctx, userId, rows)
      return { deleted: changed, done: !more }
    },
  },
  { name: 'authAccounts', run: deleteAccounts },
  { name: 'authSessions', run: deleteSessions },
  {
    // Last, and in the same transaction that deletes the job: while the job exists a repeated
    // deleteMyData still counts against the user's rate limit, so the limits are reset here.
    name: 'user',
    run: async (ctx, userId) => {
      await resetLimitsOf(ctx, userId)
      const job = await ctx.db
        .query('accountDeletions')
        .withIndex('by_user', (q) => q.eq('userId', userId))
        .first()
      const identifiers = job?.signInIdentifiers ?? []
      // The account throttles are keyed by the (already normalized) address.
      for (const identifier of identifiers) await resetAccountLimitsOf(ctx, identifier)
      const deleted = await deleteAuthRateLimits(ctx, identifiers)
      const user = await ctx.db.get('users', userId)
      if (user) await ctx.db.delete('users', userId)
      return { deleted: deleted + (user ? 1 : 0), done: true }
    },
  },
]

/** After a failed batch, wait 1 s, 2 s, 4 s, ... at most an hour before trying again. */
export function retryDelayMs(failures: number): number {
  return Math.min(1000 * 2 ** (failures - 1), 60 * 60 * 1000)
}

/** More than the account throttles let an address have queued at once. */
const QUEUED_EMAILS_LIMIT = 100

/** The address's bounce or spam record: about the address, but it names it. */
async function forgetDeliveryProblems(ctx: MutationCtx, address: string): Promise<number> {
  const rows = await ctx.db
    .query('emailDeliveryProblems')
    .withIndex('by_address', (q) => q.eq('address', address))
    .take(10)
  for (const row of rows) await ctx.db.delete('emailDeliveryProblems', row._id)
  return rows.length
}

/**
 * Marks the user as being deleted (every function treats them as signed out from this
 * transaction on), deletes their sessions (their refresh tokens follow in batches) and their
 * sign-in accounts up to a bound, and starts the job that deletes the rest.
 */
export async function startAccountDeletion(ctx: MutationCtx, userId: Id<'users'>): Promise<void> {
  const now = Date.now()
  const user = await ctx.db.get('users', userId)
  const signInIdentifiers = [user?.email, user?.phone].filter((value) => value !== undefined)
  // Without its email and phone, a sign-up with the same address while the batches run makes
  // a new user instead of being linked (by verified email) to this one.
  await ctx.db.patch('users', userId, {
    deletionRequestedAt: now,
    email: undefined,
    emailVerificationTime: undefined,
    phone: undefined,
    phoneVerificationTime: undefined,
  })
  // The sessions themselves go now, however many refresh tokens they have (those go in batches).
  let deleted = await endSessionsOf(ctx, userId)
  deleted += (await deleteAccounts(ctx, userId, SIGN_OUT_LIMIT)).deleted
  // Here rather than in a batch: once the accounts are gone the address can sign up again, and
  // a later batch would cancel the new account's emails. An address has only a few queued (the
  // account throttles bound them); sent ones stay in the queue's records EMAIL_RECORD_DAYS.
  for (const address of signInIdentifiers) {
    deleted += await cancelQueuedEmailsTo(ctx, address, QUEUED_EMAILS_LIMIT)
    deleted += await forgetDeliveryProblems(ctx, address)
  }
  const jobId = await ctx.db.insert('accountDeletions', {
    userId,
    requestedAt: now,
    step: DELETION_STEPS[0].name,
    signInIdentifiers,
    batches: 0,
    deleted,
    failures: 0,
  })
  await ctx.scheduler.runAfter(0, internal.accountDeletion.runDeletion, { jobId })
}

/**
 * The caller's account when it is already being deleted, or deleted (a second deleteMyData,
 * say from a double click): `jobRunning` while batches are still deleting. Null otherwise.
 */
export async function closingAccountOfCaller(
  ctx: QueryCtx,
): Promise<{ userId: Id<'users'>; jobRunning: boolean } | null> {
  // The token's user, before the checks that already treat them as signed out.
  const userId = await getAuthUserId(ctx)
  if (userId === null || !(await isAccountClosed(ctx, userId))) return null
  const job = await ctx.db
    .query('accountDeletions')
    .withIndex('by_user', (q) => q.eq('userId', userId))
    .first()
  return { userId, jobRunning: job !== null }
}
