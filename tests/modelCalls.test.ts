// The model layer's contract, driven against the local model server: what a call sends (no
// trailing assistant turn, every object of a structured-output schema closed) and what it
// reads back (only text blocks, the tool call by its name, what a failed call returns).
import { describe, expect, test } from 'vitest'
import { api } from '../convex/_generated/api'
import { callTool, generateReply, type ToolDefinition } from '../convex/ai/claude'
import { buildModelHistory } from '../convex/enrichment/history'
import { makeUser, openChat, setupBackend, useModelServer } from './support/backend'
import { captureConsole } from './support/consoleLog'

const server = useModelServer()

const CHAT = [{ role: 'user' as const, content: 'I wrote a Rust crate.' }]

describe('generateReply', () => {
  test('a conversation of assistant turns only is sent as no turns at all', async () => {
    server().reply({ kind: 'text', text: 'Hello.' })
    await generateReply({
      system: 'Be brief.',
      messages: [{ role: 'assistant', content: 'Hi!' }, { role: 'assistant', content: 'Still there?' }],
      stream: false,
    })
    expect(server().requests[0].body.messages).toEqual([])
  })

  test('a thinking model answering whole: only its text is the reply', async () => {
    const t = setupBackend()
    const c = await openChat(t, 'general')
    process.env.MODEL_CHAT = 'claude-opus-5-5'
    process.env.CHAT_STREAMING = 'off'
    server().reply({ kind: 'text', text: 'Tell me more.', thinking: 'They wrote a crate.' })
    expect((await c.send('Hi')).message).toBe('Tell me more.')
  })
})

describe('callTool', () => {
  const NESTED: ToolDefinition = {
    name: 'record',
    description: 'Record it.',
    input_schema: {
      type: 'object',
      properties: {
        entries: {
          type: 'array',
          items: { type: 'object', properties: { title: { type: 'string' }, tags: { type: 'array', items: { type: 'string' } } } },
        },
        owner: { type: 'object', properties: { name: { type: 'string' } } },
        count: { type: 'number' },
        // A tuple (an array of schemas) and a boolean schema are valid JSON Schema too.
        pair: { type: 'array', items: [{ type: 'object', properties: { a: { type: 'string' } } }, { type: 'string' }] },
        anything: { type: 'array', items: true },
      },
      required: ['entries'],
    },
  }

  test('structured outputs: every object, nested or in a list, is closed; the rest is sent as given', async () => {
    process.env.MODEL_EXTRACTION = 'claude-sonnet-5-5'
    server().reply({ kind: 'tool', name: 'record', input: { entries: [] } })
    const outcome = await callTool({ system: 'S', messages: CHAT, tool: NESTED, maxTokens: 100 })
    expect(outcome).toMatchObject({ ok: true, value: { entries: [] } })
    expect(server().requests[0].body.output_config?.format?.schema).toEqual({
      type: 'object',
      additionalProperties: false,
      properties: {
        entries: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            properties: { title: { type: 'string' }, tags: { type: 'array', items: { type: 'string' } } },
          },
        },
        owner: { type: 'object', additionalProperties: false, properties: { name: { type: 'string' } } },
        count: { type: 'number' },
        pair: {
          type: 'array',
          items: [{ type: 'object', additionalProperties: false, properties: { a: { type: 'string' } } }, { type: 'string' }],
        },
        anything: { type: 'array', items: true },
      },
      required: ['entries'],
    })
  })

  test('a forced tool call after a text block is still found by its name', async () => {
    server().reply({
      kind: 'content',
      content: [
        { type: 'text', text: 'Sure.' },
        { type: 'tool_use', id: 'toolu_1', name: 'record', input: { entries: ['found'] } },
      ],
    })
    const outcome = await callTool({ system: 'S', messages: CHAT, tool: NESTED, maxTokens: 100 })
    expect(outcome).toMatchObject({ ok: true, value: { entries: ['found'] } })
  })

  test('a thinking model answering JSON: the thinking is not part of the answer', async () => {
    process.env.MODEL_EXTRACTION = 'claude-opus-5-5'
    server().reply({ kind: 'tool', name: 'record', input: { entries: [] }, thinking: 'Hmm, nothing new.' })
    const outcome = await callTool({ system: 'S', messages: CHAT, tool: NESTED, maxTokens: 100 })
    expect(outcome).toMatchObject({ ok: true, value: { entries: [] } })
  })

  test('a failed call returns no partial text; a refusal says so', async () => {
    const logged = captureConsole('error')
    const warned = captureConsole('warn')
    server().reply({ kind: 'status', status: 400 }, { kind: 'refusal', textBefore: 'I will not' }, { kind: 'text', text: 'word '.repeat(200) })
    const failed = await callTool({ system: 'S', messages: CHAT, tool: NESTED, maxTokens: 100 })
    expect(failed).toMatchObject({ ok: false, partialText: '' })
    expect(failed).not.toHaveProperty('refused')
    const refused = await callTool({ system: 'S', messages: CHAT, tool: NESTED, maxTokens: 100 })
    expect(refused).toMatchObject({ ok: false, partialText: '', refused: true })
    const cut = await callTool({ system: 'S', messages: CHAT, tool: NESTED, maxTokens: 100 })
    expect(cut).toMatchObject({ ok: false, partialText: '' })
    expect(cut.ok ? undefined : cut.error.data).toBe("The assistant's answer was too long and got cut off. Please try again.")
    expect(logged()).toEqual([expect.stringContaining('Model request refused claude-haiku-4-5-20251001 400 ')])
    expect(warned()).toEqual(['Model "claude-haiku-4-5-20251001" declined a request (stop_reason refusal, category none)'])
  })
})

describe('extraction of nothing new', () => {
  test('items the profile already holds are offered as an empty list, not the whole list again', async () => {
    const t = setupBackend()
    const { as, profileId } = await makeUser(t, { skills: ['Python'], aiSafetyInterests: ['Evals'] })
    server().reply({ kind: 'tool', name: 'save_profile_updates', input: { skills_mentioned: ['python'], career_interests: ['Evals'] } })
    const result = await as.action(api.enrichment.extraction.extractFromConversation, { profileId, messages: CHAT })
    expect(result).toEqual({
      skills_mentioned: [],
      career_interests: [],
      added: { skills_mentioned: [], career_interests: [] },
    })
  })
})

describe('buildModelHistory', () => {
  test('a history with no user turn sends nothing', () => {
    expect(buildModelHistory([{ role: 'assistant', content: 'Hello!' }])).toEqual([])
  })
})
