// The only code that talks to Claude: the client, the request each model accepts, the call,
// and the answer's text (never its thinking).
import Anthropic from '@anthropic-ai/sdk'
import { ConvexError } from 'convex/values'
import { env } from '../_generated/server'
import { hasVisibleText } from '../lib/text'
import {
  chatModel,
  DEFAULT_MODEL_ID,
  extractionModel,
  modelTraits,
  type ModelChoice,
  type ModelTraits,
} from './models'

/** The default model id of MODEL_CHAT and MODEL_EXTRACTION. */
export const MODEL_ID = DEFAULT_MODEL_ID
/** The visible reply's cap. */
export const MAX_REPLY_TOKENS = 500
/**
 * The newer tokenizer counts the same text as about 30% more tokens (Haiku 5.5 migration guide:
 * "revisit max_tokens"), so a cap on such a model is raised by this much: the same text fits.
 */
export const NEWER_TOKENIZER_ALLOWANCE = 1.3
/**
 * Added to max_tokens when a model may think and cannot be told not to, since thinking tokens
 * count toward max_tokens. Such a request also asks for effort `low` when the model takes it.
 */
export const THINKING_ROOM_TOKENS = 3_500

/**
 * Whole-call deadline (retries included), well under Convex's 10-minute action limit.
 * MODEL_DEADLINE_MS overrides it (the tests use a short one to drive a hang).
 */
const DEFAULT_MODEL_DEADLINE_MS = 60_000

export type ModelMessage = { role: 'user' | 'assistant'; content: string }
/** What one call cost, and which model it was: each usage row names the model actually called. */
export type ModelUsage = { model: string; inputTokens: number; outputTokens: number }

export type ModelOutcome<T> =
  | { ok: true; value: T; usage: ModelUsage }
  // `partialText` is what had streamed before the failure; `usage` what the model reported;
  // `refused` when the model's safety classifiers declined the request (stop_reason refusal).
  | { ok: false; error: ConvexError<string>; partialText: string; usage: ModelUsage; refused?: true }

export function modelDeadlineMs(): number {
  const configured = Number(env.MODEL_DEADLINE_MS)
  return Number.isFinite(configured) && configured > 0 ? configured : DEFAULT_MODEL_DEADLINE_MS
}

/**
 * Bytes of UTF-8 per token when the model did not report a count (see estimateTokens): about
 * 4 characters of English prose make a token on Claude's tokenizers, and English is about one
 * byte a character. Counting bytes rather than characters keeps the estimate from falling far
 * short on other scripts, whose characters take 2-4 bytes and more tokens each.
 */
export const BYTES_PER_TOKEN_ESTIMATE = 4

/**
 * Tokens in `text` as this model would count them, estimated: UTF-8 bytes / 4, times the newer
 * tokenizer's allowance where the model has it, rounded up. Used only for tokens the model
 * spent but never reported, so that they still count in the usage row, the ceilings and the
 * report.
 */
export function estimateTokens(text: string, traits: ModelTraits): number {
  const tokens = Math.ceil(new TextEncoder().encode(text).length / BYTES_PER_TOKEN_ESTIMATE)
  return traits.newerTokenizer ? Math.ceil(tokens * NEWER_TOKENIZER_ALLOWANCE) : tokens
}

/**
 * Watches the client's requests: whether an attempt has been sent and has had no answer yet,
 * i.e. the model has the request (a call that ends then may be billed). An attempt answered
 * with an error (a 429 the SDK waits to retry, say) is not with the model.
 */
function requestWatcher() {
  let awaitingAnswer = false
  const watchedFetch: typeof fetch = async (input, init) => {
    awaitingAnswer = true
    try {
      return await fetch(input, init)
    } finally {
      awaitingAnswer = false
    }
  }
  return { fetch: watchedFetch, awaitingAnswer: () => awaitingAnswer }
}

