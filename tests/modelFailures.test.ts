// What a person sees when the model call fails in ways the other suites do not drive: an
// extraction whose call fails (after the SDK's retries, or past the deadline), a request the
// API refuses (400, 401), an error whose status and type disagree or are missing, and an error
// body that is not Anthropic's JSON (a proxy's HTML 502). Every wording is the literal text.
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest'
import { api } from '../convex/_generated/api'
import type { Id } from '../convex/_generated/dataModel'
import { generateReply } from '../convex/ai/claude'
import type { ScriptedReply } from './support/modelServer'
import {
  convexErrorOf,
  makeUser,
  openChat,
  setupBackend,
  useModelServer,
  type Backend,
  type Chat,
} from './support/backend'
import { captureConsole } from './support/consoleLog'

const server = useModelServer()

const extract = api.enrichment.extraction.extractFromConversation

const SAID = {
  rateLimited: 'The assistant is getting too many requests right now. Please wait a minute and try again.',
  overloaded: 'The assistant is overloaded right now. Please try again in a few minutes.',
  serverError: 'The assistant ran into a problem on its side. Please try again.',
  timeout: 'The assistant took too long to answer. Please try again.',
  refused: 'The assistant refused the request. Please try again later.',
  unavailable: 'The assistant is unavailable right now. Please try again later.',
  extractionRefusal:
    "The assistant can't help with this conversation, so your profile was not changed. You can edit your profile yourself instead.",
  tooLong: "The assistant's answer was too long and got cut off. Please try again.",
}

const CHAT = [
  { role: 'user' as const, content: 'I built a sparse autoencoder in PyTorch.' },
  { role: 'assistant' as const, content: 'Nice! What did you find?' },
  { role: 'user' as const, content: 'Features for French text.' },
]

const status = (code: number, errorType?: string): ScriptedReply => ({ kind: 'status', status: code, errorType })
// What the operator's log says: a refused request names the model and the status; a 404 says what to change.
const refusedLog = (code: number) => `Model request refused claude-haiku-4-5-20251001 ${code} ${code} `
const notFoundLog = 'Model "claude-haiku-4-5-20251001" answered 404 not_found_error: the id is retired or mistyped'
const thrice = (reply: ScriptedReply) => [reply, reply, reply]

async function usageRows(t: Backend) {
  return await t.run(async (ctx) => ctx.db.query('modelUsage').collect())
}

async function profileOf(t: Backend, profileId: Id<'profiles'>) {
  return await t.run(async (ctx) => ctx.db.get('profiles', profileId))
}

