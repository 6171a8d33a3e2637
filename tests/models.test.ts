// The model is a setting: both chats and extraction on Haiku 4.5 (the default), Haiku 5.5 and
// an always-thinking model (Opus 5.5), against a server that behaves like each of them; what
// the requests contain; refusals, max_tokens stops and retired models.
import Anthropic from '@anthropic-ai/sdk'
import { afterEach, describe, expect, test, vi } from 'vitest'
import { api } from '../convex/_generated/api'
import {
  callTool,
  generateReply,
  MAX_REPLY_TOKENS,
  MODEL_ERRORS,
  THINKING_ROOM_TOKENS,
} from '../convex/ai/claude'
import {
  chatModel,
  DEFAULT_MODEL_ID,
  extractionModel,
  MODEL_TRAITS,
  modelTraits,
  UNKNOWN_MODEL_TRAITS,
} from '../convex/ai/models'
import { BUILT_IN_PRICES, MODEL_UNAVAILABLE } from '../convex/ai/prices'
import { EXTRACTION_MAX_TOKENS } from '../convex/enrichment/extraction'
import { EXTRACTION_TOOL, NO_EXTRACTION } from '../convex/enrichment/extractionResult'
import { SIMULATED_THINKING_TOKENS, wordChunks, type RecordedRequest } from './support/modelServer'
import {
  type Chat,
  chatRequestBody,
  convexErrorOf,
  makeUser,
  modelUsageRows,
  openChat,
  setupBackend,
  snapshotTables,
  useModelServer,
} from './support/backend'
import { captureConsole } from './support/consoleLog'

const server = useModelServer()

afterEach(() => {
  vi.restoreAllMocks()
})

const HAIKU_4_5 = 'claude-haiku-4-5-20251001'
const HAIKU_5_5 = 'claude-haiku-5-5'
const SONNET_5_5 = 'claude-sonnet-5-5'
const OPUS_5_5 = 'claude-opus-5-5'
const RETIRED = 'claude-sonnet-4-5'

/** Thinking text the server returns in a thinking block: it must never reach a person. */
const SECRET = 'SECRET-THINKING weighing how to answer'

/**
 * Chooses the models. Ids the price table does not know get a price through MODEL_PRICES, as an
 * operator must give them (an unpriced model is refused before any call).
 */
function useModels(chat: string | undefined, extraction: string | undefined = chat) {
  const unpriced = [chat, extraction].filter((id) => id?.trim() && !(id.trim() in BUILT_IN_PRICES))
  if (unpriced.length > 0) {
    process.env.MODEL_PRICES = JSON.stringify(
      Object.fromEntries(unpriced.map((id) => [id!.trim(), { inputPerMTok: 3, outputPerMTok: 15 }])),
    )
  }
  if (chat === undefined) delete process.env.MODEL_CHAT
  else process.env.MODEL_CHAT = chat
  if (extraction === undefined) delete process.env.MODEL_EXTRACTION
  else process.env.MODEL_EXTRACTION = extraction
}

/** What every request to a current model must look like, whatever the path. */
function expectAcceptedShape(body: RecordedRequest['body']) {
  expect(body).not.toHaveProperty('temperature')
  expect(body).not.toHaveProperty('top_p')
  expect(body).not.toHaveProperty('top_k')
  expect(body.messages.at(-1)?.role).toBe('user')
  expect(body.messages[0]?.role).toBe('user')
  expect(body.thinking?.type).not.toBe('enabled')
}

/** The chat's thinking settings per model: off where it can be, otherwise room at effort low. */
const CHAT_SETTINGS: Record<string, Partial<RecordedRequest['body']>> = {
  [HAIKU_4_5]: { max_tokens: MAX_REPLY_TOKENS },
  [HAIKU_5_5]: { max_tokens: 650, thinking: { type: 'disabled' } },
  [SONNET_5_5]: { max_tokens: 650, thinking: { type: 'between_tools' } },
  [OPUS_5_5]: { max_tokens: 650 + THINKING_ROOM_TOKENS, output_config: { effort: 'low' } },
}

function expectChatSettings(body: RecordedRequest['body'], model: string) {
  const expected = CHAT_SETTINGS[model]
  expect(body.model).toBe(model)
  expect(body.max_tokens).toBe(expected.max_tokens)
  expect(body.thinking).toEqual(expected.thinking)
  expect(body.output_config).toEqual(expected.output_config)
  expect(body.tools).toBeUndefined()
  expectAcceptedShape(body)
}

// ---------------------------------------------------------------------------------------------
// The setting and the traits table