/** Read at call time so tests and compatible gateways can point the client elsewhere. */
function createClient(watcher: ReturnType<typeof requestWatcher>): Anthropic {
  return new Anthropic({
    apiKey: env.ANTHROPIC_API_KEY,
    baseURL: env.ANTHROPIC_BASE_URL || undefined,
    timeout: modelDeadlineMs(),
    fetch: watcher.fetch,
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
  /** The model's id answered 404: retired or mistyped. The operator's log says what to change. */
  unavailable: 'The assistant is unavailable right now. Please try again later.',
  /** A chat reply stopped by Anthropic's safety classifiers (`stop_reason: "refusal"`). */
  refusal: "The assistant can't help with that message. You could rephrase it and try again.",
  /** An extraction stopped the same way. */
  extractionRefusal:
    "The assistant can't help with this conversation, so your profile was not changed. You can edit your profile yourself instead.",
  /** The answer reached max_tokens: never passed off as a whole answer. */
  tooLong: "The assistant's answer was too long and got cut off. Please try again.",
} as const

function describeFailure(
  error: unknown,
  model: ModelChoice,
  timedOut: boolean,
  streamStarted = false,
): string {
  if (timedOut || error instanceof Anthropic.APIConnectionTimeoutError) return MODEL_ERRORS.timeout
  // A stream whose connection drops part-way fails with the fetch layer's own error.
  if (streamStarted && !(error instanceof Anthropic.APIError)) return MODEL_ERRORS.interrupted
  if (error instanceof Anthropic.APIConnectionError) return MODEL_ERRORS.unreachable
  if (error instanceof Anthropic.APIError) {
    const type = (error.error as { error?: { type?: string } } | undefined)?.error?.type
    if (error.status === 529 || type === 'overloaded_error') return MODEL_ERRORS.overloaded
    if (error.status === 429 || type === 'rate_limit_error') return MODEL_ERRORS.rateLimited
    if (error.status === 404 || type === 'not_found_error') {
      // Not retried: the id stays wrong until the operator changes it.
      console.error(
        `Model "${model.id}" answered 404 not_found_error: the id is retired or mistyped (or ANTHROPIC_BASE_URL points elsewhere). ` +
          `Set ${model.setting} to a current model, e.g. \`npx convex env set ${model.setting} claude-haiku-5-5\`.`,
      )
      return MODEL_ERRORS.unavailable
    }
    if (error.status === undefined || error.status >= 500) return MODEL_ERRORS.serverError
    // 4xx other than 429 means our request or key is wrong: the operator needs the detail.
    console.error('Model request refused', model.id, error.status, error.message)
    return MODEL_ERRORS.refused
  }
  console.error('Unexpected model failure', error)
  return MODEL_ERRORS.serverError
}

/** How a finished message stopped, as this backend treats it. */
function stopOutcome(stopReason: string | null): 'complete' | 'refusal' | 'tooLong' | 'interrupted' {
  switch (stopReason) {
    case 'end_turn':
    case 'stop_sequence':
    case 'tool_use':
      return 'complete'
    case 'refusal':
      return 'refusal'
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'tooLong'
    default:
      // pause_turn, or none at all: the answer did not finish.
      return 'interrupted'
  }
}

function logRefusal(model: ModelChoice, details: { category?: string | null } | null | undefined) {
  // The category only: the operator learns how often and why, without the person's words.
  console.warn(`Model "${model.id}" declined a request (stop_reason refusal, category ${details?.category ?? 'none'})`)
}

/**
 * Aborts the call when the deadline passes, and remembers that it did, and whether the model
 * had the request at that moment (then it may bill it though it never said how much).
 */
function startDeadline(watcher: ReturnType<typeof requestWatcher>) {
  const controller = new AbortController()
  let expired = false
  let modelHadRequest = false
  const timer = setTimeout(() => {
    expired = true
    modelHadRequest = watcher.awaitingAnswer()
    controller.abort()
  }, modelDeadlineMs())
  return {
    signal: controller.signal,
    expired: () => expired,
    modelHadRequest: () => modelHadRequest,
    clear: () => clearTimeout(timer),
  }
}

/** Thinking can be turned off on this model at its default effort (only `high` or below). */
function canTurnOffThinking(traits: ModelTraits): boolean {
  if (traits.thinks === 'on-request') return true
  const lowEnough = traits.defaultEffort === null || ['low', 'medium', 'high'].includes(traits.defaultEffort)
  return traits.thinkingOff !== null && lowEnough
}

type ThinkingOff = { type: 'disabled' | 'between_tools' }
type AnswerSettings = { maxTokens: number; thinking?: ThinkingOff; lowEffort: boolean }

/**
 * The room and settings for an answer of `textTokens` (as Haiku 4.5 counts them): thinking off
 * where the model allows it (nothing to send on Haiku 4.5), otherwise room for thinking, at
 * effort `low` when the model takes an effort.
 */
function answerSettings(traits: ModelTraits, textTokens: number): AnswerSettings {
  const answerTokens = traits.newerTokenizer ? Math.ceil(textTokens * NEWER_TOKENIZER_ALLOWANCE) : textTokens
  if (canTurnOffThinking(traits)) {
    const thinking = traits.thinks === 'by-default' && traits.thinkingOff !== null
      ? { type: traits.thinkingOff }
      : undefined
    return { maxTokens: answerTokens, thinking, lowEffort: false }
  }
  return { maxTokens: answerTokens + THINKING_ROOM_TOKENS, lowEffort: traits.defaultEffort !== null }
}

/** The request fields for those settings (and a JSON schema for the answer, when given). */
function settingsFields(settings: AnswerSettings, format?: { type: 'json_schema'; schema: Record<string, unknown> }) {
  const outputConfig = {
    ...(settings.lowEffort && { effort: 'low' as const }),
    ...(format && { format }),
  }
  return {
    max_tokens: settings.maxTokens,
    ...(settings.thinking && { thinking: settings.thinking }),
    ...(Object.keys(outputConfig).length > 0 && { output_config: outputConfig }),
  }
}

/** A conversation that ends with an assistant turn is a prefill: 5.x models refuse it, and no caller means one. */
function endingWithUser(messages: ModelMessage[]): ModelMessage[] {
  let end = messages.length
  while (end > 0 && messages[end - 1].role === 'assistant') end--
  return end === messages.length ? messages : messages.slice(0, end)
}

type TextRequest = {
  system: string
  messages: ModelMessage[]
  maxTokens?: number
  /** Defaults to MODEL_CHAT. */
  model?: ModelChoice
  /** Stream the reply, calling onText with the whole answer text so far as it grows. */
  stream: boolean
  /** Only ever sees the answer's text: thinking and signatures are skipped. */
  onText?: (textSoFar: string) => void
}

/** One chat reply. Never throws: a failure comes back with what had streamed before it. */
export async function generateReply(request: TextRequest): Promise<ModelOutcome<string>> {
  const model = request.model ?? chatModel()
  const traits = modelTraits(model.id)
  const watcher = requestWatcher()
  const client = createClient(watcher)
  const deadline = startDeadline(watcher)
  let text = ''
  // Thinking text as streamed (never shown), for the estimate of a stream cut off.
  let thinkingText = ''
  let streamStarted = false
  let outputReported = false
  let stopReason: string | null = null
  let stopDetails: { category?: string | null } | null = null
  const usage: ModelUsage = { model: model.id, inputTokens: 0, outputTokens: 0 }
  const body = {
    model: model.id,
    ...settingsFields(answerSettings(traits, request.maxTokens ?? MAX_REPLY_TOKENS)),
    system: request.system,
    messages: endingWithUser(request.messages),
  }
  /**
   * The usage of a call that ended without the model's final count. A stream that was
   * accepted (or a request the deadline caught with the model) counts its input, estimated
   * from the request when message_start never came; a stream cut off before message_delta
   * counts what did stream (text and thinking), estimated, when that is more than
   * message_start's count.
   */
  const countUnreported = (): ModelUsage => {
    if (usage.inputTokens === 0 && (streamStarted || deadline.modelHadRequest())) {
      usage.inputTokens = estimateTokens(JSON.stringify(request.stream ? { ...body, stream: true } : body), traits)
    }
    if (streamStarted && !outputReported) {
      usage.outputTokens = Math.max(usage.outputTokens, estimateTokens(thinkingText + text, traits))
    }
    return usage
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
          outputReported = true
          stopReason = event.delta.stop_reason
          stopDetails = event.delta.stop_details
        } else if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') {
          // thinking_delta and signature_delta belong to thinking blocks: never shown.
          text += event.delta.text
          request.onText?.(text)
        } else if (event.type === 'content_block_delta' && event.delta.type === 'thinking_delta') {
          thinkingText += event.delta.thinking
        } else if (event.type === 'message_stop') {
          stopped = true
        }
      }
      // The SDK ends the loop quietly on an abort or a closed connection: a reply is only
      // complete once message_stop has arrived.
      if (!stopped) {
        const message = deadline.expired() ? MODEL_ERRORS.timeout : MODEL_ERRORS.interrupted
        return { ok: false, error: new ConvexError(message), partialText: text, usage: countUnreported() }
      }
    } else {
      const reply = await client.messages.create(body, { signal: deadline.signal })
      usage.inputTokens = reply.usage.input_tokens
      usage.outputTokens = reply.usage.output_tokens
      stopReason = reply.stop_reason
      stopDetails = reply.stop_details
      // Blocks are chosen by type: a thinking model's answer starts with thinking blocks.
      text = reply.content.map((block) => (block.type === 'text' ? block.text : '')).join('')
    }
  } catch (error) {
    const message = describeFailure(error, model, deadline.expired(), streamStarted)
    return { ok: false, error: new ConvexError(message), partialText: text, usage: countUnreported() }
  } finally {
    deadline.clear()
  }
  const stop = stopOutcome(stopReason)
  if (stop === 'refusal') {
    logRefusal(model, stopDetails)
    // What streamed before the classifiers stopped it is not kept, not even as a fragment.
    return { ok: false, error: new ConvexError(MODEL_ERRORS.refusal), partialText: '', usage, refused: true }
  }
  if (stop !== 'complete') {
    const message = stop === 'tooLong' ? MODEL_ERRORS.tooLong : MODEL_ERRORS.interrupted
    return { ok: false, error: new ConvexError(message), partialText: text, usage }
  }
  // Nothing a person could see (only spaces or zero-width characters) is an empty reply too.
  if (!hasVisibleText(text)) {
    return { ok: false, error: new ConvexError(MODEL_ERRORS.emptyReply), partialText: '', usage }
  }
  return { ok: true, value: text, usage }
}

