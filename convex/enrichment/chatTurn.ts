import { internal } from '../_generated/api'
import type { Id } from '../_generated/dataModel'
import { env, type ActionCtx } from '../_generated/server'
import { generateReply } from '../ai/claude'
import { hasSignal } from './prompts'

/** How often a streaming reply is written to its message document (the first text at once). */
export const FLUSH_INTERVAL_MS = 150

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

export type ChatReply = { message: string; shouldExtract: boolean }

/**
 * One chat turn, in two transactions apart from stream flushes: beginTurn (checks, stores the
 * user message, returns the request), the model call, then finishTurn or failTurn.
 */
export async function runChatTurn(
  ctx: ActionCtx,
  turn: {
    profileId: Id<'profiles'>
    actionId?: Id<'careerActions'>
    message: string
    opening?: boolean
    signals: readonly string[]
  },
): Promise<ChatReply> {
  const request = await ctx.runMutation(internal.enrichment.turns.beginTurn, {
    profileId: turn.profileId,
    actionId: turn.actionId,
    message: turn.message,
    opening: turn.opening,
  })
  if (request.kind === 'alreadyOpened') {
    return { message: request.message, shouldExtract: request.shouldExtract }
  }
  // CHAT_STREAMING=off waits for the whole reply (kept for the benchmark's comparison).
  const stream = env.CHAT_STREAMING !== 'off'
  const flusher = createReplyFlusher(async (content) => {
    await ctx.runMutation(internal.enrichment.turns.writeReplyProgress, {
      replyId: request.replyId,
      content,
    })
  }, FLUSH_INTERVAL_MS)

  const outcome = await generateReply({
    system: request.system,
    messages: request.messages,
    stream,
    onText: flusher.push,
  })
  await flusher.drain()

  if (!outcome.ok) {
    await ctx.runMutation(internal.enrichment.turns.failTurn, {
      replyId: request.replyId,
      userId: request.userId,
      partialText: outcome.partialText,
      usage: outcome.usage,
    })
    throw outcome.error
  }
  await ctx.runMutation(internal.enrichment.turns.finishTurn, {
    replyId: request.replyId,
    userId: request.userId,
    content: outcome.value,
    usage: outcome.usage,
  })
  return { message: outcome.value, shouldExtract: hasSignal(outcome.value, turn.signals) }
}
