// Plain helpers for the chunks of a reply written with liveReply 'deltas' (table
// liveReplyChunks): reading them in order, and removing them once the reply has ended.
import type { Doc, Id } from '../_generated/dataModel'
import type { MutationCtx, QueryCtx } from '../_generated/server'
import { internal } from '../_generated/api'

/**
 * Most chunks one read returns. A reply is capped at MAX_REPLY_TOKENS and chunks are cut at
 * most every DELTA_INTERVAL_MS within the model deadline, so a whole reply fits in one read;
 * a longer one is read on from the returned cursor.
 */
export const CHUNK_READ_LIMIT = 1000

/** Chunks deleted per transaction when a reply has ended; more are deleted by a follow-up job. */
const CHUNK_DELETE_BATCH = 500

/** The reply's chunks from `fromSeq` on, in order. */
export async function readChunks(
  ctx: QueryCtx,
  replyId: Id<'enrichmentMessages'>,
  fromSeq = 0,
  limit = CHUNK_READ_LIMIT,
): Promise<Doc<'liveReplyChunks'>[]> {
  return await ctx.db
    .query('liveReplyChunks')
    .withIndex('by_reply', (q) => q.eq('replyId', replyId).gte('seq', fromSeq))
    .take(limit)
}

/** The last chunk written for the reply, or null before the first. */
export async function lastChunk(ctx: QueryCtx, replyId: Id<'enrichmentMessages'>) {
  return await ctx.db
    .query('liveReplyChunks')
    .withIndex('by_reply', (q) => q.eq('replyId', replyId))
    .order('desc')
    .first()
}

/**
 * The text a reply had when it stopped: its document's content (document mode), else what
 * its chunks hold (delta mode, whose document stays empty until the turn ends).
 */
export async function textSoFar(ctx: QueryCtx, reply: Doc<'enrichmentMessages'>): Promise<string> {
  if (reply.content.length > 0) return reply.content
  const chunks = await readChunks(ctx, reply._id)
  return chunks.map((chunk) => chunk.text).join('')
}

/** Schedules the removal of the reply's chunks, if it has any. */
export async function scheduleChunkRemoval(ctx: MutationCtx, replyId: Id<'enrichmentMessages'>) {
  if ((await lastChunk(ctx, replyId)) === null) return
  await ctx.scheduler.runAfter(0, internal.enrichment.turns.deleteReplyChunks, { replyId })
}

/** Deletes one batch of the reply's chunks; returns whether any are left. */
export async function deleteChunkBatch(ctx: MutationCtx, replyId: Id<'enrichmentMessages'>) {
  const batch = await readChunks(ctx, replyId, 0, CHUNK_DELETE_BATCH)
  for (const chunk of batch) await ctx.db.delete('liveReplyChunks', chunk._id)
  return batch.length === CHUNK_DELETE_BATCH
}
