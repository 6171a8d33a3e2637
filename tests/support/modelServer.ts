// An Anthropic-compatible HTTP server on 127.0.0.1 that the real SDK talks to. Each request is
// recorded; each answer is taken from a script: text (streamed or not), a tool call, arbitrary
// content blocks, an error status, a hang, a refusal, or a stream that breaks part-way.
//
// It also behaves like the models it serves, as Anthropic documents them (each model's "What's
// new" page and migration guide, "Troubleshooting thinking", "Streaming refusals"): an unknown
// or retired id answers 404 not_found_error; the 5.x models answer 400 to sampling parameters,
// a trailing assistant turn and `thinking.type: 'enabled'`; forced tool use is a 400 while
// thinking is on (and always on Sonnet and Opus 5.5); thinking can be turned off only with the
// model's own value and only at effort `high` or below. A request that thinks gets a thinking
// block with a signature before its text (streamed as thinking_delta / signature_delta), and
// its thinking tokens count toward max_tokens, so a small max_tokens really is cut off.
//
// Simulated, not measured: how many tokens a model thinks at each effort
// (SIMULATED_THINKING_TOKENS) and the newer tokenizer's count, taken as 1.3 x Haiku 4.5's (the
// documented "about 30% more"). One word chunk of a scripted text counts as one Haiku 4.5 token.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

export type Effort = 'low' | 'medium' | 'high' | 'xhigh' | 'max'
const EFFORTS: readonly Effort[] = ['low', 'medium', 'high', 'xhigh', 'max']

export type RecordedRequest = {
  path: string
  /** performance.now() when the request arrived and when its first text was sent. */
  receivedAt: number
  firstTextAt?: number
  headers: IncomingMessage['headers']
  body: {
    model: string
    max_tokens: number
    system?: string
    messages: { role: 'user' | 'assistant'; content: string }[]
    stream?: boolean
    tools?: { name: string; input_schema: unknown }[]
    tool_choice?: { type: string; name?: string }
    thinking?: { type: string; budget_tokens?: number; display?: string }
    output_config?: { effort?: string; format?: { type: string; schema?: unknown } }
    temperature?: number
    top_p?: number
    top_k?: number
  }
}

/** How a served model treats a request. */
export type ServedModel = {
  /** 'on-request': thinks only with `thinking.type: 'enabled'` (Haiku 4.5). */
  thinking: 'on-request' | 'by-default' | 'always'
  /** The one `thinking.type` that turns thinking off; any other off value is a 400. */
  thinkingOff?: 'disabled' | 'between_tools'
  /** Absent: `output_config.effort` is a 400. */
  defaultEffort?: Effort
  /** Whether `tool_choice` may force a tool: always (thinking off), only with thinking off, never. */
  forcedTool: 'always' | 'thinking-off' | 'never'
  /** 400 on sampling parameters, a trailing assistant turn, and `thinking.type: 'enabled'`. */
  strict: boolean
  /** Tokens counted per Haiku 4.5 token for the same text (simulated). */
  tokenizerFactor: number
}

const HAIKU_4_5: ServedModel = { thinking: 'on-request', forcedTool: 'always', strict: false, tokenizerFactor: 1 }
const NEWER_TOKENIZER = 1.3

/** What this server answers to; anything else (e.g. the retired `claude-sonnet-4-5`) is a 404. */
export const SERVED_MODELS: Readonly<Record<string, ServedModel>> = {
  'claude-haiku-4-5-20251001': HAIKU_4_5,
  'claude-haiku-4-5': HAIKU_4_5,
  'claude-haiku-5-5': {
    thinking: 'by-default', thinkingOff: 'disabled', defaultEffort: 'medium',
    forcedTool: 'thinking-off', strict: true, tokenizerFactor: NEWER_TOKENIZER,
  },
  'claude-sonnet-5-5': {
    thinking: 'by-default', thinkingOff: 'between_tools', defaultEffort: 'high',
    forcedTool: 'never', strict: true, tokenizerFactor: NEWER_TOKENIZER,
  },
  'claude-opus-5-5': {
    thinking: 'always', defaultEffort: 'medium', forcedTool: 'never', strict: true,
    tokenizerFactor: NEWER_TOKENIZER,
  },
}

