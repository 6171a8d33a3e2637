// A message with no visible character is empty: refused like an empty one in both chats and
// in extraction, before any rate-limit token or model call, and nothing is stored.
import { describe, expect, test } from 'vitest'
import { api } from '../convex/_generated/api'
import { NOTHING_TO_EXTRACT } from '../convex/enrichment/extraction'
import {
  type Backend,
  type Chat,
  convexErrorOf,
  makeAction,
  makeUser,
  openChat,
  rateLimiterRows,
  seedMessages,
  setupBackend,
  snapshotTables,
  useModelServer,
} from './support/backend'

const server = useModelServer()

const EMPTY = 'Message cannot be empty'
const TOOL = 'save_profile_updates'

/** Messages a person sees as nothing at all (each alone, and mixed with ordinary white space). */
const INVISIBLE: Record<string, string> = {
  'zero-width space U+200B': '\u200B',
  'word joiner U+2060': '\u2060',
  'byte order mark U+FEFF': '\uFEFF',
  'zero-width non-joiner and joiner': '\u200C\u200D',
  'soft hyphen U+00AD': '\u00AD',
  'left-to-right and right-to-left marks': '\u200E\u200F',
  'bidi embedding and isolate controls': '\u202A\u202C\u2066\u2069',
  'invisible operators U+2061-U+2064': '\u2061\u2062\u2063\u2064',
  'Mongolian vowel separator U+180E': '\u180E',
  'variation selectors': '\uFE0F\uFE0E\u{E0100}',
  'combining grapheme joiner U+034F': '\u034F',
  'a combining mark with nothing to sit on': '\u0301\u0308',
  'Hangul fillers': '\u3164\uFFA0\u115F\u1160',
  'blank Braille pattern U+2800': '\u2800',
  'tag characters': '\u{E0041}\u{E0042}\u{E007F}',
  'no-break, ideographic and other spaces': '\u00A0\u3000\u2007\u202F',
  'many of them between spaces and newlines': ' \u200B\n\u2060\t\uFEFF \u200D\u2800 ',
}

/** Texts with something to see, however many invisible characters surround it. */
const VISIBLE = ['\u200Bok\u200B', 'e\u0301', '👍\uFE0F', '\u2060—\u2060', '\u3164가']

const CHATS: Chat[] = ['general', 'debrief']

async function everythingStored(t: Backend) {
  return { tables: await snapshotTables(t), limits: await rateLimiterRows(t) }
}

describe.each(CHATS)('a %s chat message with nothing visible', (chat) => {
  test.each(Object.entries(INVISIBLE))('%s: "Message cannot be empty", no token, no model call, nothing stored', async (_name, message) => {
    const t = setupBackend()
    const c = await openChat(t, chat)
    const before = await everythingStored(t)
    expect(await convexErrorOf(c.send(message))).toBe(EMPTY)
    expect(await convexErrorOf(c.send(message, { liveReply: 'deltas' }))).toBe(EMPTY)
    expect(await everythingStored(t)).toEqual(before)
    expect(server().requests).toHaveLength(0)
  })

  test.each(VISIBLE)('%j has something to see: sent', async (message) => {
    const t = setupBackend()
    const c = await openChat(t, chat)
    server().reply({ kind: 'text', text: 'Tell me more.' })
    expect((await c.send(message)).message).toBe('Tell me more.')
    expect((await c.stored()).map(({ role, content }) => [role, content])).toEqual([
      ['user', message],
      ['assistant', 'Tell me more.'],
    ])
  })
})

describe('extraction from messages with nothing visible', () => {
  const extract = api.enrichment.extraction.extractFromConversation

  test.each(Object.entries(INVISIBLE))('%s from the client: nothing to extract, no token, no model call', async (_name, message) => {
    const t = setupBackend()
    const { as, profileId } = await makeUser(t, { name: 'Ada' })
    const before = await everythingStored(t)
    const messages = [
      { role: 'assistant' as const, content: 'What did you learn?' },
      { role: 'user' as const, content: message },
    ]
    expect(await convexErrorOf(as.action(extract, { profileId, messages }))).toBe(NOTHING_TO_EXTRACT)
    expect(await everythingStored(t)).toEqual(before)
    expect(server().requests).toHaveLength(0)
  })

  test('a stored debrief whose only user message is invisible: nothing to extract, no model call', async () => {
    const t = setupBackend()
    const { as, profileId } = await makeUser(t, { name: 'Ada' })
    const actionId = await makeAction(t, profileId, { status: 'done', completedAt: 5 })
    await seedMessages(t, profileId, [
      { role: 'user', content: '\u200B\u2060', actionId },
      { role: 'assistant', content: 'What did you learn?', actionId },
    ])
    const before = await everythingStored(t)
    expect(await convexErrorOf(as.action(extract, { profileId, actionId, messages: [] }))).toBe(NOTHING_TO_EXTRACT)
    expect(await everythingStored(t)).toEqual(before)
    expect(server().requests).toHaveLength(0)
  })

  test('one visible user message among invisible ones is extracted from', async () => {
    const t = setupBackend()
    const { as, profileId } = await makeUser(t, { name: 'Ada' })
    server().reply({ kind: 'tool', name: TOOL, input: { skills_mentioned: ['Rust'], career_interests: [] } })
    const result = await as.action(extract, {
      profileId,
      messages: [
        { role: 'user', content: '\u200B' },
        { role: 'user', content: '\u2060I write Rust.' },
      ],
    })
    expect(result.skills_mentioned).toEqual(['Rust'])
  })
})

describe('a model reply with nothing visible is an empty reply', () => {
  test('a reply of zero-width characters: "an empty reply", nothing kept as a bubble', async () => {
    const t = setupBackend()
    const c = await openChat(t, 'general')
    server().reply({ kind: 'text', text: '\u200B\u2060\uFEFF' })
    expect(await convexErrorOf(c.send('Hello'))).toBe("The assistant sent an empty reply. Please try again.")
    expect((await c.stored()).map(({ role }) => role)).toEqual(['user'])
  })
})

describe('other texts that must hold something', () => {
  test('extracted items and texts with nothing visible are not new: the result adds nothing', async () => {
    const t = setupBackend()
    const { as, profileId } = await makeUser(t, { name: 'Ada', skills: ['Python'], careerGoals: 'Evals.' })
    server().reply({
      kind: 'tool',
      name: TOOL,
      input: { skills_mentioned: ['\u200B', '\u2060\uFEFF', 'Rust'], career_interests: ['\u2800'], career_goals: '\u200B\u200D' },
    })
    const result = await as.action(api.enrichment.extraction.extractFromConversation, {
      profileId,
      messages: [{ role: 'user', content: 'I write Rust.' }],
    })
    expect(result.skills_mentioned).toEqual(['Python', 'Rust'])
    expect(result.career_interests).toEqual([])
    expect(result.career_goals).toBeUndefined()
  })

  test('a profile field with nothing visible is left out of the prompt, like an empty one', async () => {
    const t = setupBackend()
    const { as, profileId } = await makeUser(t, { name: '\u200B', headline: '\u2060\u3164', careerGoals: 'Evals.', enrichmentSummary: '\uFE0F' })
    server().reply({ kind: 'text', text: 'Hello!' })
    await as.action(api.enrichment.conversation.sendMessage, { profileId, message: 'Hi' })
    expect(server().requests[0].body.system).toContain('<profile_data>\nCareer goals: Evals.\n</profile_data>')
  })
})
