// As in the component's example app: each user message names the stream of its reply.
import { StreamIdValidator } from '@convex-dev/persistent-text-streaming'
import { defineSchema, defineTable } from 'convex/server'
import { v } from 'convex/values'

export default defineSchema({
  userMessages: defineTable({
    prompt: v.string(),
    responseStreamId: StreamIdValidator,
  }).index('by_stream', ['responseStreamId']),
})