describe('extraction when the model call fails', () => {
  const FAILURES: { name: string; replies: ScriptedReply[]; said: string; requests: number; deadline?: string; log?: string }[] = [
    { name: '429 on every attempt', replies: thrice(status(429)), said: SAID.rateLimited, requests: 3 },
    { name: '529 on every attempt', replies: thrice(status(529)), said: SAID.overloaded, requests: 3 },
    { name: '500 on every attempt', replies: thrice(status(500)), said: SAID.serverError, requests: 3 },
    { name: 'a 400 (our request is wrong)', replies: [status(400)], said: SAID.refused, requests: 1, log: refusedLog(400) },
    { name: 'a 401 (the key is wrong)', replies: [status(401)], said: SAID.refused, requests: 1, log: refusedLog(401) },
    { name: 'a 404 (the model id is retired)', replies: [status(404)], said: SAID.unavailable, requests: 1, log: notFoundLog },
  ]
  // A hang past MODEL_DEADLINE_MS is not here: the model had the request, so its input is
  // counted (tests/unreportedTokens.test.ts).

  test.each(FAILURES)('$name: a clear error, the profile untouched, no usage row (no tokens spent)', async (failure) => {
    const logged = captureConsole('error')
    const t = setupBackend()
    const { as, profileId } = await makeUser(t, { name: 'Ada', skills: ['Python'], careerGoals: 'Do evals.' })
    const before = await profileOf(t, profileId)
    if (failure.deadline) process.env.MODEL_DEADLINE_MS = failure.deadline
    server().reply(...failure.replies)

    expect(await convexErrorOf(as.action(extract, { profileId, messages: CHAT }))).toBe(failure.said)
    expect(server().requests.length).toBeGreaterThanOrEqual(failure.requests)
    expect(server().requests[0].body.tool_choice).toEqual({ type: 'tool', name: 'save_profile_updates' })
    expect(await profileOf(t, profileId)).toEqual(before)
    expect(await usageRows(t)).toEqual([])
    expect(logged()).toEqual(failure.log ? [expect.stringContaining(failure.log)] : [])
  })

  test('a refusal spent tokens: its own wording, the profile untouched, one failed usage row', async () => {
    const warned = captureConsole('warn')
    const t = setupBackend()
    const { as, userId, profileId } = await makeUser(t, { name: 'Ada', skills: ['Python'] })
    const before = await profileOf(t, profileId)
    server().reply({ kind: 'refusal', category: 'cyber' })

    expect(await convexErrorOf(as.action(extract, { profileId, messages: CHAT }))).toBe(SAID.extractionRefusal)
    expect(await profileOf(t, profileId)).toEqual(before)
    const rows = await usageRows(t)
    expect(rows).toEqual([
      expect.objectContaining({ userId, profileId, chat: 'extraction', succeeded: false, model: 'claude-haiku-4-5-20251001' }),
    ])
    expect(rows[0].inputTokens).toBeGreaterThan(0)
    expect(warned()).toEqual(['Model "claude-haiku-4-5-20251001" declined a request (stop_reason refusal, category cyber)'])
  })

  test('an answer cut at max_tokens spent tokens: "too long", the profile untouched, one failed usage row', async () => {
    const t = setupBackend()
    const { as, profileId } = await makeUser(t, { skills: ['Python'] })
    const before = await profileOf(t, profileId)
    // A text answer longer than the extraction's 1024-token cap stops at max_tokens.
    server().reply({ kind: 'text', text: 'word '.repeat(1500) })

    expect(await convexErrorOf(as.action(extract, { profileId, messages: CHAT }))).toBe(SAID.tooLong)
    expect(server().requests[0].body.max_tokens).toBe(1024)
    expect(await profileOf(t, profileId)).toEqual(before)
    const rows = await usageRows(t)
    expect(rows).toEqual([expect.objectContaining({ chat: 'extraction', succeeded: false, outputTokens: 1024 })])
  })

  test('a null tool input is a malformed answer, never a result, and its tokens are recorded', async () => {
    const t = setupBackend()
    const { as, profileId } = await makeUser(t, { skills: ['Python'] })
    const before = await profileOf(t, profileId)
    server().reply({ kind: 'tool', name: 'save_profile_updates', input: null })

    expect(await convexErrorOf(as.action(extract, { profileId, messages: CHAT }))).toBe(
      "The assistant's profile updates were malformed (it was not an object). Please try again.",
    )
    expect(await profileOf(t, profileId)).toEqual(before)
    expect(await usageRows(t)).toEqual([expect.objectContaining({ chat: 'extraction', succeeded: false })])
  })

  test('a whitespace-only JSON answer (structured outputs) is "no profile updates", not malformed', async () => {
    const t = setupBackend()
    const { as, profileId } = await makeUser(t)
    process.env.MODEL_EXTRACTION = 'claude-sonnet-5-5'
    server().reply({ kind: 'content', content: [{ type: 'text', text: '  \n ' }] })

    expect(await convexErrorOf(as.action(extract, { profileId, messages: CHAT }))).toBe(
      'The assistant did not return any profile updates. Please try again.',
    )
    // Sonnet 5.5 takes no forced tool: the schema went as structured outputs.
    expect(server().requests[0].body.tool_choice).toBeUndefined()
    expect(server().requests[0].body.output_config?.format?.type).toBe('json_schema')
  })

  test('a JSON answer that is not JSON is malformed (the text is not an object)', async () => {
    const t = setupBackend()
    const { as, profileId } = await makeUser(t)
    process.env.MODEL_EXTRACTION = 'claude-sonnet-5-5'
    server().reply({ kind: 'content', content: [{ type: 'text', text: 'Sure! Here you go.' }] })

    expect(await convexErrorOf(as.action(extract, { profileId, messages: CHAT }))).toBe(
      "The assistant's profile updates were malformed (it was not an object). Please try again.",
    )
  })
})

