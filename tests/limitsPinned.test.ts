// Every limit a person can reach, pinned at its number with the wording they see: the last
// value accepted and the first refused, with nothing written on a refusal. Numbers and
// messages are literals, so changing a limit means changing this file on purpose.
import { describe, expect, test } from 'vitest'
import { api, internal } from '../convex/_generated/api'
import type { Id } from '../convex/_generated/dataModel'
import {
  convexErrorOf,
  makeUser,
  openChat,
  setupBackend,
  signIn,
  snapshotTables,
  useModelServer,
  type Backend,
  type Chat,
} from './support/backend'

const server = useModelServer()

const TOO_LONG = 'Content too long to process'
const BROKEN = 'The text contains a broken character (half of an emoji or symbol). Remove it and try again.'

type Updates = Parameters<typeof tryUpdate>[1]

async function tryUpdate(t: Backend, updates: Record<string, unknown>) {
  const { as, profileId } = await makeUser(t, { name: 'Ada' })
  const before = await snapshotTables(t)
  const call = () => as.mutation(api.profiles.updateField, { profileId, updates: updates as never })
  return { as, profileId, before, call }
}

const text = (length: number, fill = 'a') => fill.repeat(length)
const many = (count: number, item: (index: number) => unknown) => Array.from({ length: count }, (_, i) => item(i))

/** [field, the longest accepted value, the shortest refused one, the refusal]. */
const PROFILE_LIMITS: [string, Updates, Updates, string][] = [
  ['name', { name: text(200) }, { name: text(201) }, TOO_LONG],
  ['pronouns', { pronouns: text(50) }, { pronouns: text(51) }, TOO_LONG],
  ['location', { location: text(200) }, { location: text(201) }, TOO_LONG],
  ['headline', { headline: text(500) }, { headline: text(501) }, TOO_LONG],
  ['careerGoals', { careerGoals: text(5000) }, { careerGoals: text(5001) }, TOO_LONG],
  ['seeking', { seeking: text(3000) }, { seeking: text(3001) }, TOO_LONG],
  ['enrichmentSummary', { enrichmentSummary: text(10000) }, { enrichmentSummary: text(10001) }, TOO_LONG],
  ['skills (100)', { skills: many(100, (i) => `s${i}`) }, { skills: many(101, (i) => `s${i}`) }, 'Too many skills: at most 100 are allowed'],
  ['a skill name', { skills: [text(100)] }, { skills: ['ok', text(101)] }, TOO_LONG],
  [
    'interests (50)',
    { aiSafetyInterests: many(50, (i) => `i${i}`) },
    { aiSafetyInterests: many(51, (i) => `i${i}`) },
    'Too many interests: at most 50 are allowed',
  ],
  ['an interest', { aiSafetyInterests: [text(200)] }, { aiSafetyInterests: ['ok', text(201)] }, TOO_LONG],
  [
    'education entries (20)',
    { education: many(20, (i) => ({ institution: `U${i}` })) },
    { education: many(21, (i) => ({ institution: `U${i}` })) },
    'Too many education entries: at most 20 are allowed',
  ],
  [
    'work history entries (30)',
    { workHistory: many(30, (i) => ({ organization: `O${i}`, title: 'T' })) },
    { workHistory: many(31, (i) => ({ organization: `O${i}`, title: 'T' })) },
    'Too many work history entries: at most 30 are allowed',
  ],
  ...(['institution', 'degree', 'field'] as const).map((key): [string, Updates, Updates, string] => [
    `an education entry's ${key}`,
    { education: [{ institution: 'U', [key]: text(200) }] },
    { education: [{ institution: 'U' }, { institution: 'V', [key]: text(201) }] },
    TOO_LONG,
  ]),
  ...(['organization', 'title', 'startDate', 'endDate'] as const).map((key): [string, Updates, Updates, string] => [
    `a work entry's ${key}`,
    { workHistory: [{ organization: 'O', title: 'T', [key]: text(200) }] },
    { workHistory: [{ organization: 'O', title: 'T' }, { organization: 'P', title: 'T', [key]: text(201) }] },
    TOO_LONG,
  ]),
  [
    "a work entry's description",
    { workHistory: [{ organization: 'O', title: 'T', description: text(3000) }] },
    { workHistory: [{ organization: 'O', title: 'T', description: text(3001) }] },
    TOO_LONG,
  ],
  ['half an emoji in a headline', { headline: '🙂' }, { headline: '\ud83d' }, BROKEN],
  ['half an emoji in a skill', { skills: ['🙂'] }, { skills: ['\ude42'] }, BROKEN],
]

