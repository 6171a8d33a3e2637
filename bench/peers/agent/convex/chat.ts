// @convex-dev/agent set up as its streaming docs recommend: the prompt saved in a mutation, the
// reply streamed by a scheduled action with `saveStreamDeltas: true` (the default chunking and
// 250 ms throttle), and one query that serves both the page of messages and the stream
// (listUIMessages + syncStreams) for the `useUIMessages(..., { stream: true })` hook.
// The model is the AI SDK's Anthropic provider pointed at the benchmark's model server.
import { createAnthropic } from '@ai-sdk/anthropic'
import { Agent, createThread, listMessages, listUIMessages, saveMessages, syncStreams, vStreamArgs } from '@convex-dev/agent'
import { paginationOptsValidator } from 'convex/server'
import { v } from 'convex/values'
import { components, internal } from './_generated/api'
import { internalAction, internalMutation, mutation, query } from './_generated/server'

const INSTRUCTIONS =
  'You are a career coach helping people move into AI safety work. Keep replies short and ask one question at a time.'

/** Built per call: the model server's address is only known once the benchmark has started it. */
function coach() {
  const anthropic = createAnthropic({
    baseURL: `${process.env.ANTHROPIC_BASE_URL}/v1`,
    apiKey: process.env.ANTHROPIC_API_KEY,
  })
  return new Agent(components.agent, {
    name: 'Career coach',
    languageModel: anthropic('claude-haiku-4-5-20251001'),
    instructions: INSTRUCTIONS,
  })
}

/** Benchmark setup: a thread holding the given history. */
export const createThreadWithHistory = internalMutation({
  args: { messages: v.array(v.object({ role: v.union(v.literal('user'), v.literal('assistant')), content: v.string() })) },
  returns: v.string(),
  handler: async (ctx, { messages }) => {
    const threadId = await createThread(ctx, components.agent, {})
    if (messages.length > 0) await saveMessages(ctx, components.agent, { threadId, messages })
    return threadId
  },
})

export const sendMessage = mutation({
  args: { threadId: v.string(), prompt: v.string() },
  returns: v.null(),
  handler: async (ctx, { threadId, prompt }) => {
    const { messageId } = await coach().saveMessage(ctx, { threadId, prompt, skipEmbeddings: true })
    await ctx.scheduler.runAfter(0, internal.chat.streamAsync, { threadId, promptMessageId: messageId })
    return null
  },
})

export const streamAsync = internalAction({
  args: { threadId: v.string(), promptMessageId: v.string() },
  returns: v.null(),
  handler: async (ctx, { threadId, promptMessageId }) => {
    const result = await coach().streamText(ctx, { threadId }, { promptMessageId }, { saveStreamDeltas: true })
    await result.consumeStream()
    return null
  },
})

export const listThreadMessages = query({
  args: { threadId: v.string(), paginationOpts: paginationOptsValidator, streamArgs: vStreamArgs },
  handler: async (ctx, args) => {
    const streams = await syncStreams(ctx, components.agent, args)
    const paginated = await listUIMessages(ctx, components.agent, args)
    return { ...paginated, streams }
  },
})

/** Benchmark bookkeeping: whether the newest message is a finished reply. */
export const replyFinished = query({
  args: { threadId: v.string() },
  returns: v.boolean(),
  handler: async (ctx, { threadId }) => {
    const { page } = await listMessages(ctx, components.agent, { threadId, paginationOpts: { numItems: 1, cursor: null } })
    return page[0]?.message?.role === 'assistant' && page[0].status === 'success'
  },
})