const CHATS: Chat[] = ['general', 'debrief']

describe.each(CHATS)('the %s chat when the API answers an error', (chat) => {
  // Status and type as the API or a gateway may send them: matching, one without the other,
  // or disagreeing. The type decides where it names a known case; otherwise the status does.
  const ERRORS: { name: string; replies: ScriptedReply[]; said: string; log?: string }[] = [
    { name: '400 invalid_request_error', replies: [status(400)], said: SAID.refused, log: refusedLog(400) },
    { name: '401 authentication_error', replies: [status(401)], said: SAID.refused, log: refusedLog(401) },
    { name: '403 permission_error', replies: [status(403, 'permission_error')], said: SAID.refused, log: refusedLog(403) },
    { name: '529 without a type', replies: thrice(status(529, '')), said: SAID.overloaded },
    { name: '429 without a type', replies: thrice(status(429, '')), said: SAID.rateLimited },
    { name: '404 without a type', replies: [status(404, '')], said: SAID.unavailable, log: notFoundLog },
    { name: '503 without a type', replies: thrice(status(503, '')), said: SAID.serverError },
    { name: '400 typed overloaded_error', replies: [status(400, 'overloaded_error')], said: SAID.overloaded },
    { name: '400 typed rate_limit_error', replies: [status(400, 'rate_limit_error')], said: SAID.rateLimited },
    { name: '400 typed not_found_error', replies: [status(400, 'not_found_error')], said: SAID.unavailable, log: notFoundLog },
  ]

  test.each(ERRORS)('$name: a plain message, the reply settled, the message kept', async ({ replies, said, log }) => {
    const logged = captureConsole('error')
    const t = setupBackend()
    const c = await openChat(t, chat)
    server().reply(...replies)

    expect(await convexErrorOf(c.send('Hello there.'))).toBe(said)
    const stored = await c.stored()
    expect(stored.map(({ role, content, status }) => ({ role, content, status }))).toEqual([
      { role: 'user', content: 'Hello there.', status: undefined },
    ])
    expect(await c.live()).toBeNull()
    expect(await usageRows(t)).toEqual([])
    expect(logged()).toEqual(log ? [expect.stringContaining(log)] : [])
  })
})

/**
 * A stand-in for what sits between the backend and the API: it answers every request with
 * the next scripted raw response (status, headers, body as bytes), repeating the last one.
 */
type RawAnswer = { status: number; contentType: string; body: string; retryAfterMs?: string }
function useRawServer() {
  let answers: RawAnswer[] = []
  let requests = 0
  let url = ''
  const http = createServer((req, res: ServerResponse) => {
    req.resume()
    req.on('end', () => {
      const answer = answers[Math.min(requests, answers.length - 1)]
      requests++
      // retry-after-ms keeps the SDK's own retries fast, as the shared model server does.
      res.writeHead(answer.status, { 'content-type': answer.contentType, 'retry-after-ms': answer.retryAfterMs ?? '5' })
      res.end(answer.body)
    })
  })
  beforeAll(async () => {
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    await new Promise<void>((resolve) => http.close(() => resolve()))
  })
  return {
    /** Points the backend at this server with these answers. */
    answer(...next: RawAnswer[]) {
      answers = next
      requests = 0
      process.env.ANTHROPIC_BASE_URL = url
    },
    requests: () => requests,
  }
}

const raw = useRawServer()

const JSON_529 = {
  status: 529,
  contentType: 'application/json',
  body: '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}',
}

const PROXY_502 = {
  status: 502,
  contentType: 'text/html',
  body: '<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>',
}