describe.each(PROFILE_LIMITS)('profile limit: %s', (_field, accepted, refused, said) => {
  test('updateField accepts the longest and stores it as sent', async () => {
    const t = setupBackend()
    const { call, profileId } = await tryUpdate(t, accepted)
    expect(await call()).toEqual({ success: true })
    const stored = await t.run(async (ctx) => ctx.db.get('profiles', profileId))
    expect(stored).toMatchObject(accepted)
  })

  test('updateField refuses one more, naming the limit, and writes nothing', async () => {
    const t = setupBackend()
    const { call, before } = await tryUpdate(t, refused)
    expect(await convexErrorOf(call())).toBe(said)
    expect(await snapshotTables(t)).toEqual(before)
  })

  test('createProfile refuses it too, and creates nothing', async () => {
    const t = setupBackend()
    // Signed in, with no profile yet.
    const { as } = await signIn(t)
    const before = await snapshotTables(t)
    expect(await convexErrorOf(as.mutation(api.profiles.createProfile, refused as never))).toBe(said)
    expect(await snapshotTables(t)).toEqual(before)
    expect(await as.mutation(api.profiles.createProfile, accepted as never)).toBeTruthy()
  })
})

describe('applyExtraction keeps to the list caps', () => {
  test('a profile at 100 skills cannot accept a 101st, and is unchanged', async () => {
    const t = setupBackend()
    const { as, profileId } = await makeUser(t, { skills: many(100, (i) => `s${i}`) as string[] })
    const before = await snapshotTables(t)
    expect(await convexErrorOf(as.mutation(api.profiles.applyExtraction, { profileId, accepted: { skills_mentioned: ['New'] } }))).toBe(
      'Too many skills: at most 100 are allowed',
    )
    expect(await snapshotTables(t)).toEqual(before)
  })

  test('a profile at 50 interests cannot accept a 51st, and is unchanged', async () => {
    const t = setupBackend()
    const { as, profileId } = await makeUser(t, { aiSafetyInterests: many(50, (i) => `i${i}`) as string[] })
    const before = await snapshotTables(t)
    expect(
      await convexErrorOf(as.mutation(api.profiles.applyExtraction, { profileId, accepted: { career_interests: ['New'] } })),
    ).toBe('Too many interests: at most 50 are allowed')
    expect(await snapshotTables(t)).toEqual(before)
  })

  test('a profile with room accepts the new items after the ones it has', async () => {
    const t = setupBackend()
    const { as, profileId } = await makeUser(t, { skills: ['Python'], aiSafetyInterests: ['Evals'] })
    const updated = await as.mutation(api.profiles.applyExtraction, {
      profileId,
      accepted: { skills_mentioned: ['python', 'Rust'], career_interests: ['Interpretability'] },
    })
    expect(updated.skills).toEqual(['Python', 'Rust'])
    expect(updated.aiSafetyInterests).toEqual(['Evals', 'Interpretability'])
  })
})

describe('extraction offers no more than the list caps', () => {
  const TOOL = 'save_profile_updates'
  const CHAT = [{ role: 'user' as const, content: 'I know lots of things.' }]

  test('98 skills and five new offered: the whole list stops at 100, two are new', async () => {
    const t = setupBackend()
    const skills = many(98, (i) => `s${i}`) as string[]
    const { as, profileId } = await makeUser(t, { skills })
    server().reply({ kind: 'tool', name: TOOL, input: { skills_mentioned: ['A', 'B', 'C', 'D', 'E'], career_interests: [] } })
    const result = await as.action(api.enrichment.extraction.extractFromConversation, { profileId, messages: CHAT })
    expect(result.skills_mentioned).toEqual([...skills, 'A', 'B'])
    expect(result.added.skills_mentioned).toEqual(['A', 'B'])
  })

  test('49 interests and three new offered: the whole list stops at 50, one is new', async () => {
    const t = setupBackend()
    const interests = many(49, (i) => `i${i}`) as string[]
    const { as, profileId } = await makeUser(t, { aiSafetyInterests: interests })
    server().reply({ kind: 'tool', name: TOOL, input: { skills_mentioned: [], career_interests: ['X', 'Y', 'Z'] } })
    const result = await as.action(api.enrichment.extraction.extractFromConversation, { profileId, messages: CHAT })
    expect(result.career_interests).toEqual([...interests, 'X'])
    expect(result.added.career_interests).toEqual(['X'])
    // Nothing new for skills: offered as [], so the review screen offers nothing there.
    expect(result.skills_mentioned).toEqual([])
    expect(result.added.skills_mentioned).toEqual([])
  })

  test('the schema sent to the model names both lists as required lists of text', async () => {
    const t = setupBackend()
    const { as, profileId } = await makeUser(t)
    server().reply({ kind: 'tool', name: TOOL, input: { skills_mentioned: [], career_interests: [] } })
    await as.action(api.enrichment.extraction.extractFromConversation, { profileId, messages: CHAT })
    const [tool] = server().requests[0].body.tools!
    expect(tool.name).toBe(TOOL)
    expect(tool.input_schema).toEqual({
      type: 'object',
      properties: {
        skills_mentioned: { type: 'array', items: { type: 'string' }, description: 'Short names of skills the person showed or mentioned' },
        career_interests: { type: 'array', items: { type: 'string' }, description: 'Areas of AI safety the person is interested in' },
        career_goals: { type: 'string', description: 'Their career goals, in a sentence or two' },
        background_summary: { type: 'string', description: 'A short summary of their background' },
        seeking: { type: 'string', description: 'What role, collaboration or support they seek' },
      },
      required: ['skills_mentioned', 'career_interests'],
    })
  })
})

