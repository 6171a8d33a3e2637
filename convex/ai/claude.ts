// The only code that talks to Claude: client, model id, the call, and the text of the reply.
import Anthropic from '@anthropic-ai/sdk'
import { ConvexError } from 'convex/values'
import { env } from '../_generated/server'

export const MODEL_ID = 'claude-haiku-4-5-20251001'
export const MAX_REPLY_TOKENS = 500

/**
 * Whole-call deadline (retries included), well under Convex's 10-minute action limit.
 * MODEL_DEADLINE_MS overrides it (the tests use a short one to drive a hang).
 */
const DEFAULT_MODEL_DEADLINE_MS = 60_000

export type ModelMessage = { role: 'user' | 'assistant'; content: string }
export type ModelUsage = { inputTokens: number; outputTokens: number }

export type ModelOutcome<T> =
  | { ok: true; value: T; usage: ModelUsage }
  // `partialText` is what had streamed before the failure; `usage` what the model reported.
  | { ok: false; error: ConvexError<string>; partialText: string; usage: ModelUsage }

export function modelDeadlineMs(): number {
  const configured = Number(env.MODEL_DEADLINE_MS)
  return Number.isFinite(configured) && configured > 0 ? configured : DEFAULT_MODEL_DEADLINE_MS
}

/** Read at call time so tests and compatible gateways can point the client elsewhere. */
function createClient(): Anthropic {
  return new Anthropic({
    apiKey: env.ANTHROPIC_API_KEY,
    baseURL: env.ANTHROPIC_BASE_URL || undefined,
    timeout: modelDeadlineMs(),
  })
}

export const MODEL_ERRORS = {
  rateLimited: 'The assistant is getting too many requests right now. Please wait a minute and try again.',
  overloaded: 'The assistant is overloaded right now. Please try again in a few minutes.',
  serverError: 'The assistant ran into a problem on its side. Please try again.',
  timeout: 'The assistant took too long to answer. Please try again.',
  unreachable: 'Could not reach the assistant. Please try again in a moment.',
  refused: 'The assistant refused the request. Please try again later.',
  interrupted: "The assistant's reply was cut off. Please try again.",
  emptyReply: 'The assistant sent an empty reply. Please try again.',
} as const

function describeFailure(error: unknown, timedOut: boolean, streamStarted = false): string {
  if (timedOut || error instanceof Anthropic.APIConnectionTimeoutError) return MODEL_ERRORS.timeout
  // A stream whose connection drops part-way fails with the fetch layer's own error.
  if (streamStarted && !(error instanceof Anthropic.APIError)) return MODEL_ERRORS.interrupted
  if (error instanceof Anthropic.APIConnectionError) return MODEL_ERRORS.unreachable
  if (error instanceof Anthropic.APIError) {
    const type = (error.error as { error?: { type?: string } } | undefined)?.error?.type
    if (error.status === 529 || type === 'overloaded_error') return MODEL_ERRORS.overloaded
    if (error.status === 429 || type === 'rate_limit_error') return MODEL_ERRORS.rateLimited
    if (error.status === undefined || error.status >= 500) return MODEL_ERRORS.serverError
    // 4xx other than 429 means our request or key is wrong: the operator needs the detail.
    console.error('Model request refused', error.status, error.message)
    return MODEL_ERRORS.refused
  }
  console.error('Unexpected model failure', error)
  return MODEL_ERRORS.serverError
}

/** Aborts the call when the deadline passes, and remembers that it did. */
function startDeadline() {
  const controller = new AbortController()
  let expired = false
  const timer = setTimeout(() => {
    expired = true
    controller.abort()
  }, modelDeadlineMs())
  return {
    signal: controller.signal,
    expired: () => expired,
    clear: () => clearTimeout(timer),
  }
}

type TextRequest = {
  system: string
  messages: ModelMessage[]
  maxTokens?: number
  /** Stream the reply, calling onText with the whole text so far as it grows. */
  stream: boolean
  onText?: (textSoFar: string) => void
}

/** One chat reply. Never throws: a failure comes back with what had streamed before it. */
export async function generateReply(request: TextRequest): Promise<ModelOutcome<string>> {
  const client = createClient()
  const deadline = startDeadline()
  let text = ''
  let streamStarted = false
  const usage: ModelUsage = { inputTokens: 0, outputTokens: 0 }
  const body = {
    model: MODEL_ID,
    max_tokens: request.maxTokens ?? MAX_REPLY_TOKENS,
    system: request.system,
    messages: request.messages,
  }
  try {
    if (request.stream) {
      const events = await client.messages.create(
        { ...body, stream: true },
        { signal: deadline.signal },
      )
      streamStarted = true
      let stopped = false
      for await (const event of events) {
        if (event.type === 'message_start') {
          usage.inputTokens = event.message.usage.input_tokens
          usage.outputTokens = event.message.usage.output_tokens
        } else if (event.type === 'message_delta') {
          usage.outputTokens = event.usage.output_tokens
        } else if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') {
          text += event.delta.text
          request.onText?.(text)
        } else if (event.type === 'message_stop') {
          stopped = true
        }
      }
      // The SDK ends the loop quietly on an abort or a closed connection: a reply is only
      // complete once message_stop has arrived.
      if (!stopped) {
        const message = deadline.expired() ? MODEL_ERRORS.timeout : MODEL_ERRORS.interrupted
        return { ok: false, error: new ConvexError(message), partialText: text, usage }
      }
    } else {
      const reply = await client.messages.create(body, { signal: deadline.signal })
      usage.inputTokens = reply.usage.input_tokens
      usage.outputTokens = reply.usage.output_tokens
      text = reply.content.map((block) => (block.type === 'text' ? block.text : '')).join('')
    }
  } catch (error) {
    const message = describeFailure(error, deadline.expired(), streamStarted)
    return { ok: false, error: new ConvexError(message), partialText: text, usage }
  } finally {
    deadline.clear()
  }
  if (text.trim().length === 0) {
    return { ok: false, error: new ConvexError(MODEL_ERRORS.emptyReply), partialText: '', usage }
  }
  return { ok: true, value: text, usage }
}

export type ToolDefinition = {
  name: string
  description: string
  input_schema: { type: 'object'; properties: Record<string, unknown>; required?: string[] }
}

/**
 * One call that forces the model to answer through `tool`. Returns the tool's raw input
 * (unknown: the caller validates it), or undefined when the reply held no call to that tool.
 */
export async function callTool(request: {
  system: string
  messages: ModelMessage[]
  tool: ToolDefinition
  maxTokens: number
}): Promise<ModelOutcome<unknown>> {
  const client = createClient()
  const deadline = startDeadline()
  try {
    const reply = await client.messages.create(
      {
        model: MODEL_ID,
        max_tokens: request.maxTokens,
        system: request.system,
        messages: request.messages,
        tools: [request.tool],
        tool_choice: { type: 'tool', name: request.tool.name },
      },
      { signal: deadline.signal },
    )
    const usage = { inputTokens: reply.usage.input_tokens, outputTokens: reply.usage.output_tokens }
    const call = reply.content.find(
      (block) => block.type === 'tool_use' && block.name === request.tool.name,
    )
    return { ok: true, value: call?.type === 'tool_use' ? call.input : undefined, usage }
  } catch (error) {
    return {
      ok: false,
      error: new ConvexError(describeFailure(error, deadline.expired())),
      partialText: '',
      usage: { inputTokens: 0, outputTokens: 0 },
    }
  } finally {
    deadline.clear()
  }
}