/** An answer that streams some text and then an SSE error event of `type` (no HTTP status). */
function streamThenError(text: string, type: string): RawAnswer {
  const event = (name: string, data: unknown) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`
  return {
    status: 200,
    contentType: 'text/event-stream',
    body:
      event('message_start', {
        type: 'message_start',
        message: {
          id: 'msg_raw', type: 'message', role: 'assistant', model: 'claude-haiku-4-5-20251001', content: [],
          stop_reason: null, stop_sequence: null, usage: { input_tokens: 42, output_tokens: 1 },
        },
      }) +
      event('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }) +
      event('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } }) +
      event('error', { type: 'error', error: { type, message: 'Internal server error' } }),
  }
}

describe.each(CHATS)('the %s chat behind a gateway', (chat) => {
  test("a proxy's HTML 502 on every attempt: the server-error message, the reply settled", async () => {
    const t = setupBackend()
    const c = await openChat(t, chat)
    raw.answer(PROXY_502)

    expect(await convexErrorOf(c.send('Are you there?'))).toBe(SAID.serverError)
    expect(raw.requests()).toBe(3)
    const stored = await c.stored()
    expect(stored.map(({ role, content, status }) => ({ role, content, status }))).toEqual([
      { role: 'user', content: 'Are you there?', status: undefined },
    ])
    expect(await usageRows(t)).toEqual([])
  })

  test('a JSON error body without an error object: the status decides (529 is overloaded)', async () => {
    const t = setupBackend()
    const c = await openChat(t, chat)
    raw.answer({ status: 529, contentType: 'application/json', body: '{"type":"error"}' })

    expect(await convexErrorOf(c.send('Are you there?'))).toBe(SAID.overloaded)
    expect((await c.stored()).map((message) => message.role)).toEqual(['user'])
  })

  test('an error event mid-stream with no status and an unknown type: server error, the text so far kept as failed, its tokens recorded', async () => {
    const t = setupBackend()
    const c = await openChat(t, chat)
    raw.answer(streamThenError('Half of an ans', 'api_error'))

    expect(await convexErrorOf(c.send('Tell me more.'))).toBe(SAID.serverError)
    const stored = await c.stored()
    expect(stored.map(({ role, content, status }) => ({ role, content, status }))).toEqual([
      { role: 'user', content: 'Tell me more.', status: undefined },
      { role: 'assistant', content: 'Half of an ans', status: 'failed' },
    ])
    expect(await usageRows(t)).toEqual([
      // No message_delta came: the 14 bytes that streamed are estimated as 4 tokens (bytes / 4).
      expect.objectContaining({ userId: c.userId, chat, inputTokens: 42, outputTokens: 4, succeeded: false }),
    ])
  })
})

describe('extraction behind a gateway', () => {
  test("a proxy's HTML 502: the server-error message, the profile untouched, no usage row", async () => {
    const t = setupBackend()
    const { as, profileId } = await makeUser(t, { skills: ['Python'] })
    const before = await profileOf(t, profileId)
    raw.answer(PROXY_502)

    expect(await convexErrorOf(as.action(extract, { profileId, messages: CHAT }))).toBe(SAID.serverError)
    expect(raw.requests()).toBe(3)
    expect(await profileOf(t, profileId)).toEqual(before)
    expect(await usageRows(t)).toEqual([])
  })
})

/** A whole (non-streamed) message as the API sends it, with this stop reason and text. */
function messageWith(stopReason: string | null, text: string): RawAnswer {
  return {
    status: 200,
    contentType: 'application/json',
    body: JSON.stringify({
      id: 'msg_raw', type: 'message', role: 'assistant', model: 'claude-haiku-4-5-20251001',
      content: text ? [{ type: 'text', text }] : [], stop_reason: stopReason, stop_sequence: null,
      usage: { input_tokens: 30, output_tokens: 9 },
    }),
  }
}

describe('how a finished answer stopped decides what the person sees', () => {
  const INTERRUPTED = "The assistant's reply was cut off. Please try again."
  const STOPS: { stop: string | null; said?: string }[] = [
    { stop: 'end_turn' },
    { stop: 'stop_sequence' },
    { stop: 'max_tokens', said: SAID.tooLong },
    { stop: 'model_context_window_exceeded', said: SAID.tooLong },
    { stop: 'pause_turn', said: INTERRUPTED },
    { stop: null, said: INTERRUPTED },
  ]

  test.each(STOPS)('chat, stop_reason $stop', async ({ stop, said }) => {
    const t = setupBackend()
    const c = await openChat(t, 'general')
    process.env.CHAT_STREAMING = 'off'
    raw.answer(messageWith(stop, 'Here is an answer.'))
    if (said === undefined) {
      expect((await c.send('Hello.')).message).toBe('Here is an answer.')
      expect(await usageRows(t)).toEqual([expect.objectContaining({ inputTokens: 30, outputTokens: 9, succeeded: true })])
    } else {
      expect(await convexErrorOf(c.send('Hello.'))).toBe(said)
      // What arrived is kept, marked failed; its tokens are recorded.
      expect((await c.stored()).map(({ content, status }) => ({ content, status }))).toEqual([
        { content: 'Hello.', status: undefined },
        { content: 'Here is an answer.', status: 'failed' },
      ])
      expect(await usageRows(t)).toEqual([expect.objectContaining({ inputTokens: 30, outputTokens: 9, succeeded: false })])
    }
  })

  test.each(STOPS)('extraction, stop_reason $stop', async ({ stop, said }) => {
    const t = setupBackend()
    const { as, profileId } = await makeUser(t)
    process.env.MODEL_EXTRACTION = 'claude-sonnet-5-5'
    raw.answer(messageWith(stop, '{"skills_mentioned":["Rust"],"career_interests":[]}'))
    const call = as.action(extract, { profileId, messages: CHAT })
    if (said === undefined) {
      expect((await call).skills_mentioned).toEqual(['Rust'])
    } else {
      expect(await convexErrorOf(call)).toBe(said)
    }
    expect(await usageRows(t)).toEqual([
      expect.objectContaining({ chat: 'extraction', inputTokens: 30, outputTokens: 9, succeeded: said === undefined }),
    ])
  })
})

describe('what an extraction sends a model that takes no forced tool', () => {
  test('the schema as structured outputs, every object closed, and the prompt told to answer with it', async () => {
    const t = setupBackend()
    const { as, profileId } = await makeUser(t)
    process.env.MODEL_EXTRACTION = 'claude-sonnet-5-5'
    server().reply({ kind: 'tool', name: 'save_profile_updates', input: { skills_mentioned: ['Go'], career_interests: [] } })
    expect((await as.action(extract, { profileId, messages: CHAT })).skills_mentioned).toEqual(['Go'])

    const body = server().requests[0].body
    expect(body.tools).toBeUndefined()
    expect(body.output_config?.format).toEqual({
      type: 'json_schema',
      schema: {
        type: 'object',
        additionalProperties: false,
        properties: {
          skills_mentioned: { type: 'array', items: { type: 'string' }, description: 'Short names of skills the person showed or mentioned' },
          career_interests: { type: 'array', items: { type: 'string' }, description: 'Areas of AI safety the person is interested in' },
          career_goals: { type: 'string', description: 'Their career goals, in a sentence or two' },
          background_summary: { type: 'string', description: 'A short summary of their background' },
          seeking: { type: 'string', description: 'What role, collaboration or support they seek' },
        },
        required: ['skills_mentioned', 'career_interests'],
      },
    })
    expect(body.system?.endsWith(
      '\n\nAnswer with one JSON object that matches the required schema: it is recorded as the input of save_profile_updates.',
    )).toBe(true)
  })
})

describe('the wording of a malformed extraction answer', () => {
  const CASES: [string, unknown, string][] = [
    ['a list missing', { skills_mentioned: ['Go'] }, 'career_interests is missing'],
    ['a list that is text', { skills_mentioned: 'Go', career_interests: [] }, 'skills_mentioned must be a list of text'],
    ['a list holding a number', { skills_mentioned: [], career_interests: ['Evals', 7] }, 'career_interests must be a list of text'],
    ['a text that is a number', { skills_mentioned: [], career_interests: [], seeking: 3 }, 'seeking must be text'],
    ['a text that is a list', { skills_mentioned: [], career_interests: [], career_goals: ['x'] }, 'career_goals must be text'],
  ]

  test.each(CASES)('%s', async (_, input, detail) => {
    const t = setupBackend()
    const { as, profileId } = await makeUser(t)
    server().reply({ kind: 'tool', name: 'save_profile_updates', input })
    expect(await convexErrorOf(as.action(extract, { profileId, messages: CHAT }))).toBe(
      `The assistant's profile updates were malformed (${detail}). Please try again.`,
    )
  })
})