/** Simulated thinking per request at each effort: an assumption for tests and the benchmark. */
export const SIMULATED_THINKING_TOKENS: Readonly<Record<Effort, number>> = {
  low: 150,
  medium: 600,
  high: 1_500,
  xhigh: 3_000,
  max: 6_000,
}

type Timing = { firstTokenDelayMs?: number; chunkIntervalMs?: number }
/** Fields a scripted answer may carry for a request that thinks. */
type ThinkingScript = {
  /** Thinking text returned in the thinking block (as with `display: 'summarized'`). */
  thinking?: string
  /** Thinking tokens spent (default: SIMULATED_THINKING_TOKENS at the request's effort). */
  thinkingTokens?: number
}

export type ScriptedReply =
  /** Text; streamed as `chunks` (default: word by word) when the request asks for a stream. */
  | ({ kind: 'text'; text: string; chunks?: string[] } & Timing & ThinkingScript)
  /**
   * Profile updates or any tool input: a tool_use block when the request forces the tool (or
   * sets no output format), the input as JSON text when it asks for structured outputs.
   */
  | ({ kind: 'tool'; name: string; input: unknown } & ThinkingScript)
  /** Content blocks as given, non-streamed (e.g. [] or a tool_use where text was expected). */
  | { kind: 'content'; content: unknown[] }
  | { kind: 'status'; status: number; errorType?: string }
  | { kind: 'hang' }
  /** Safety classifiers decline: `stop_reason: 'refusal'`, after `textBefore` (default none). */
  | ({ kind: 'refusal'; textBefore?: string; category?: string } & Timing & ThinkingScript)
  /**
   * Streams `textBefore`, then: destroys the socket, sends an SSE error event, ends the
   * response cleanly without message_stop, or hangs.
   */
  | { kind: 'brokenStream'; textBefore: string; ending: 'socket' | 'errorEvent' | 'cleanClose' | 'hang' }
  /** Answers with `then` once `until` settles: a model still working while the test acts. */
  | { kind: 'held'; until: Promise<unknown>; then: ScriptedReply }

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  404: 'not_found_error',
  429: 'rate_limit_error',
  500: 'api_error',
  529: 'overloaded_error',
}