export type ToolDefinition = {
  name: string
  description: string
  input_schema: { type: 'object'; properties: Record<string, unknown>; required?: string[] }
}

/** Structured outputs want every object closed (`additionalProperties: false`). */
function closedSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closedSchema)
  if (typeof schema !== 'object' || schema === null) return schema
  const copy: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(schema)) {
    copy[key] = key === 'properties' && value && typeof value === 'object'
      ? Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, closedSchema(sub)]))
      : key === 'items' ? closedSchema(value) : value
  }
  if (copy.type === 'object') copy.additionalProperties = false
  return copy
}

/**
 * How an extraction gets a structured answer from this model: a forced tool where the model
 * takes one (with thinking off on Haiku 5.5), otherwise structured outputs (a JSON schema),
 * which every current model accepts with or without thinking.
 */
export function extractionMechanism(traits: ModelTraits): 'forcedTool' | 'jsonSchema' {
  if (traits.forcedTool === 'always') return 'forcedTool'
  if (traits.forcedTool === 'thinking-off' && canTurnOffThinking(traits)) return 'forcedTool'
  return 'jsonSchema'
}

/**
 * One call whose answer is the input of `tool`. Returns that input raw (unknown: the caller
 * validates it), undefined when the answer held none, or the answer's text when it was not JSON.
 */