describe('what the operator is told', () => {
  test('a refused request logs the model, the status and the API message', async () => {
    const t = setupBackend()
    const c = await openChat(t, 'general')
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {})
    server().reply(status(401))
    await convexErrorOf(c.send('Hi'))
    expect(logged).toHaveBeenCalledWith(
      'Model request refused',
      'claude-haiku-4-5-20251001',
      401,
      expect.stringContaining('scripted 401'),
    )
    logged.mockRestore()
  })

  test('a refusal without a category logs "category none" and nothing the person wrote', async () => {
    const t = setupBackend()
    const c = await openChat(t, 'general')
    const warned = vi.spyOn(console, 'warn').mockImplementation(() => {})
    server().reply({ kind: 'refusal' })
    await convexErrorOf(c.send('My secret words'))
    expect(warned).toHaveBeenCalledWith(
      'Model "claude-haiku-4-5-20251001" declined a request (stop_reason refusal, category none)',
    )
    expect(JSON.stringify(warned.mock.calls)).not.toContain('secret')
    warned.mockRestore()
  })
})

describe('generateReply never sends a trailing assistant turn', () => {
  test('assistant turns after the last user turn are left out of the request', async () => {
    server().reply({ kind: 'text', text: 'Fine.' })
    const outcome = await generateReply({
      system: 'Be brief.',
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello!' },
        { role: 'assistant', content: 'Anything else?' },
      ],
      stream: false,
    })
    expect(outcome).toMatchObject({ ok: true, value: 'Fine.' })
    expect(server().requests[0].body.messages).toEqual([{ role: 'user', content: 'Hi' }])
  })

  test('a conversation ending with a user turn is sent whole', async () => {
    server().reply({ kind: 'text', text: 'Fine.' })
    const messages = [
      { role: 'user' as const, content: 'Hi' },
      { role: 'assistant' as const, content: 'Hello!' },
      { role: 'user' as const, content: 'Bye' },
    ]
    // No onText: a caller that does not follow the stream still gets the whole reply.
    const outcome = await generateReply({ system: 'Be brief.', messages, stream: true })
    expect(outcome).toMatchObject({ ok: true, value: 'Fine.' })
    expect(server().requests[0].body.messages).toEqual(messages)
  })
})