const CHATS: Chat[] = ['general', 'debrief']

describe.each(CHATS)('the %s chat message limits', (chat) => {
  test('5000 characters are sent; 5001 are refused before the model is called', async () => {
    const t = setupBackend()
    const c = await openChat(t, chat)
    const before = await snapshotTables(t)
    expect(await convexErrorOf(c.send(text(5001)))).toBe(TOO_LONG)
    expect(await snapshotTables(t)).toEqual(before)
    server().reply({ kind: 'text', text: 'Long one!' })
    expect((await c.send(text(5000))).message).toBe('Long one!')
    expect(server().requests).toHaveLength(1)
  })

  test.each(['', '   ', '\n\t '])('an empty or whitespace-only message (%j) is refused with "Message cannot be empty"', async (message) => {
    const t = setupBackend()
    const c = await openChat(t, chat)
    const before = await snapshotTables(t)
    expect(await convexErrorOf(c.send(message))).toBe('Message cannot be empty')
    expect(await snapshotTables(t)).toEqual(before)
    expect(server().requests).toHaveLength(0)
  })

  test('half an emoji is refused with the broken-character message', async () => {
    const t = setupBackend()
    const c = await openChat(t, chat)
    expect(await convexErrorOf(c.send('Hi \ud83d'))).toBe(BROKEN)
    expect(server().requests).toHaveLength(0)
  })
})

describe('generated career actions keep to their limits', () => {
  const action = (fields: Record<string, unknown> = {}) => ({
    type: 'replicate' as const,
    title: 'T',
    description: 'D',
    rationale: 'R',
    ...fields,
  })

  const CASES: [string, Record<string, unknown>, Record<string, unknown>, string][] = [
    ['title', { title: text(200) }, { title: text(201) }, TOO_LONG],
    ['description', { description: text(2000) }, { description: text(2001) }, TOO_LONG],
    ['rationale', { rationale: text(1000) }, { rationale: text(1001) }, TOO_LONG],
    ['profile basis entries', { profileBasis: many(10, (i) => `b${i}`) }, { profileBasis: many(11, (i) => `b${i}`) }, 'Too many profile basis entries: at most 10 are allowed'],
    ['a profile basis entry', { profileBasis: [text(200)] }, { profileBasis: [text(201)] }, TOO_LONG],
  ]

  test.each(CASES)('%s: the longest is saved, one more refused with nothing written', async (_, ok, tooMuch, said) => {
    const t = setupBackend()
    const { profileId } = await makeUser(t)
    const before = await snapshotTables(t)
    expect(
      await convexErrorOf(t.mutation(internal.careerActions.mutations.saveGeneratedActions, { profileId, actions: [action(tooMuch)] })),
    ).toBe(said)
    expect(await snapshotTables(t)).toEqual(before)
    expect(
      await t.mutation(internal.careerActions.mutations.saveGeneratedActions, { profileId, actions: [action(ok)] }),
    ).toEqual({ savedCount: 1 })
  })

  test('50 actions are saved in one generation; 51 are refused', async () => {
    const t = setupBackend()
    const { profileId } = await makeUser(t)
    const save = (count: number) =>
      t.mutation(internal.careerActions.mutations.saveGeneratedActions, { profileId, actions: many(count, () => action()) as never })
    expect(await convexErrorOf(save(51))).toBe('Too many actions: at most 50 per generation')
    expect(await save(50)).toEqual({ savedCount: 50 })
    const stored = await t.run(async (ctx) => ctx.db.query('careerActions').collect())
    expect(stored).toHaveLength(50)
    expect(stored.every((row) => row.modelVersion === 'claude-haiku-4-5-20251001' && row.status === 'active')).toBe(true)
  })

  test('a generation for a profile that is gone is refused', async () => {
    const t = setupBackend()
    const { profileId } = await makeUser(t)
    await t.run(async (ctx) => ctx.db.delete('profiles', profileId))
    expect(
      await convexErrorOf(
        t.mutation(internal.careerActions.mutations.saveGeneratedActions, { profileId: profileId as Id<'profiles'>, actions: [] }),
      ),
    ).toBe('Profile not found')
  })
})