export type ModelServer = {
  url: string
  requests: RecordedRequest[]
  /** Queue answers, used in order, one per request (the SDK's retries take one each). */
  reply: (...replies: ScriptedReply[]) => void
  /** Serve one more model id until the next reset (e.g. one the backend's table does not know). */
  serveModel: (id: string, model: ServedModel) => void
  /** Drop the queue, the recorded requests and any extra models. */
  reset: () => void
  pending: () => number
  /** Answers every request the queue has no reply for (the load run's many users); null: none. */
  answerWith: (script: ((body: RecordedRequest['body']) => ScriptedReply) | null) => void
  close: () => Promise<void>
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

function sse(res: ServerResponse, event: string, data: unknown) {
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
}

export function wordChunks(text: string): string[] {
  return text.match(/\S+\s*|\s+/g) ?? []
}

type ApiError = { status: number; type: string; message: string }
const invalid = (message: string): ApiError => ({ status: 400, type: 'invalid_request_error', message })

function isOff(type: string | undefined) {
  return type === 'disabled' || type === 'between_tools'
}

/** Whether this request makes the model think. */
function thinksOn(body: RecordedRequest['body'], model: ServedModel): boolean {
  const type = body.thinking?.type
  if (model.thinking === 'always') return true
  if (model.thinking === 'on-request') return type === 'enabled'
  return type !== model.thinkingOff
}

/** Structured outputs take object schemas whose objects are all closed. */
function closedObjects(schema: unknown): boolean {
  if (typeof schema !== 'object' || schema === null) return true
  const node = schema as Record<string, unknown>
  if (node.type === 'object' && node.additionalProperties !== false) return false
  const children = [
    ...Object.values((node.properties as Record<string, unknown> | undefined) ?? {}),
    ...(node.items === undefined ? [] : [node.items]),
  ]
  return children.every(closedObjects)
}

/** The 4xx a real model answers this request with, checked before any script is used. */
function requestError(body: RecordedRequest['body'], model: ServedModel | undefined): ApiError | undefined {
  if (!model) return { status: 404, type: 'not_found_error', message: `model: ${body.model}` }
  if (model.strict) {
    for (const parameter of ['temperature', 'top_p', 'top_k'] as const) {
      if (body[parameter] !== undefined) {
        return invalid(`${parameter} is not supported for this model. Omit sampling parameters.`)
      }
    }
    if (body.messages.at(-1)?.role === 'assistant') {
      return invalid('This model does not support assistant message prefill. The conversation must end with a user message.')
    }
  }
  const type = body.thinking?.type
  const effort = body.output_config?.effort
  if (effort !== undefined) {
    if (!model.defaultEffort) return invalid('output_config.effort is not supported for this model.')
    if (!EFFORTS.includes(effort as Effort)) return invalid(`output_config.effort: unknown value "${effort}".`)
  }
  if (type === 'enabled') {
    if (model.strict) {
      return invalid('"thinking.type.enabled" is not supported for this model. Use "thinking.type.adaptive" and "output_config.effort" to control thinking behavior.')
    }
    const budget = body.thinking?.budget_tokens ?? 0
    if (budget < 1024 || budget >= body.max_tokens) {
      return invalid('thinking.budget_tokens must be at least 1024 and less than max_tokens.')
    }
  } else if (type === 'adaptive' && model.thinking === 'on-request') {
    return invalid('"thinking.type.adaptive" is not supported for this model.')
  } else if (isOff(type) && !(model.thinking === 'on-request' && type === 'disabled')) {
    if (model.thinkingOff !== type) {
      const hint = model.thinkingOff ? ` Use "thinking.type.${model.thinkingOff}" to turn thinking off.` : ' Use "thinking.type.adaptive" and "output_config.effort" to control thinking behavior.'
      return invalid(`"thinking.type.${type}" is not supported for this model.${hint}`)
    }
    const effective = effort ?? model.defaultEffort
    if (effective === 'xhigh' || effective === 'max') {
      return invalid(`Thinking cannot be turned off at effort ${effective}. Use effort high or below, or adaptive thinking.`)
    }
  } else if (type !== undefined && type !== 'adaptive' && !isOff(type)) {
    return invalid(`thinking.type: unknown value "${type}".`)
  }
  const forced = body.tool_choice?.type === 'tool' || body.tool_choice?.type === 'any'
  if (forced) {
    if (model.forcedTool === 'never') {
      return invalid('tool_choice that forces tool use is not supported for this model. Use tool_choice "auto" or structured outputs.')
    }
    if (thinksOn(body, model)) return invalid('Thinking may not be enabled when tool_choice forces tool use.')
  }
  const format = body.output_config?.format
  if (format !== undefined) {
    if (format.type !== 'json_schema' || typeof format.schema !== 'object' || format.schema === null) {
      return invalid('output_config.format must be { type: "json_schema", schema }.')
    }
    if (!closedObjects(format.schema)) {
      return invalid('output_config.format.schema: every object must set additionalProperties to false.')
    }
  }
  return undefined
}

/** What one answer contains once max_tokens is applied: thinking first, then what text fits. */
type Plan = {
  thinking?: { text: string; tokens: number; cut: boolean }
  chunks: string[]
  stopReason: string
  outputTokens: number
}

function planAnswer(
  body: RecordedRequest['body'],
  model: ServedModel,
  chunks: string[],
  script: ThinkingScript,
  stopReason: string,
): Plan {
  let budget = body.max_tokens
  let thinking: Plan['thinking']
  if (thinksOn(body, model)) {
    const effort = (body.output_config?.effort as Effort | undefined) ?? model.defaultEffort ?? 'medium'
    const wanted = script.thinkingTokens ??
      (model.thinking === 'on-request'
        ? Math.min(body.thinking?.budget_tokens ?? 0, SIMULATED_THINKING_TOKENS.medium)
        : SIMULATED_THINKING_TOKENS[effort])
    const tokens = Math.min(wanted, budget)
    thinking = { text: script.thinking ?? '', tokens, cut: tokens < wanted }
    budget -= tokens
  }
  let fitting = 0
  while (fitting < chunks.length && Math.ceil((fitting + 1) * model.tokenizerFactor) <= budget) fitting++
  const cut = (thinking?.cut ?? false) || fitting < chunks.length
  return {
    thinking,
    chunks: chunks.slice(0, fitting),
    stopReason: cut ? 'max_tokens' : stopReason,
    outputTokens: (thinking?.tokens ?? 0) + Math.ceil(fitting * model.tokenizerFactor),
  }
}

function inputTokens(body: RecordedRequest['body'], model: ServedModel | undefined) {
  return Math.ceil((JSON.stringify(body).length / 4) * (model?.tokenizerFactor ?? 1))
}

function signatureFor(body: RecordedRequest['body']) {
  return `sig_${Buffer.from(`${body.model}:${body.messages.length}`).toString('base64')}`
}

function message(
  body: RecordedRequest['body'],
  model: ServedModel | undefined,
  content: unknown[],
  outputTokens: number,
  extra: { stopReason?: string; stopDetails?: unknown; thinkingTokens?: number } = {},
) {
  return {
    id: 'msg_test',
    type: 'message',
    role: 'assistant',
    model: body.model,
    content,
    stop_reason: extra.stopReason ?? 'end_turn',
    stop_details: extra.stopDetails ?? null,
    stop_sequence: null,
    usage: {
      input_tokens: inputTokens(body, model),
      output_tokens: outputTokens,
      ...(extra.thinkingTokens && { output_tokens_details: { thinking_tokens: extra.thinkingTokens } }),
    },
  }
}

/** The content blocks of a non-streamed answer: thinking (with its signature) before text. */
function blocksOf(body: RecordedRequest['body'], plan: Plan): unknown[] {
  const blocks: unknown[] = []
  if (plan.thinking) {
    blocks.push({ type: 'thinking', thinking: plan.thinking.text, signature: plan.thinking.cut ? '' : signatureFor(body) })
  }
  if (plan.chunks.length > 0) blocks.push({ type: 'text', text: plan.chunks.join('') })
  return blocks
}

function refusalDetails(category: string | undefined) {
  return {
    type: 'refusal',
    category: category ?? null,
    explanation: category ? 'This request was declined by a safety classifier (simulated).' : null,
  }
}

function startStream(res: ServerResponse, recorded: RecordedRequest, model: ServedModel | undefined) {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
  sse(res, 'message_start', { type: 'message_start', message: message(recorded.body, model, [], 1) })
}

/** A thinking block: its text as thinking_delta events, then its signature_delta. */
async function streamThinking(res: ServerResponse, recorded: RecordedRequest, plan: Plan, timing: Timing) {
  if (!plan.thinking) return 0
  sse(res, 'content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } })
  if (timing.firstTokenDelayMs) await sleep(timing.firstTokenDelayMs)
  for (const chunk of wordChunks(plan.thinking.text)) {
    sse(res, 'content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: chunk } })
  }
  // Thinking takes as long as writing the same number of tokens of text would.
  if (timing.chunkIntervalMs) await sleep(plan.thinking.tokens * timing.chunkIntervalMs)
  if (!plan.thinking.cut) {
    sse(res, 'content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: signatureFor(recorded.body) } })
  }
  sse(res, 'content_block_stop', { type: 'content_block_stop', index: 0 })
  return 1
}

/** Opens a text block at `index` and streams `chunks` into it (leaves it open). */
async function streamText(res: ServerResponse, recorded: RecordedRequest, index: number, chunks: string[], timing: Timing) {
  sse(res, 'content_block_start', { type: 'content_block_start', index, content_block: { type: 'text', text: '' } })
  if (timing.firstTokenDelayMs) await sleep(timing.firstTokenDelayMs)
  for (const [position, chunk] of chunks.entries()) {
    if (position > 0 && timing.chunkIntervalMs) await sleep(timing.chunkIntervalMs)
    recorded.firstTextAt ??= performance.now()
    sse(res, 'content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text: chunk } })
  }
}

/** A whole streamed answer: thinking, the text that fits, then the stop reason and usage. */
async function streamAnswer(
  res: ServerResponse,
  recorded: RecordedRequest,
  model: ServedModel,
  plan: Plan,
  timing: Timing,
  stopDetails: unknown = null,
) {
  startStream(res, recorded, model)
  const index = await streamThinking(res, recorded, plan, timing)
  if (plan.chunks.length > 0) {
    // After thinking, the first-token delay has already passed.
    await streamText(res, recorded, index, plan.chunks, plan.thinking ? { chunkIntervalMs: timing.chunkIntervalMs } : timing)
    sse(res, 'content_block_stop', { type: 'content_block_stop', index })
  }
  sse(res, 'message_delta', {
    type: 'message_delta',
    delta: { stop_reason: plan.stopReason, stop_details: stopDetails, stop_sequence: null },
    usage: { output_tokens: plan.outputTokens },
  })
  sse(res, 'message_stop', { type: 'message_stop' })
  res.end()
}

function sendJson(res: ServerResponse, status: number, payload: unknown) {
  // retry-after-ms keeps the SDK's own retries fast in tests.
  res.writeHead(status, { 'content-type': 'application/json', 'retry-after-ms': '5' })
  res.end(JSON.stringify(payload))
}

function sendError(res: ServerResponse, error: ApiError) {
  sendJson(res, error.status, { type: 'error', error: { type: error.type, message: error.message } })
}

/** True when every string in a parsed JSON value is well-formed UTF-16 (no lone surrogate). */
export function isWellFormedJson(value: unknown): boolean {
  if (typeof value === 'string') return value.isWellFormed()
  if (Array.isArray(value)) return value.every(isWellFormedJson)
  if (value && typeof value === 'object') {
    return Object.entries(value).every(([key, item]) => key.isWellFormed() && isWellFormedJson(item))
  }
  return true
}

export async function startModelServer(): Promise<ModelServer> {
  const requests: RecordedRequest[] = []
  let queue: ScriptedReply[] = []
  let fallback: ((body: RecordedRequest['body']) => ScriptedReply) | null = null
  let served = new Map(Object.entries(SERVED_MODELS))
  const sockets = new Set<Socket>()

  const server = createServer((req, res) => {
    let raw = ''
    // Decodes across chunks: a character split between two chunks arrives whole.
    req.setEncoding('utf8')
    req.on('data', (chunk) => (raw += chunk))
    req.on('end', () => {
      void answer(req, res, raw)
    })
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })

  async function answer(req: IncomingMessage, res: ServerResponse, raw: string) {
    const body = JSON.parse(raw || '{}') as RecordedRequest['body']
    const recorded: RecordedRequest = { path: req.url ?? '', receivedAt: performance.now(), headers: req.headers, body }
    requests.push(recorded)
    // Like the real API, a body holding half a character (a lone surrogate) is refused.
    if (!isWellFormedJson(body)) {
      sendError(res, { status: 400, type: 'invalid_request_error', message: 'no low surrogate in string' })
      return
    }
    const model = served.get(body.model)
    // A request the model would refuse never reaches the script.
    const refused = requestError(body, model)
    if (refused || !model) {
      sendError(res, refused ?? { status: 404, type: 'not_found_error', message: `model: ${body.model}` })
      return
    }
    let scripted = queue.shift() ?? fallback?.(body) ?? { kind: 'status', status: 400, errorType: 'unscripted_request' }
    while (scripted.kind === 'held') {
      await scripted.until.catch(() => undefined)
      scripted = scripted.then
    }
    switch (scripted.kind) {
      case 'text': {
        const plan = planAnswer(body, model, scripted.chunks ?? wordChunks(scripted.text), scripted, 'end_turn')
        if (body.stream) {
          await streamAnswer(res, recorded, model, plan, scripted)
        } else {
          if (scripted.firstTokenDelayMs) await sleep(scripted.firstTokenDelayMs)
          const tokens = (plan.thinking?.tokens ?? 0) + Math.max(0, plan.chunks.length - 1)
          if (scripted.chunkIntervalMs) await sleep(scripted.chunkIntervalMs * tokens)
          recorded.firstTextAt = performance.now()
          sendJson(res, 200, message(body, model, blocksOf(body, plan), plan.outputTokens, {
            stopReason: plan.stopReason,
            thinkingTokens: plan.thinking?.tokens,
          }))
        }
        return
      }
      case 'refusal': {
        const plan = planAnswer(body, model, wordChunks(scripted.textBefore ?? ''), scripted, 'refusal')
        const details = plan.stopReason === 'refusal' ? refusalDetails(scripted.category) : null
        if (body.stream) {
          await streamAnswer(res, recorded, model, plan, scripted, details)
        } else {
          sendJson(res, 200, message(body, model, blocksOf(body, plan), plan.outputTokens, {
            stopReason: plan.stopReason,
            stopDetails: details,
            thinkingTokens: plan.thinking?.tokens,
          }))
        }
        return
      }
      case 'tool': {
        const forced = body.tool_choice?.type === 'tool' || body.tool_choice?.type === 'any'
        if (body.output_config?.format && !forced) {
          const plan = planAnswer(body, model, wordChunks(JSON.stringify(scripted.input)), scripted, 'end_turn')
          sendJson(res, 200, message(body, model, blocksOf(body, plan), plan.outputTokens, {
            stopReason: plan.stopReason,
            thinkingTokens: plan.thinking?.tokens,
          }))
          return
        }
        const content = [{ type: 'tool_use', id: 'toolu_test', name: scripted.name, input: scripted.input }]
        sendJson(res, 200, message(body, model, content, Math.ceil(20 * model.tokenizerFactor), { stopReason: 'tool_use' }))
        return
      }
      case 'content': {
        sendJson(res, 200, message(body, model, scripted.content, 1))
        return
      }
      case 'status': {
        sendError(res, {
          status: scripted.status,
          type: scripted.errorType ?? ERROR_TYPES[scripted.status] ?? 'api_error',
          message: `scripted ${scripted.status}`,
        })
        return
      }
      case 'hang':
        return // never answers; close() destroys the socket
      case 'brokenStream': {
        const plan = planAnswer(body, model, wordChunks(scripted.textBefore), {}, 'end_turn')
        startStream(res, recorded, model)
        const index = await streamThinking(res, recorded, plan, {})
        await streamText(res, recorded, index, plan.chunks, {})
        if (scripted.ending === 'socket') {
          // Let what was written reach the client first (an SSE comment, ignored by the parser).
          await new Promise<void>((resolve) => res.write(':\n\n', () => resolve()))
          res.socket?.destroy()
        } else if (scripted.ending === 'errorEvent') {
          sse(res, 'error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } })
          res.end()
        } else if (scripted.ending === 'cleanClose') {
          res.end()
        } // 'hang': leave it open; close() destroys the socket
        return
      }
    }
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    reply: (...replies) => queue.push(...replies),
    serveModel: (id, model) => served.set(id, model),
    reset: () => {
      queue = []
      requests.length = 0
      served = new Map(Object.entries(SERVED_MODELS))
      fallback = null
    },
    pending: () => queue.length,
    answerWith: (script) => {
      fallback = script
    },
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