describe('the model setting', () => {
  test('both chats and extraction default to Haiku 4.5 when the variables are unset or blank', () => {
    useModels(undefined)
    expect(chatModel()).toEqual({ id: DEFAULT_MODEL_ID, setting: 'MODEL_CHAT' })
    expect(extractionModel()).toEqual({ id: DEFAULT_MODEL_ID, setting: 'MODEL_EXTRACTION' })
    expect(DEFAULT_MODEL_ID).toBe(HAIKU_4_5)
    useModels('  ', '')
    expect(chatModel().id).toBe(HAIKU_4_5)
    expect(extractionModel().id).toBe(HAIKU_4_5)
  })

  test('MODEL_CHAT and MODEL_EXTRACTION are read separately, trimmed', () => {
    useModels(` ${HAIKU_5_5} `, OPUS_5_5)
    expect(chatModel()).toEqual({ id: HAIKU_5_5, setting: 'MODEL_CHAT' })
    expect(extractionModel()).toEqual({ id: OPUS_5_5, setting: 'MODEL_EXTRACTION' })
  })

  test('the traits table knows Haiku 4.5 (dated id and alias), Haiku 5.5, Sonnet 5.5 and Opus 5.5', () => {
    expect(MODEL_TRAITS['claude-haiku-4-5']).toBe(MODEL_TRAITS[HAIKU_4_5])
    expect(MODEL_TRAITS[HAIKU_4_5]).toMatchObject({ thinks: 'on-request', forcedTool: 'always', strictRequests: false, defaultEffort: null })
    expect(MODEL_TRAITS[HAIKU_5_5]).toMatchObject({ thinks: 'by-default', thinkingOff: 'disabled', forcedTool: 'thinking-off', strictRequests: true })
    expect(MODEL_TRAITS[SONNET_5_5]).toMatchObject({ thinks: 'by-default', thinkingOff: 'between_tools', forcedTool: 'never', strictRequests: true })
    expect(MODEL_TRAITS[OPUS_5_5]).toMatchObject({ thinks: 'always', thinkingOff: null, forcedTool: 'never', strictRequests: true })
  })

  test('an id the table does not know is treated as a current model, with one warning for the operator', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    expect(modelTraits('claude-table-does-not-know-1')).toBe(UNKNOWN_MODEL_TRAITS)
    expect(modelTraits('claude-table-does-not-know-1')).toBe(UNKNOWN_MODEL_TRAITS)
    expect(UNKNOWN_MODEL_TRAITS).toMatchObject({ strictRequests: true, thinkingOff: null, defaultEffort: null, forcedTool: 'never' })
    expect(warn).toHaveBeenCalledTimes(1)
    expect(String(warn.mock.calls[0][0])).toContain('claude-table-does-not-know-1')
  })
})

// ---------------------------------------------------------------------------------------------
// Both chats, on each model, streamed and not

const CHATS: Chat[] = ['general', 'debrief']
const CHAT_MODELS = [HAIKU_4_5, HAIKU_5_5, OPUS_5_5]
const STREAMING = [true, false]

describe.each(CHAT_MODELS)('chats on %s', (model) => {
  test.each(CHATS.flatMap((chat) => STREAMING.map((stream) => [chat, stream] as const)))(
    '%s chat (streamed: %s): opening and later turns store and return the answer only, and usage names the model',
    async (chat, stream) => {
      useModels(model)
      if (!stream) process.env.CHAT_STREAMING = 'off'
      const t = setupBackend()
      const c = await openChat(t, chat)
      const first = 'Welcome back! What did you find hardest?'
      const second = 'That makes sense. What would you do next?'
      server().reply(
        { kind: 'text', text: first, thinking: SECRET },
        { kind: 'text', text: second, thinking: SECRET },
      )

      expect(await c.send('I replicated the paper.')).toMatchObject({ message: first })
      expect(await c.send('The data loading was hardest.')).toMatchObject({ message: second })

      const stored = await c.read()
      expect(stored.map(({ role, content, status }) => ({ role, content, status }))).toEqual([
        { role: 'user', content: 'I replicated the paper.', status: undefined },
        { role: 'assistant', content: first, status: undefined },
        { role: 'user', content: 'The data loading was hardest.', status: undefined },
        { role: 'assistant', content: second, status: undefined },
      ])
      expect(JSON.stringify(stored)).not.toContain('SECRET')

      const [opening, later] = server().requests
      for (const request of [opening, later]) {
        expectChatSettings(request.body, model)
        expect(request.body.stream ?? false).toBe(stream)
      }
      // The later turn's history is the answer text only: no thinking, no signature.
      expect(later.body.messages).toEqual([
        { role: 'user', content: 'I replicated the paper.' },
        { role: 'assistant', content: first },
        { role: 'user', content: 'The data loading was hardest.' },
      ])
      const rows = await modelUsageRows(t)
      expect(rows).toHaveLength(2)
      for (const row of rows) {
        expect(row).toMatchObject({ model, chat, succeeded: true })
        expect(row.inputTokens).toBeGreaterThan(0)
      }
      // One token a word on Haiku 4.5; 1.3 x on the newer tokenizer (simulated), plus the
      // thinking the server counts for a model that cannot stop (at effort low).
      const words = wordChunks(first).length
      const thinking = model === OPUS_5_5 ? SIMULATED_THINKING_TOKENS.low : 0
      const text = model === HAIKU_4_5 ? words : Math.ceil(words * 1.3)
      expect(rows[0].outputTokens).toBe(thinking + text)
    },
  )
})

