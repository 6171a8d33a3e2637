// An Anthropic-compatible HTTP server on 127.0.0.1 that the real SDK talks to. Each request is
// recorded; each answer is taken from a script: text (streamed or not), a tool call, arbitrary
// content blocks, an error status, a hang, or a stream that breaks part-way.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

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
  }
}

export type ScriptedReply =
  /** Text; streamed as `chunks` (default: word by word) when the request asks for a stream. */
  | { kind: 'text'; text: string; chunks?: string[]; firstTokenDelayMs?: number; chunkIntervalMs?: number }
  | { kind: 'tool'; name: string; input: unknown }
  /** Content blocks as given, non-streamed (e.g. [] or a tool_use where text was expected). */
  | { kind: 'content'; content: unknown[] }
  | { kind: 'status'; status: number; errorType?: string }
  | { kind: 'hang' }
  /**
   * Streams `textBefore`, then: destroys the socket, sends an SSE error event, ends the
   * response cleanly without message_stop, or hangs.
   */
  | { kind: 'brokenStream'; textBefore: string; ending: 'socket' | 'errorEvent' | 'cleanClose' | 'hang' }

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  429: 'rate_limit_error',
  500: 'api_error',
  529: 'overloaded_error',
}

export type ModelServer = {
  url: string
  requests: RecordedRequest[]
  /** Queue answers, used in order, one per request (the SDK's retries take one each). */
  reply: (...replies: ScriptedReply[]) => void
  /** Drop the queue and the recorded requests. */
  reset: () => void
  pending: () => number
  close: () => Promise<void>
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

function sse(res: ServerResponse, event: string, data: unknown) {
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
}

function usageFor(body: RecordedRequest['body']) {
  return { input_tokens: Math.ceil(JSON.stringify(body).length / 4), output_tokens: 1 }
}

function message(body: RecordedRequest['body'], content: unknown[], outputTokens: number) {
  return {
    id: 'msg_test',
    type: 'message',
    role: 'assistant',
    model: body.model,
    content,
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: { ...usageFor(body), output_tokens: outputTokens },
  }
}

async function streamText(
  res: ServerResponse,
  recorded: RecordedRequest,
  chunks: string[],
  timing: { firstTokenDelayMs?: number; chunkIntervalMs?: number },
) {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
  sse(res, 'message_start', { type: 'message_start', message: message(recorded.body, [], 1) })
  sse(res, 'content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } })
  if (timing.firstTokenDelayMs) await sleep(timing.firstTokenDelayMs)
  for (const [index, chunk] of chunks.entries()) {
    if (index > 0 && timing.chunkIntervalMs) await sleep(timing.chunkIntervalMs)
    recorded.firstTextAt ??= performance.now()
    sse(res, 'content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: chunk } })
  }
}

function endStream(res: ServerResponse, outputTokens: number) {
  sse(res, 'content_block_stop', { type: 'content_block_stop', index: 0 })
  sse(res, 'message_delta', {
    type: 'message_delta',
    delta: { stop_reason: 'end_turn', stop_sequence: null },
    usage: { output_tokens: outputTokens },
  })
  sse(res, 'message_stop', { type: 'message_stop' })
  res.end()
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

export function wordChunks(text: string): string[] {
  return text.match(/\S+\s*|\s+/g) ?? []
}

export async function startModelServer(): Promise<ModelServer> {
  const requests: RecordedRequest[] = []
  let queue: ScriptedReply[] = []
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
      res.writeHead(400, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ type: 'error', error: { type: 'invalid_request_error', message: 'no low surrogate in string' } }))
      return
    }
    const scripted = queue.shift() ?? { kind: 'status', status: 400, errorType: 'unscripted_request' }
    switch (scripted.kind) {
      case 'text': {
        const chunks = scripted.chunks ?? wordChunks(scripted.text)
        if (body.stream) {
          await streamText(res, recorded, chunks, scripted)
          endStream(res, chunks.length)
        } else {
          if (scripted.firstTokenDelayMs) await sleep(scripted.firstTokenDelayMs)
          if (scripted.chunkIntervalMs) await sleep(scripted.chunkIntervalMs * Math.max(0, chunks.length - 1))
          recorded.firstTextAt = performance.now()
          res.writeHead(200, { 'content-type': 'application/json' })
          res.end(JSON.stringify(message(body, [{ type: 'text', text: scripted.text }], chunks.length)))
        }
        return
      }
      case 'tool': {
        const content = [{ type: 'tool_use', id: 'toolu_test', name: scripted.name, input: scripted.input }]
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ ...message(body, content, 20), stop_reason: 'tool_use' }))
        return
      }
      case 'content': {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify(message(body, scripted.content, 1)))
        return
      }
      case 'status': {
        // retry-after-ms keeps the SDK's own retries fast in tests.
        res.writeHead(scripted.status, { 'content-type': 'application/json', 'retry-after-ms': '5' })
        res.end(JSON.stringify({
          type: 'error',
          error: { type: scripted.errorType ?? ERROR_TYPES[scripted.status] ?? 'api_error', message: `scripted ${scripted.status}` },
        }))
        return
      }
      case 'hang':
        return // never answers; close() destroys the socket
      case 'brokenStream': {
        await streamText(res, recorded, wordChunks(scripted.textBefore), {})
        if (scripted.ending === 'socket') {
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
    reset: () => {
      queue = []
      requests.length = 0
    },
    pending: () => queue.length,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
