// @convex-dev/persistent-text-streaming set up as its README and example app do: a mutation
// stores the prompt with a new stream, an HTTP action (./chat.ts) streams the reply to the
// browser that asked and saves it a sentence at a time, and every other client reads the list
// of messages and, for each, the stream's body (`useStream` with driven = false).
import type { StreamId } from '@convex-dev/persistent-text-streaming'
import { StreamIdValidator } from '@convex-dev/persistent-text-streaming'
import { v } from 'convex/values'
import { internalMutation, internalQuery, mutation, query } from './_generated/server'
import { streamingComponent } from './streaming'

export const listMessages = query({
  args: {},
  handler: async (ctx) => await ctx.db.query('userMessages').collect(),
})

export const sendMessage = mutation({
  args: { prompt: v.string() },
  handler: async (ctx, { prompt }) => {
    const responseStreamId = await streamingComponent.createStream(ctx)
    await ctx.db.insert('userMessages', { prompt, responseStreamId })
    return responseStreamId
  },
})

export const getChatBody = query({
  args: { streamId: StreamIdValidator },
  handler: async (ctx, { streamId }) => await streamingComponent.getStreamBody(ctx, streamId as StreamId),
})

/** The conversation so far, for the model: each prompt and its streamed reply. */
export const getHistory = internalQuery({
  args: {},
  handler: async (ctx) => {
    const prompts = await ctx.db.query('userMessages').collect()
    const turns = await Promise.all(
      prompts.map(async (prompt) => ({
        prompt: prompt.prompt,
        reply: (await streamingComponent.getStreamBody(ctx, prompt.responseStreamId as StreamId)).text,
      })),
    )
    return turns.flatMap(({ prompt, reply }) => [
      { role: 'user' as const, content: prompt },
      ...(reply ? [{ role: 'assistant' as const, content: reply }] : []),
    ])
  },
})

/** Benchmark setup: finished exchanges, each reply saved as one chunk of a done stream. */
export const seedHistory = internalMutation({
  args: { exchanges: v.array(v.object({ prompt: v.string(), reply: v.string() })) },
  handler: async (ctx, { exchanges }) => {
    for (const { prompt, reply } of exchanges) {
      const responseStreamId = await streamingComponent.createStream(ctx)
      await ctx.runMutation(streamingComponent.component.lib.addChunk, {
        streamId: responseStreamId,
        text: reply,
        final: true,
      })
      await ctx.db.insert('userMessages', { prompt, responseStreamId })
    }
  },
})