test('on Haiku 4.5 the chat request is exactly what it was before models became a setting', async () => {
  useModels(undefined)
  const t = setupBackend()
  const c = await openChat(t, 'general')
  server().reply({ kind: 'text', text: 'Hello Ada.' })
  await c.send('Hi')
  const { body } = server().requests[0]
  expect(body).toEqual(chatRequestBody(body.system!, [{ role: 'user', content: 'Hi' }]))
})

test('Sonnet 5.5 chats with up-front thinking off through between_tools (it refuses disabled)', async () => {
  useModels(SONNET_5_5)
  const t = setupBackend()
  const c = await openChat(t, 'general')
  server().reply({ kind: 'text', text: 'Tell me about your background.' })
  expect(await c.send('Hi')).toMatchObject({ message: 'Tell me about your background.' })
  expectChatSettings(server().requests[0].body, SONNET_5_5)
})

test('on an always-thinking model the streamed reply shows answer text only, from its first visible text', async () => {
  useModels(OPUS_5_5)
  const t = setupBackend()
  const c = await openChat(t, 'debrief')
  const answer = Array.from({ length: 12 }, (_, i) => `answer${i} `).join('')
  server().reply({ kind: 'text', text: answer, thinking: `${SECRET} at length`, thinkingTokens: 4, chunkIntervalMs: 25 })

  let settled = false
  const turn = c.send('Done!').finally(() => (settled = true))
  const seen: string[] = []
  while (!settled) {
    const reply = (await c.read()).find((message) => message.role === 'assistant')
    if (reply && reply.content.length > 0) seen.push(reply.content)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  expect((await turn).message).toBe(answer)
  expect(seen.length).toBeGreaterThan(0)
  // Every text a subscriber saw, the first one included, is a start of the answer.
  for (const content of seen) expect(answer.startsWith(content)).toBe(true)
})

describe.each([HAIKU_4_5, HAIKU_5_5, OPUS_5_5])('delta mode on %s', (model) => {
  test.each(CHATS)('%s chat: getLiveReply follows the answer text only, and the finished reply is the answer', async (chat) => {
    useModels(model)
    const t = setupBackend()
    const c = await openChat(t, chat)
    const answer = Array.from({ length: 12 }, (_, i) => `answer${i} `).join('')
    server().reply({ kind: 'text', text: answer, thinking: SECRET, thinkingTokens: 4, chunkIntervalMs: 25 })

    let settled = false
    const turn = c.send('Done!', { liveReply: 'deltas' }).finally(() => (settled = true))
    let followed = ''
    let cursor: number | undefined
    while (!settled) {
      const live = await c.live(cursor)
      if (live) {
        followed += live.text
        cursor = live.cursor
      }
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    expect((await turn).message).toBe(answer)
    // What a delta client followed is a start of the answer (the last chunk may land as the turn
    // ends), never thinking.
    expect(followed.length).toBeGreaterThan(0)
    expect(answer.startsWith(followed)).toBe(true)
    expect((await c.read()).map(({ role, content, status }) => ({ role, content, status }))).toEqual([
      { role: 'user', content: 'Done!', status: undefined },
      { role: 'assistant', content: answer, status: undefined },
    ])
    expect(await c.live()).toBeNull()
  })
})

test.each(['chat', 'extraction'] as const)('a model with no price (%s) is refused before anything is stored or sent, naming MODEL_PRICES for the operator', async (use) => {
  const logged = vi.spyOn(console, 'error').mockImplementation(() => {})
  process.env[use === 'chat' ? 'MODEL_CHAT' : 'MODEL_EXTRACTION'] = 'claude-next-haiku'
  const t = setupBackend()
  const c = await openChat(t, 'general')
  const before = await snapshotTables(t)
  const call = use === 'chat'
    ? c.send('Hello')
    : c.as.action(api.enrichment.extraction.extractFromConversation, { profileId: c.profileId, messages: [{ role: 'user', content: 'I use Rust.' }] })
  expect(await convexErrorOf(call)).toBe(MODEL_UNAVAILABLE)
  expect(await snapshotTables(t)).toEqual(before)
  expect(server().requests).toEqual([])
  const operatorLog = logged.mock.calls.flat().join(' ')
  expect(operatorLog).toContain('MODEL_PRICES')
  expect(operatorLog).toContain('claude-next-haiku')
})

test('an unknown model id is called as a current model: no thinking or effort field, room for thinking', async () => {
  const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
  // A model this backend's table does not know, served like a newer Haiku (thinks at effort high).
  server().serveModel('claude-next-haiku', {
    thinking: 'by-default', thinkingOff: 'disabled', defaultEffort: 'high', forcedTool: 'thinking-off', strict: true, tokenizerFactor: 1.3,
  })
  useModels('claude-next-haiku')
  const t = setupBackend()
  const { as, profileId } = await makeUser(t)
  server().reply(
    { kind: 'text', text: 'Happy to help.', thinking: SECRET },
    { kind: 'tool', name: EXTRACTION_TOOL.name, input: { skills_mentioned: ['Rust'], career_interests: [] }, thinking: SECRET },
  )
  expect(await as.action(api.enrichment.conversation.sendMessage, { profileId, message: 'Hi' })).toMatchObject({ message: 'Happy to help.' })
  expect(
    await as.action(api.enrichment.extraction.extractFromConversation, { profileId, messages: [{ role: 'user', content: 'I write Rust.' }] }),
  ).toEqual({
    skills_mentioned: ['Rust'],
    career_interests: [],
    added: { skills_mentioned: ['Rust'], career_interests: [] },
  })

  const [chat, extraction] = server().requests.map((request) => request.body)
  expect(chat).toMatchObject({ model: 'claude-next-haiku', max_tokens: 650 + THINKING_ROOM_TOKENS })
  expect(chat.thinking).toBeUndefined()
  expect(chat.output_config).toBeUndefined()
  expect(extraction.thinking).toBeUndefined()
  expect(extraction.tool_choice).toBeUndefined()
  expect(extraction.output_config).toMatchObject({ format: { type: 'json_schema' } })
  expect(extraction.output_config?.effort).toBeUndefined()
  for (const body of [chat, extraction]) expectAcceptedShape(body)
  expect(warn.mock.calls.some(([text]) => String(text).includes('claude-next-haiku'))).toBe(true)
})

test('a conversation ending with an assistant turn is never sent as a prefill', async () => {
  useModels(HAIKU_5_5)
  server().reply({ kind: 'text', text: 'Sure.' })
  const outcome = await generateReply({
    system: 'Be brief.',
    messages: [
      { role: 'user', content: 'Hello' },
      { role: 'assistant', content: 'Hi! How' },
    ],
    stream: false,
  })
  expect(outcome).toMatchObject({ ok: true, value: 'Sure.' })
  expect(server().requests[0].body.messages).toEqual([{ role: 'user', content: 'Hello' }])
})

// ---------------------------------------------------------------------------------------------
// Why the request shape matters: the server behaves like the models

describe('the model server refuses what the 5.x models refuse', () => {
  const client = () => new Anthropic({ apiKey: 'test-key', baseURL: server().url, maxRetries: 0 })
  const base = { max_tokens: 500, messages: [{ role: 'user' as const, content: 'Hi' }] }

  test.each([
    ['temperature', { model: HAIKU_5_5, temperature: 0.2 }],
    ['top_p', { model: SONNET_5_5, top_p: 0.9 }],
    ['top_k', { model: OPUS_5_5, top_k: 5 }],
    ['a trailing assistant turn', { model: HAIKU_5_5, messages: [...base.messages, { role: 'assistant' as const, content: 'Well' }] }],
    ['thinking enabled with budget_tokens', { model: HAIKU_5_5, max_tokens: 4000, thinking: { type: 'enabled' as const, budget_tokens: 2000 } }],
    ['a forced tool while thinking is on', { model: HAIKU_5_5, tools: [EXTRACTION_TOOL], tool_choice: { type: 'tool' as const, name: EXTRACTION_TOOL.name } }],
    ['a forced tool on Sonnet 5.5 even with thinking off', { model: SONNET_5_5, thinking: { type: 'between_tools' as const }, tools: [EXTRACTION_TOOL], tool_choice: { type: 'any' as const } }],
    ['thinking disabled at effort xhigh', { model: HAIKU_5_5, thinking: { type: 'disabled' as const }, output_config: { effort: 'xhigh' as const } }],
    ['thinking disabled on Opus 5.5', { model: OPUS_5_5, thinking: { type: 'disabled' as const } }],
    ['thinking disabled on Sonnet 5.5', { model: SONNET_5_5, thinking: { type: 'disabled' as const } }],
    ['effort on Haiku 4.5', { model: HAIKU_4_5, output_config: { effort: 'low' as const } }],
  ])('400 for %s', async (_, params) => {
    const error = await client().messages.create({ ...base, ...params }).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(Anthropic.BadRequestError)
  })

  test('404 not_found_error for a retired id', async () => {
    const warned = captureConsole('warn')
    const error = await client().messages.create({ ...base, model: RETIRED }).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(Anthropic.NotFoundError)
    expect((error as InstanceType<typeof Anthropic.NotFoundError>).error).toMatchObject({ error: { type: 'not_found_error' } })
    // The SDK itself warns about a model it knows is at end of life.
    expect(warned()).toEqual([expect.stringContaining(`The model '${RETIRED}' is deprecated`)])
  })

  test("today's request on Haiku 5.5 (no thinking setting, max_tokens 500) thinks until it is cut off, with no text", async () => {
    server().reply({ kind: 'text', text: 'A reply that never gets written.' })
    const reply = await client().messages.create({ ...base, model: HAIKU_5_5 })
    expect(SIMULATED_THINKING_TOKENS.medium).toBeGreaterThan(500)
    expect(reply.stop_reason).toBe('max_tokens')
    expect(reply.content.map((block) => block.type)).toEqual(['thinking'])
    expect(reply.usage.output_tokens).toBe(500)
  })

  test('a streamed thinking answer sends its thinking (thinking_delta, signature_delta) before the text', async () => {
    server().reply({ kind: 'text', text: 'Two words', thinking: SECRET })
    const events = await client().messages.create({ ...base, max_tokens: 2000, model: OPUS_5_5, stream: true })
    const kinds: string[] = []
    for await (const event of events) {
      if (event.type === 'content_block_start') kinds.push(`start:${event.content_block.type}`)
      if (event.type === 'content_block_delta') kinds.push(event.delta.type)
    }
    const firstText = kinds.indexOf('text_delta')
    expect(kinds[0]).toBe('start:thinking')
    expect(kinds.indexOf('thinking_delta')).toBeLessThan(firstText)
    expect(kinds.indexOf('signature_delta')).toBeLessThan(firstText)
    expect(kinds).toContain('start:text')
  })
})

// ---------------------------------------------------------------------------------------------
// max_tokens never passes a cut reply off as complete

describe('a reply stopped at max_tokens', () => {
  test.each([HAIKU_4_5, HAIKU_5_5])('on %s is a failure: the cut text is kept marked failed and never sent again', async (model) => {
    useModels(model)
    const t = setupBackend()
    const c = await openChat(t, 'general')
    const long = Array.from({ length: 700 }, (_, i) => `w${i} `).join('')
    server().reply({ kind: 'text', text: long })
    expect(await convexErrorOf(c.send('Tell me everything.'))).toBe(MODEL_ERRORS.tooLong)

    const [user, reply] = await c.stored()
    expect(user).toMatchObject({ role: 'user', content: 'Tell me everything.' })
    expect(reply.status).toBe('failed')
    expect(long.startsWith(reply.content)).toBe(true)
    expect(reply.content.length).toBeLessThan(long.length)
    expect(await modelUsageRows(t)).toEqual([expect.objectContaining({ model, succeeded: false })])

    server().reply({ kind: 'text', text: 'Shorter this time.' })
    await c.send('Tell me everything.')
    expect(server().requests[1].body.messages).toEqual([{ role: 'user', content: 'Tell me everything.' }])
  })

  test('a reply that fits on Haiku 4.5 still fits on Haiku 5.5: the cap grows with the tokenizer', async () => {
    const fitsOn45 = Array.from({ length: MAX_REPLY_TOKENS }, (_, i) => `w${i} `).join('')
    for (const model of [HAIKU_4_5, HAIKU_5_5]) {
      useModels(model)
      const t = setupBackend()
      const c = await openChat(t, 'general')
      server().reply({ kind: 'text', text: fitsOn45 })
      expect((await c.send('Go on.')).message).toBe(fitsOn45)
    }
  })

  test('on an always-thinking model, thinking that fills max_tokens is a failure with nothing stored', async () => {
    useModels(OPUS_5_5)
    const t = setupBackend()
    const c = await openChat(t, 'debrief')
    server().reply({ kind: 'text', text: 'Never written.', thinking: SECRET, thinkingTokens: 650 + THINKING_ROOM_TOKENS })
    expect(await convexErrorOf(c.send('Done.'))).toBe(MODEL_ERRORS.tooLong)
    expect((await c.stored()).map((message) => message.role)).toEqual(['user'])
  })

  test('an extraction stopped at max_tokens is a clear error and proposes nothing', async () => {
    useModels(OPUS_5_5)
    const t = setupBackend()
    const { as, profileId } = await makeUser(t)
    server().reply({
      kind: 'tool', name: EXTRACTION_TOOL.name, input: { skills_mentioned: ['Go'], career_interests: [] },
      thinkingTokens: 10_000,
    })
    expect(
      await convexErrorOf(as.action(api.enrichment.extraction.extractFromConversation, { profileId, messages: [{ role: 'user', content: 'I write Go.' }] })),
    ).toBe(MODEL_ERRORS.tooLong)
  })
})

// ---------------------------------------------------------------------------------------------
// Refusals

describe.each([HAIKU_4_5, HAIKU_5_5])('a refusal on %s', (model) => {
  test.each(STREAMING)('before any text (streamed: %s): a plain failure, no reply kept, the refused message set aside, usage recorded', async (stream) => {
    const warned = captureConsole('warn')
    useModels(model)
    if (!stream) process.env.CHAT_STREAMING = 'off'
    const t = setupBackend()
    const c = await openChat(t, 'general')
    server().reply({ kind: 'refusal', category: 'cyber' })
    expect(await convexErrorOf(c.send('Something the classifiers decline.'))).toBe(MODEL_ERRORS.refusal)
    expect((await c.stored()).map(({ role, content, status }) => ({ role, content, status }))).toEqual([
      { role: 'user', content: 'Something the classifiers decline.', status: 'failed' },
    ])
    expect(await modelUsageRows(t)).toEqual([expect.objectContaining({ model, chat: 'general', succeeded: false })])
    // The operator learns the category, never the text.
    expect(warned()).toEqual([`Model "${model}" declined a request (stop_reason refusal, category cyber)`])
  })

  test.each(CHATS)('after some text streamed (%s chat): the streamed text is not kept, and the next turn works', async (chat) => {
    const warned = captureConsole('warn')
    useModels(model)
    const t = setupBackend()
    const c = await openChat(t, chat)
    server().reply({ kind: 'refusal', textBefore: 'Here is how you could', chunkIntervalMs: 5 })
    expect(await convexErrorOf(c.send('Tell me how to do the thing.'))).toBe(MODEL_ERRORS.refusal)
    expect((await c.stored()).filter((message) => message.role === 'assistant')).toEqual([])
    const [row] = await modelUsageRows(t)
    expect(row).toMatchObject({ model, succeeded: false })
    expect(row.outputTokens).toBeGreaterThan(1)

    server().reply({ kind: 'text', text: 'Happy to talk about your research instead.' })
    expect((await c.send('Tell me how to do the thing.')).message).toBe('Happy to talk about your research instead.')
    expect(server().requests[1].body.messages).toEqual([{ role: 'user', content: 'Tell me how to do the thing.' }])
    expect(warned()).toEqual([`Model "${model}" declined a request (stop_reason refusal, category none)`])
  })

  test.each(CHATS)('%s chat: a refused message is never sent again; the rephrased one follows the earlier turns', async (chat) => {
    const warned = captureConsole('warn')
    useModels(model)
    const t = setupBackend()
    const c = await openChat(t, chat)
    await c.seed([
      { role: 'user', content: 'I work on evals.' },
      { role: 'assistant', content: 'What kind?' },
    ])
    server().reply({ kind: 'refusal', category: 'cyber' })
    expect(await convexErrorOf(c.send('REFUSED-TEXT how do I break in?'))).toBe(MODEL_ERRORS.refusal)
    server().reply({ kind: 'text', text: 'Capability evals, then. Tell me more.' })
    await c.send('Dangerous capability evals, mostly.')
    expect(server().requests[1].body.messages).toEqual([
      { role: 'user', content: 'I work on evals.' },
      { role: 'assistant', content: 'What kind?' },
      { role: 'user', content: 'Dangerous capability evals, mostly.' },
    ])
    // The refused message stays stored (marked failed), so nothing the user wrote is lost.
    expect((await c.stored()).map(({ content, status }) => ({ content, status }))).toEqual([
      { content: 'I work on evals.', status: undefined },
      { content: 'What kind?', status: undefined },
      { content: 'REFUSED-TEXT how do I break in?', status: 'failed' },
      { content: 'Dangerous capability evals, mostly.', status: undefined },
      { content: 'Capability evals, then. Tell me more.', status: undefined },
    ])
    expect(warned()).toEqual([`Model "${model}" declined a request (stop_reason refusal, category cyber)`])
  })

  test('in extraction: a plain failure, the profile untouched, usage recorded', async () => {
    const warned = captureConsole('warn')
    useModels(model)
    const t = setupBackend()
    const { as, profileId } = await makeUser(t, { skills: ['Python'] })
    const before = await snapshotTables(t)
    server().reply({ kind: 'refusal' })
    expect(
      await convexErrorOf(as.action(api.enrichment.extraction.extractFromConversation, { profileId, messages: [{ role: 'user', content: 'I use Python.' }] })),
    ).toBe(MODEL_ERRORS.extractionRefusal)
    const after = await snapshotTables(t)
    expect(after.profiles).toEqual(before.profiles)
    expect(await modelUsageRows(t)).toEqual([expect.objectContaining({ model, chat: 'extraction', succeeded: false })])
    expect(warned()).toEqual([`Model "${model}" declined a request (stop_reason refusal, category none)`])
  })
})

test('a refusal on an always-thinking model after thinking: no thinking or text is kept', async () => {
  const warned = captureConsole('warn')
  useModels(OPUS_5_5)
  const t = setupBackend()
  const c = await openChat(t, 'debrief')
  server().reply({ kind: 'refusal', thinking: SECRET, textBefore: 'Partly written' })
  expect(await convexErrorOf(c.send('Hmm.'))).toBe(MODEL_ERRORS.refusal)
  expect((await c.stored()).map((message) => message.role)).toEqual(['user'])
  expect(warned()).toEqual([`Model "${OPUS_5_5}" declined a request (stop_reason refusal, category none)`])
})

// ---------------------------------------------------------------------------------------------
// A model that is gone

describe('a retired or mistyped model id (404 not_found_error)', () => {
  test.each(CHATS)('%s chat: a plain "unavailable" message, one request, and the operator told what to change', async (chat) => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {})
    const warned = captureConsole('warn')
    useModels(RETIRED, HAIKU_4_5)
    const t = setupBackend()
    const c = await openChat(t, chat)
    expect(await convexErrorOf(c.send('Hello?'))).toBe(MODEL_ERRORS.unavailable)
    expect(server().requests).toHaveLength(1) // never retried
    expect(server().requests[0].body.model).toBe(RETIRED)
    expect((await c.stored()).map((message) => message.role)).toEqual(['user'])
    const operatorLog = logged.mock.calls.map((call) => call.join(' ')).join('\n')
    expect(operatorLog).toContain(RETIRED)
    expect(operatorLog).toContain('MODEL_CHAT')
    expectOnlyUnknownModelWarnings(warned())
  })

  test('extraction: the same message, the profile untouched, the log names MODEL_EXTRACTION', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {})
    const warned = captureConsole('warn')
    useModels(HAIKU_4_5, 'claude-haiku-4-5-typo')
    const t = setupBackend()
    const { as, profileId } = await makeUser(t)
    const before = await snapshotTables(t)
    expect(
      await convexErrorOf(as.action(api.enrichment.extraction.extractFromConversation, { profileId, messages: [{ role: 'user', content: 'Hi' }] })),
    ).toBe(MODEL_ERRORS.unavailable)
    expect(server().requests).toHaveLength(1)
    expect((await snapshotTables(t)).profiles).toEqual(before.profiles)
    const operatorLog = logged.mock.calls.map((call) => call.join(' ')).join('\n')
    expect(operatorLog).toContain('claude-haiku-4-5-typo')
    expect(operatorLog).toContain('MODEL_EXTRACTION')
    expectOnlyUnknownModelWarnings(warned())
  })
})