describe('answers only a raw server can send', () => {
  test('a refusal with no stop details: the refusal wording, and the log says category none', async () => {
    const t = setupBackend()
    const c = await openChat(t, 'general')
    process.env.CHAT_STREAMING = 'off'
    const warned = vi.spyOn(console, 'warn').mockImplementation(() => {})
    raw.answer(messageWith('refusal', 'I will not'))
    expect(await convexErrorOf(c.send('Hi'))).toBe(
      "The assistant can't help with that message. You could rephrase it and try again.",
    )
    expect(warned).toHaveBeenCalledWith(
      'Model "claude-haiku-4-5-20251001" declined a request (stop_reason refusal, category none)',
    )
    warned.mockRestore()
  })

  test.each(['streamed', 'whole'])('the deadline covers the retries (%s chat reply): an overload asking to wait past it ends as "took too long"', async (mode) => {
    const t = setupBackend()
    const c = await openChat(t, 'general')
    process.env.MODEL_DEADLINE_MS = '300'
    if (mode === 'whole') process.env.CHAT_STREAMING = 'off'
    raw.answer({ ...JSON_529, retryAfterMs: '1500' })
    expect(await convexErrorOf(c.send('Hi'))).toBe(SAID.timeout)
    expect(raw.requests()).toBe(1)
    // The deadline came while the SDK waited to retry, not while the model had the request.
    expect(await usageRows(t)).toEqual([])
  })

  test('the deadline covers an extraction\'s retries too', async () => {
    const t = setupBackend()
    const { as, profileId } = await makeUser(t)
    process.env.MODEL_DEADLINE_MS = '300'
    raw.answer({ ...JSON_529, retryAfterMs: '1500' })
    expect(await convexErrorOf(as.action(extract, { profileId, messages: CHAT }))).toBe(SAID.timeout)
    expect(raw.requests()).toBe(1)
    expect(await usageRows(t)).toEqual([])
  })
})
