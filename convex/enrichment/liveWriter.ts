// How a reply reaches readers while the model writes it: throttled writes of the whole text so
// far into its document (document mode), or of the new text as numbered chunks (delta mode).
import type { Infer } from 'convex/values'
import { internal } from '../_generated/api'
import type { Id } from '../_generated/dataModel'
import type { ActionCtx } from '../_generated/server'
import type { liveReplyMode } from '../schema'

/**
 * How often a streaming reply is written to its message document (the first text at once).
 * Each write makes every open chat receive the whole conversation again: 250 ms sends about
 * 40% less than 150 ms and still reads as continuous text (docs/benchmarks.md).
 */
export const FLUSH_INTERVAL_MS = 250

/**
 * How often a new chunk of a delta-mode reply is cut (the first text at once). Each chunk
 * costs a document and two getLiveReply results besides its text: 250 ms (the agent
 * component's default) costs a third less than 150 ms and still reads as continuous text.
 */
export const DELTA_INTERVAL_MS = 250

export type LiveReplyMode = Infer<typeof liveReplyMode>

/**
 * Coalesces a growing text into at most one write per interval, writes in order, and never
 * writes after `drain` has returned.
 */
export function createReplyFlusher(write: (content: string) => Promise<void>, intervalMs: number) {
  let latest = ''
  let written = ''
  let lastWriteAt = 0
  let timer: ReturnType<typeof setTimeout> | null = null
  let chain: Promise<void> = Promise.resolve()
  let closed = false

  const flush = () => {
    timer = null
    lastWriteAt = Date.now()
    const content = latest
    chain = chain
      .then(async () => {
        if (closed || content === written) return
        await write(content)
        written = content
      })
      // A lost flush only delays what the reader sees; the final write carries the whole reply.
      .catch((error: unknown) => console.warn('Reply flush failed', error))
  }

  return {
    push(text: string) {
      latest = text
      if (timer !== null || closed) return
      const wait = Math.max(0, lastWriteAt + intervalMs - Date.now())
      timer = setTimeout(flush, wait)
    },
    async drain() {
      closed = true
      if (timer !== null) clearTimeout(timer)
      timer = null
      await chain
    },
  }
}

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff

/**
 * Cuts a growing text into chunks, each holding only what arrived since the previous one: the
 * first at once, then at most one per interval. Chunks are written one at a time, in order,
 * numbered from 0; a failed write is retried (same number, same text) before any later chunk,
 * so a reader never sees a gap or a repeat. Nothing is written after `drain` has returned.
 */
export function createChunkWriter(
  write: (chunk: { seq: number; text: string }) => Promise<void>,
  intervalMs: number,
) {
  let latest = ''
  let cutAt = 0
  let nextSeq = 0
  let lastCutAt = 0
  let timer: ReturnType<typeof setTimeout> | null = null
  const queue: { seq: number; text: string }[] = []
  let writing: Promise<void> | null = null
  let closed = false

  const writeQueued = async () => {
    while (queue.length > 0 && !closed) {
      try {
        await write(queue[0])
        queue.shift()
      } catch (error) {
        // Kept at the head of the queue: the next cut retries it first.
        console.warn('Reply chunk write failed', error)
        break
      }
    }
  }

  const pump = () => {
    // Cleared once the run has settled, never before it is stored: a run that had nothing to
    // write must not leave `writing` set, or no later chunk would ever be written.
    if (writing || queue.length === 0) return
    writing = writeQueued().finally(() => {
      writing = null
    })
  }

  const cut = () => {
    timer = null
    lastCutAt = Date.now()
    let end = latest.length
    // Never end a chunk between the two halves of a surrogate pair.
    if (end > cutAt && isHighSurrogate(latest.charCodeAt(end - 1))) end -= 1
    if (end > cutAt) {
      queue.push({ seq: nextSeq++, text: latest.slice(cutAt, end) })
      cutAt = end
    }
    pump()
  }

  return {
    push(text: string) {
      latest = text
      if (timer !== null || closed) return
      timer = setTimeout(cut, Math.max(0, lastCutAt + intervalMs - Date.now()))
    },
    /** Stops cutting and waits for the write in flight; the final text goes to the document. */
    async drain() {
      closed = true
      if (timer !== null) clearTimeout(timer)
      timer = null
      await writing
    },
  }
}

/** The live writer of one reply: its document (document mode) or its chunks (delta mode). */
export function createLiveWriter(ctx: ActionCtx, replyId: Id<'enrichmentMessages'>, mode: LiveReplyMode) {
  if (mode === 'deltas') {
    return createChunkWriter(async ({ seq, text }) => {
      await ctx.runMutation(internal.enrichment.turns.writeReplyChunk, { replyId, seq, text })
    }, DELTA_INTERVAL_MS)
  }
  return createReplyFlusher(async (content) => {
    await ctx.runMutation(internal.enrichment.turns.writeReplyProgress, { replyId, content })
  }, FLUSH_INTERVAL_MS)
}