/**
 * A retired or mistyped id may also draw the one-time "not in convex/ai/models.ts" warning (only
 * on its first use in this file) and the SDK's own end-of-life warning; nothing else.
 */
function expectOnlyUnknownModelWarnings(lines: string[]) {
  for (const line of lines) expect(line).toMatch(/is not in convex\/ai\/models\.ts|is deprecated and will reach end-of-life/)
}

// ---------------------------------------------------------------------------------------------
// Extraction on each model

const UPDATES = { skills_mentioned: ['PyTorch', 'pytorch', ' Evals '], career_interests: ['Interpretability'], seeking: '  A mentor  ' }
const ADDED = { skills_mentioned: ['PyTorch', 'Evals'], career_interests: ['Interpretability'], seeking: 'A mentor' }
// openChat's profile already holds Python: whole values come back, and the new parts in `added`.
const CLEANED = { ...ADDED, skills_mentioned: ['Python', 'PyTorch', 'Evals'], added: ADDED }
const EXTRACTION_TEXT_TOKENS = Math.ceil(EXTRACTION_MAX_TOKENS * 1.3)

describe.each([
  [HAIKU_4_5, { max_tokens: EXTRACTION_MAX_TOKENS, forced: true }],
  [HAIKU_5_5, { max_tokens: EXTRACTION_TEXT_TOKENS, forced: true, thinking: { type: 'disabled' } }],
  [SONNET_5_5, { max_tokens: EXTRACTION_TEXT_TOKENS, forced: false, thinking: { type: 'between_tools' } }],
  [OPUS_5_5, { max_tokens: EXTRACTION_TEXT_TOKENS + THINKING_ROOM_TOKENS, forced: false, effort: 'low' }],
] as const)('extraction on %s', (model, expected) => {
  test.each(['client messages', 'a stored debrief'])('from %s: the same validated result, through a mechanism the model accepts', async (source) => {
    useModels(HAIKU_4_5, model)
    const t = setupBackend()
    const c = await openChat(t, 'debrief')
    await c.seed([
      { role: 'user', content: 'I built evals in PyTorch.' },
      { role: 'assistant', content: 'Great work.' },
    ])
    server().reply({ kind: 'tool', name: EXTRACTION_TOOL.name, input: UPDATES, thinking: SECRET })
    const args = source === 'a stored debrief'
      ? { profileId: c.profileId, actionId: c.actionId, messages: [] }
      : { profileId: c.profileId, messages: [{ role: 'user' as const, content: 'I built evals in PyTorch.' }] }
    expect(await c.as.action(api.enrichment.extraction.extractFromConversation, args)).toEqual(CLEANED)

    const { body } = server().requests[0]
    expect(body.model).toBe(model)
    expect(body.max_tokens).toBe(expected.max_tokens)
    expect(body.thinking).toEqual('thinking' in expected ? expected.thinking : undefined)
    expect(body.stream).toBeFalsy()
    expectAcceptedShape(body)
    if (expected.forced) {
      expect(body.tool_choice).toEqual({ type: 'tool', name: EXTRACTION_TOOL.name })
      expect(body.output_config).toBeUndefined()
    } else {
      expect(body.tools).toBeUndefined()
      expect(body.tool_choice).toBeUndefined()
      expect(body.output_config?.format).toEqual({
        type: 'json_schema',
        schema: { ...EXTRACTION_TOOL.input_schema, additionalProperties: false },
      })
      expect(body.output_config?.effort).toBe('effort' in expected ? expected.effort : undefined)
    }
    expect(await modelUsageRows(t)).toEqual([expect.objectContaining({ model, chat: 'extraction', succeeded: true })])
  })

  test('a malformed answer is a clear error, recorded as a failed call, with the profile untouched', async () => {
    useModels(HAIKU_4_5, model)
    const t = setupBackend()
    const { as, profileId } = await makeUser(t)
    const before = await snapshotTables(t)
    server().reply(
      expected.forced
        ? { kind: 'tool', name: EXTRACTION_TOOL.name, input: { skills_mentioned: 'PyTorch', career_interests: [] } }
        : { kind: 'text', text: '{"skills_mentioned": "PyTorch", "career_interests": [' },
    )
    const error = await convexErrorOf<string>(
      as.action(api.enrichment.extraction.extractFromConversation, { profileId, messages: [{ role: 'user', content: 'PyTorch' }] }),
    )
    expect(error).toMatch(/^The assistant's profile updates were malformed \(.+\)\. Please try again\.$/)
    expect((await snapshotTables(t)).profiles).toEqual(before.profiles)
    expect(await modelUsageRows(t)).toEqual([expect.objectContaining({ model, succeeded: false })])
  })
})

test('an empty structured answer is NO_EXTRACTION, as an answer without the tool call is', async () => {
  useModels(HAIKU_4_5, OPUS_5_5)
  const t = setupBackend()
  const { as, profileId } = await makeUser(t)
  server().reply({ kind: 'text', text: '' })
  expect(
    await convexErrorOf(as.action(api.enrichment.extraction.extractFromConversation, { profileId, messages: [{ role: 'user', content: 'Hi' }] })),
  ).toBe(NO_EXTRACTION)
})

test('callTool answers with the JSON text itself when it is not JSON, so validation can name the problem', async () => {
  useModels(HAIKU_4_5, SONNET_5_5)
  server().reply({ kind: 'text', text: 'not json at all' })
  const outcome = await callTool({ system: 's', messages: [{ role: 'user', content: 'x' }], tool: EXTRACTION_TOOL, maxTokens: 100 })
  expect(outcome).toMatchObject({ ok: true, value: 'not json at all', usage: { model: SONNET_5_5 } })
})
