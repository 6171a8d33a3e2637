// Half characters: wherever text is cut, an emoji or any other character outside the Basic
// Multilingual Plane (two UTF-16 units) is kept whole or left out whole, so no request to the
// model and no stored value ever holds a lone surrogate. Input that already holds one is refused.
import { describe, expect, test } from 'vitest'
import { api } from '../convex/_generated/api'
import { PROFILE_CONTEXT_MAX_CHARS, WORK_DESCRIPTION_PROMPT_CHARS } from '../convex/enrichment/profileContext'
import { FIELD_LIMITS } from '../convex/lib/limits'
import { BROKEN_CHARACTER } from '../convex/lib/text'
import {
  expectConvexError,
  makeAction,
  makeUser,
  seedMessages,
  setupBackend,
  signIn,
  snapshotTables,
  useModelServer,
  type Backend,
} from './support/backend'
import { isWellFormedJson } from './support/modelServer'

const server = useModelServer()

const TOOL = 'save_profile_updates'
const extract = api.enrichment.extraction.extractFromConversation

/** Characters of two UTF-16 units each: emoji, a flag (two of them), math letters, CJK Extension B. */
const ASTRAL = ['😀', '🇺🇸', '𝔘', '𠀀', '🧠']

/** The one request the model server received, which must hold no half character. */
function onlyRequest() {
  expect(server().requests).toHaveLength(1)
  const [request] = server().requests
  expect(isWellFormedJson(request.body)).toBe(true)
  return request.body
}

async function chatTurn(t: Backend, profile: Parameters<typeof makeUser>[1]) {
  const { as, profileId } = await makeUser(t, profile)
  server().reply({ kind: 'text', text: 'Tell me more.' })
  const reply = await as.action(api.enrichment.conversation.sendMessage, { profileId, message: 'Hi' })
  expect(reply.message).toBe('Tell me more.')
  return onlyRequest().system!
}

describe('cuts in the prompt keep every character whole', () => {
  test.each(ASTRAL)('a work description cut at %s', async (char) => {
    const t = setupBackend()
    // The astral character straddles the cut: its first unit is the 600th.
    const description = 'a'.repeat(WORK_DESCRIPTION_PROMPT_CHARS - 1) + char.repeat(10)
    const system = await chatTurn(t, {
      workHistory: [{ organization: 'Lab', title: 'Engineer', description }],
    })
    expect(system).toContain(`- Engineer at Lab: ${'a'.repeat(WORK_DESCRIPTION_PROMPT_CHARS - 1)}…`)
  })

  test.each(ASTRAL.flatMap((char) => [0, 1].map((offset) => [char, offset] as const)))(
    'the profile cut to its bound through a background summary of %s (offset %i)',
    async (char, offset) => {
      const t = setupBackend()
      // Either parity of offset puts some cut inside a pair unless cuts respect characters.
      const summary = 'x'.repeat(offset) + char.repeat(FIELD_LIMITS.enrichmentSummary / 2 - 1)
      const system = await chatTurn(t, {
        name: 'Ada',
        skills: Array.from({ length: 100 }, (_, i) => `${char}skill ${i}`),
        enrichmentSummary: summary,
        careerGoals: char.repeat(1000),
      })
      const profile = system.slice(system.lastIndexOf('<profile_data>'))
      expect(profile).toContain(`Career goals: ${char.repeat(1000)}`)
      expect(profile.length).toBeLessThan(PROFILE_CONTEXT_MAX_CHARS + 40)
    },
  )

  test('a stored profile that already holds half a character is sent with U+FFFD in its place', async () => {
    const t = setupBackend()
    const system = await chatTurn(t, { name: 'Ada \ud83d', skills: ['\ude00Rust'], enrichmentSummary: 'Half \ud83d' })
    expect(system).toContain('Name: Ada \ufffd')
    expect(system).toContain('Skills: \ufffdRust')
    expect(system).toContain('Background summary: Half \ufffd')
  })

  test('stored chat messages with half a character are sent with U+FFFD in its place', async () => {
    const t = setupBackend()
    const { as, profileId } = await makeUser(t, { name: 'Ada' })
    await seedMessages(t, profileId, [
      { role: 'user', content: 'Old message \ud83d' },
      { role: 'assistant', content: 'Old reply' },
    ])
    server().reply({ kind: 'text', text: 'Tell me more.' })
    await as.action(api.enrichment.conversation.sendMessage, { profileId, message: 'New message' })
    expect(onlyRequest().messages[0]).toEqual({ role: 'user', content: 'Old message \ufffd' })
  })

  test('a stored debrief with half a character is extracted from with U+FFFD in its place', async () => {
    const t = setupBackend()
    const { as, profileId } = await makeUser(t, { name: 'Ada' })
    const actionId = await makeAction(t, profileId, { status: 'done', completedAt: 5, title: 'Ship \ud83d' })
    await seedMessages(t, profileId, [
      { role: 'user', content: 'I shipped it \ude00', actionId },
      { role: 'assistant', content: 'Well done!', actionId },
    ])
    server().reply({ kind: 'tool', name: TOOL, input: { skills_mentioned: [], career_interests: [] } })
    await as.action(extract, { profileId, actionId, messages: [] })
    expect(onlyRequest().messages[0].content).toContain('User: I shipped it \ufffd')
  })
})