export async function callTool(request: {
  system: string
  messages: ModelMessage[]
  tool: ToolDefinition
  maxTokens: number
  /** Defaults to MODEL_EXTRACTION. */
  model?: ModelChoice
}): Promise<ModelOutcome<unknown>> {
  const model = request.model ?? extractionModel()
  const traits = modelTraits(model.id)
  const mechanism = extractionMechanism(traits)
  const watcher = requestWatcher()
  const client = createClient(watcher)
  const deadline = startDeadline(watcher)
  const usage: ModelUsage = { model: model.id, inputTokens: 0, outputTokens: 0 }
  const messages = endingWithUser(request.messages)
  const body =
    mechanism === 'forcedTool'
      ? {
          model: model.id,
          ...settingsFields(answerSettings(traits, request.maxTokens)),
          system: request.system,
          messages,
          tools: [request.tool],
          tool_choice: { type: 'tool' as const, name: request.tool.name },
        }
      : {
          model: model.id,
          ...settingsFields(answerSettings(traits, request.maxTokens), {
            type: 'json_schema',
            schema: closedSchema(request.tool.input_schema) as Record<string, unknown>,
          }),
          // The prompt asks for a call to the tool; here the JSON answer stands for that call.
          system: `${request.system}\n\nAnswer with one JSON object that matches the required schema: it is recorded as the input of ${request.tool.name}.`,
          messages,
        }
  let reply: Anthropic.Message
  try {
    reply = await client.messages.create(body, { signal: deadline.signal })
  } catch (error) {
    const message = describeFailure(error, model, deadline.expired())
    // Caught by the deadline while the model had it: the provider may bill the input, which
    // is estimated from the request (the output, never seen, is not).
    if (deadline.modelHadRequest()) usage.inputTokens = estimateTokens(JSON.stringify(body), traits)
    return { ok: false, error: new ConvexError(message), partialText: '', usage }
  } finally {
    deadline.clear()
  }
  usage.inputTokens = reply.usage.input_tokens
  usage.outputTokens = reply.usage.output_tokens
  const stop = stopOutcome(reply.stop_reason)
  if (stop === 'refusal') {
    logRefusal(model, reply.stop_details)
    return { ok: false, error: new ConvexError(MODEL_ERRORS.extractionRefusal), partialText: '', usage, refused: true }
  }
  if (stop !== 'complete') {
    const message = stop === 'tooLong' ? MODEL_ERRORS.tooLong : MODEL_ERRORS.interrupted
    return { ok: false, error: new ConvexError(message), partialText: '', usage }
  }
  if (mechanism === 'forcedTool') {
    const call = reply.content.find(
      (block) => block.type === 'tool_use' && block.name === request.tool.name,
    )
    return { ok: true, value: call?.type === 'tool_use' ? call.input : undefined, usage }
  }
  const text = reply.content.map((block) => (block.type === 'text' ? block.text : '')).join('')
  if (!hasVisibleText(text)) return { ok: true, value: undefined, usage }
  try {
    return { ok: true, value: JSON.parse(text) as unknown, usage }
  } catch {
    return { ok: true, value: text, usage }
  }
}
