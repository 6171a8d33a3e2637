// The HTTP action of the component's example, with Anthropic's SDK (pointed at the benchmark's
// model server) where the example calls OpenAI: each streamed piece of text is appended.
import Anthropic from '@anthropic-ai/sdk'
import type { StreamId } from '@convex-dev/persistent-text-streaming'
import { internal } from './_generated/api'
import { httpAction } from './_generated/server'
import { streamingComponent } from './streaming'

export const streamChat = httpAction(async (ctx, request) => {
  const body = (await request.json()) as { streamId: string }
  const response = await streamingComponent.stream(
    ctx,
    request,
    body.streamId as StreamId,
    async (ctx, _request, _streamId, append) => {
      const history = await ctx.runQuery(internal.messages.getHistory)
      const client = new Anthropic({ apiKey: process.env.ANTHROPIC_API_KEY, baseURL: process.env.ANTHROPIC_BASE_URL })
      const stream = await client.messages.create({
        model: 'claude-haiku-4-5-20251001',
        max_tokens: 500,
        system: 'You are a career coach helping people move into AI safety work. Keep replies short and ask one question at a time.',
        messages: history,
        stream: true,
      })
      for await (const event of stream) {
        if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') await append(event.delta.text)
      }
    },
  )
  response.headers.set('Access-Control-Allow-Origin', '*')
  response.headers.set('Vary', 'Origin')
  return response
})