describe('extraction results are cut at character boundaries, and can be stored', () => {
  test.each(ASTRAL)('every list item and text cut at %s', async (char) => {
    const t = setupBackend()
    const { as, profileId } = await makeUser(t, { name: 'Ada' })
    const straddling = (limit: number, fill: string) => fill.repeat(limit - 1) + char + 'tail'
    server().reply({
      kind: 'tool',
      name: TOOL,
      input: {
        skills_mentioned: [straddling(FIELD_LIMITS.skillName, 'k')],
        career_interests: [straddling(FIELD_LIMITS.interestName, 'i')],
        career_goals: straddling(FIELD_LIMITS.careerGoals, 'g'),
        background_summary: straddling(FIELD_LIMITS.enrichmentSummary, 'b'),
        seeking: straddling(FIELD_LIMITS.seeking, 's'),
      },
    })
    const result = await as.action(extract, {
      profileId,
      messages: [{ role: 'user', content: `I like ${char}` }],
    })
    onlyRequest()
    expect(isWellFormedJson(result)).toBe(true)
    expect(result).toMatchObject({
      skills_mentioned: ['k'.repeat(FIELD_LIMITS.skillName - 1)],
      career_interests: ['i'.repeat(FIELD_LIMITS.interestName - 1)],
      career_goals: 'g'.repeat(FIELD_LIMITS.careerGoals - 1),
      background_summary: 'b'.repeat(FIELD_LIMITS.enrichmentSummary - 1),
      seeking: 's'.repeat(FIELD_LIMITS.seeking - 1),
    })

    // The review screen writes what it got; it is accepted and stored whole.
    const { added, ...whole } = result
    expect(added.skills_mentioned).toEqual(whole.skills_mentioned)
    const stored = await as.mutation(api.profiles.applyExtraction, { profileId, accepted: whole })
    expect(isWellFormedJson(stored)).toBe(true)
    expect(stored).toMatchObject({
      skills: ['k'.repeat(FIELD_LIMITS.skillName - 1)],
      careerGoals: 'g'.repeat(FIELD_LIMITS.careerGoals - 1),
    })
  })

  test('an astral character that fits is kept whole', async () => {
    const t = setupBackend()
    const { as, profileId } = await makeUser(t, { name: 'Ada' })
    const skill = 'k'.repeat(FIELD_LIMITS.skillName - 2) + '🧠'
    server().reply({ kind: 'tool', name: TOOL, input: { skills_mentioned: [skill], career_interests: [] } })
    const result = await as.action(extract, { profileId, messages: [{ role: 'user', content: 'Hi' }] })
    expect(result.skills_mentioned).toEqual([skill])
  })
})

describe('input holding half a character is refused and nothing is written', () => {
  const HALVES = ['\ud83d', '\ude00', 'before \ud83d after', 'reversed \ude00\ud83d pair']

  test.each(HALVES)('a chat message %j', async (message) => {
    const t = setupBackend()
    const { as, profileId } = await makeUser(t, { name: 'Ada' })
    const actionId = await makeAction(t, profileId, { status: 'done', completedAt: 5 })
    const before = await snapshotTables(t)
    await expectConvexError(as.action(api.enrichment.conversation.sendMessage, { profileId, message }), BROKEN_CHARACTER)
    await expectConvexError(
      as.action(api.enrichment.conversation.sendCompletionMessage, { profileId, actionId, message }),
      BROKEN_CHARACTER,
    )
    await expectConvexError(
      as.action(extract, { profileId, messages: [{ role: 'user', content: message }] }),
      BROKEN_CHARACTER,
    )
    expect(await snapshotTables(t)).toEqual(before)
    expect(server().requests).toHaveLength(0)
  })

  const PROFILE_UPDATES: [string, (text: string) => Record<string, unknown>][] = [
    ['name', (text) => ({ name: text })],
    ['headline', (text) => ({ headline: text })],
    ['careerGoals', (text) => ({ careerGoals: text })],
    ['seeking', (text) => ({ seeking: text })],
    ['enrichmentSummary', (text) => ({ enrichmentSummary: text })],
    ['a skill', (text) => ({ skills: ['Python', text] })],
    ['an interest', (text) => ({ aiSafetyInterests: [text] })],
    ['an education entry', (text) => ({ education: [{ institution: text }] })],
    ['a work description', (text) => ({ workHistory: [{ organization: 'Lab', title: 'Eng', description: text }] })],
  ]

  test.each(PROFILE_UPDATES)('a profile update of %s', async (_field, build) => {
    const t = setupBackend()
    const { as, profileId } = await makeUser(t, { name: 'Ada' })
    const before = await snapshotTables(t)
    await expectConvexError(
      as.mutation(api.profiles.updateField, { profileId, updates: build('Half \ud83d') }),
      BROKEN_CHARACTER,
    )
    expect(await snapshotTables(t)).toEqual(before)
    // The same text with the whole character is fine.
    await as.mutation(api.profiles.updateField, { profileId, updates: build('Whole 😀') })
  })

  test('a new profile and an accepted extraction', async () => {
    const t = setupBackend()
    const { as, profileId } = await makeUser(t, { name: 'Ada' })
    const before = await snapshotTables(t)
    await expectConvexError(
      as.mutation(api.profiles.applyExtraction, { profileId, accepted: { career_goals: 'Goal \ude00' } }),
      BROKEN_CHARACTER,
    )
    await expectConvexError(
      as.mutation(api.profiles.applyExtraction, { profileId, accepted: { skills_mentioned: ['\ud83d'] } }),
      BROKEN_CHARACTER,
    )
    expect(await snapshotTables(t)).toEqual(before)

    const fresh = setupBackend()
    const newcomer = await signIn(fresh)
    await expectConvexError(newcomer.as.mutation(api.profiles.createProfile, { name: 'Eve \ud83d' }), BROKEN_CHARACTER)
    expect((await snapshotTables(fresh)).profiles).toEqual([])
  })
})
