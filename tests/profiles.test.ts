import type { FunctionArgs } from 'convex/server'
import { describe, expect, test } from 'vitest'
import { api } from '../convex/_generated/api'
import type { Doc, Id } from '../convex/_generated/dataModel'
import { FIELD_LIMITS, LIST_LIMITS } from '../convex/lib/limits'
import { type Backend, expectConvexError, makeProfile, makeUser, setupBackend, signIn, snapshotTables } from './support/backend'

const TOO_LONG = 'Content too long to process'

/** The call fails with a ConvexError whose data is exactly `message`. */
async function profileDoc(t: Backend, profileId: Id<'profiles'>) {
  return await t.run(async (ctx) => ctx.db.get('profiles', profileId))
}

const FULL_PROFILE = {
  name: 'Ada Lovelace',
  pronouns: 'she/her',
  location: 'London',
  headline: 'Analyst of engines',
  education: [{ institution: 'Home tutoring', degree: 'None', field: 'Mathematics' }],
  workHistory: [{ organization: 'Analytical Engine Co', title: 'Programmer', description: 'Notes' }],
  skills: ['Mathematics', 'Programming'],
  careerGoals: 'Work on AI safety',
  aiSafetyInterests: ['Interpretability'],
  seeking: 'A research role',
  enrichmentSummary: 'Early computing pioneer',
  hasEnrichmentConversation: false,
}

describe('getMyProfile', () => {
  test('is null when signed out', async () => {
    const t = setupBackend()
    await makeUser(t, { name: 'Someone' })
    expect(await t.query(api.profiles.getMyProfile, {})).toBeNull()
  })

  test('is null when signed in without a profile', async () => {
    const t = setupBackend()
    await makeUser(t, { name: 'Someone else' })
    const { as } = await signIn(t)
    expect(await as.query(api.profiles.getMyProfile, {})).toBeNull()
  })

  test('returns the caller’s own profile document', async () => {
    const t = setupBackend()
    await makeUser(t, { name: 'Stranger' })
    const { as, profileId, userId } = await makeUser(t, { name: 'Ada', skills: ['Maths'] })
    const profile = await as.query(api.profiles.getMyProfile, {})
    expect(profile).toEqual(await profileDoc(t, profileId))
    expect(profile).toMatchObject({ _id: profileId, userId, name: 'Ada', skills: ['Maths'] })
  })
})

describe('createProfile', () => {
  test('creates the caller’s profile with createdAt and updatedAt', async () => {
    const t = setupBackend()
    const { as, userId } = await signIn(t)
    const before = Date.now()
    const profileId = await as.mutation(api.profiles.createProfile, FULL_PROFILE)
    const after = Date.now()
    const profile = await profileDoc(t, profileId)
    expect(profile).toMatchObject({ ...FULL_PROFILE, userId })
    expect(profile!.createdAt).toBeGreaterThanOrEqual(before)
    expect(profile!.createdAt).toBeLessThanOrEqual(after)
    expect(profile!.updatedAt).toBe(profile!.createdAt)
    expect(await as.query(api.profiles.getMyProfile, {})).toEqual(profile)
  })

  test('a second profile for the same user is refused', async () => {
    const t = setupBackend()
    const { as } = await signIn(t)
    await as.mutation(api.profiles.createProfile, { name: 'First' })
    const snapshot = await snapshotTables(t)
    await expectConvexError(as.mutation(api.profiles.createProfile, { name: 'Second' }), 'You already have a profile')
    expect(await snapshotTables(t)).toEqual(snapshot)
    expect(snapshot.profiles).toHaveLength(1)
  })

  test('signed out is refused', async () => {
    const t = setupBackend()
    await expectConvexError(t.mutation(api.profiles.createProfile, { name: 'Ada' }), 'Not authenticated')
    expect((await snapshotTables(t)).profiles).toEqual([])
  })

  test('a too-long name is refused and nothing is written', async () => {
    const t = setupBackend()
    const { as } = await signIn(t)
    const snapshot = await snapshotTables(t)
    await expectConvexError(
      as.mutation(api.profiles.createProfile, { name: 'x'.repeat(FIELD_LIMITS.name + 1) }),
      TOO_LONG,
    )
    expect(await snapshotTables(t)).toEqual(snapshot)
    expect(await as.query(api.profiles.getMyProfile, {})).toBeNull()
  })
})

type Updates = FunctionArgs<typeof api.profiles.updateField>['updates']

describe('updateField', () => {
  const SEED = {
    name: 'Old name',
    pronouns: 'they/them',
    location: 'Old town',
    headline: 'Old headline',
    education: [{ institution: 'Old U' }],
    workHistory: [{ organization: 'Old Org', title: 'Old title' }],
    skills: ['Old skill'],
    careerGoals: 'Old goals',
    aiSafetyInterests: ['Old interest'],
    seeking: 'Old seeking',
    enrichmentSummary: 'Old summary',
    hasEnrichmentConversation: false,
  }

  const EACH_FIELD: [keyof typeof SEED, Updates][] = [
    ['name', { name: 'New name' }],
    ['pronouns', { pronouns: 'she/her' }],
    ['location', { location: 'Paris' }],
    ['headline', { headline: 'New headline' }],
    ['education', { education: [{ institution: 'MIT', degree: 'PhD', field: 'CS', startYear: 2010, endYear: 2015 }] }],
    [
      'workHistory',
      {
        workHistory: [
          { organization: 'Lab', title: 'Researcher', startDate: '2020', current: true, description: 'Evals' },
          { organization: 'Corp', title: 'Engineer', endDate: '2019' },
        ],
      },
    ],
    ['skills', { skills: ['Python', 'ML'] }],
    ['careerGoals', { careerGoals: 'New goals' }],
    ['aiSafetyInterests', { aiSafetyInterests: ['Evals', 'Governance'] }],
    ['seeking', { seeking: 'Mentorship' }],
    ['enrichmentSummary', { enrichmentSummary: 'New summary' }],
    ['hasEnrichmentConversation', { hasEnrichmentConversation: true }],
  ]

  test.each(EACH_FIELD)('updates %s alone, bumps updatedAt and leaves the rest unchanged', async (_field, updates) => {
    const t = setupBackend()
    const { as, profileId } = await makeUser(t, SEED)
    const before = await profileDoc(t, profileId)
    const startedAt = Date.now()
    const result = await as.mutation(api.profiles.updateField, { profileId, updates })
    expect(result).toStrictEqual({ success: true })
    const after = await profileDoc(t, profileId)
    expect(after!.updatedAt).toBeGreaterThanOrEqual(startedAt)
    expect(after).toEqual({ ...before, ...updates, updatedAt: after!.updatedAt })
  })

  test('several keys at once are all written and nothing else changes', async () => {
    const t = setupBackend()
    const { as, profileId } = await makeUser(t, SEED)
    const before = await profileDoc(t, profileId)
    const updates = { name: 'Grace', skills: [], careerGoals: '' }
    expect(await as.mutation(api.profiles.updateField, { profileId, updates })).toStrictEqual({ success: true })
    const after = await profileDoc(t, profileId)
    expect(after).toEqual({ ...before, ...updates, updatedAt: after!.updatedAt })
    expect(after!.updatedAt).toBeGreaterThan(1)
  })

  test('sets a field the profile did not have yet', async () => {
    const t = setupBackend()
    const { as, profileId } = await makeUser(t)
    await as.mutation(api.profiles.updateField, { profileId, updates: { headline: 'Hello' } })
    expect(await profileDoc(t, profileId)).toMatchObject({ headline: 'Hello' })
  })

  test('empty updates return success and change nothing, not even updatedAt', async () => {
    const t = setupBackend()
    const { as, profileId } = await makeUser(t, SEED)
    const snapshot = await snapshotTables(t)
    expect(await as.mutation(api.profiles.updateField, { profileId, updates: {} })).toStrictEqual({ success: true })
    expect(await snapshotTables(t)).toEqual(snapshot)
    expect((await profileDoc(t, profileId))!.updatedAt).toBe(1)
  })

  const LONG_TEXTS: [string, number, (text: string) => Updates][] = [
    ['name', FIELD_LIMITS.name, (s) => ({ name: s })],
    ['pronouns', FIELD_LIMITS.pronouns, (s) => ({ pronouns: s })],
    ['location', FIELD_LIMITS.location, (s) => ({ location: s })],
    ['headline', FIELD_LIMITS.headline, (s) => ({ headline: s })],
    ['careerGoals', FIELD_LIMITS.careerGoals, (s) => ({ careerGoals: s })],
    ['seeking', FIELD_LIMITS.seeking, (s) => ({ seeking: s })],
    ['enrichmentSummary', FIELD_LIMITS.enrichmentSummary, (s) => ({ enrichmentSummary: s })],
    [
      'workHistory[].description',
      FIELD_LIMITS.workDescription,
      (s) => ({ workHistory: [{ organization: 'Lab', title: 'Researcher', description: s }] }),
    ],
    ['skills[] (each skill)', FIELD_LIMITS.skillName, (s) => ({ skills: ['Python', s] })],
  ]

  test('the limits are the documented ones', () => {
    expect(FIELD_LIMITS).toMatchObject({
      name: 200,
      pronouns: 50,
      location: 200,
      headline: 500,
      careerGoals: 5000,
      seeking: 3000,
      enrichmentSummary: 10000,
      workDescription: 3000,
      skillName: 100,
    })
  })

  test.each(LONG_TEXTS)('%s over its limit (%i) is refused and the profile is unchanged', async (_f, limit, build) => {
    const t = setupBackend()
    const { as, profileId } = await makeUser(t, SEED)
    const before = await profileDoc(t, profileId)
    await expectConvexError(
      as.mutation(api.profiles.updateField, { profileId, updates: build('x'.repeat(limit + 1)) }),
      TOO_LONG,
    )
    expect(await profileDoc(t, profileId)).toEqual(before)
  })

  test.each(LONG_TEXTS)('%s at exactly its limit (%i) is accepted', async (_f, limit, build) => {
    const t = setupBackend()
    const { as, profileId } = await makeUser(t, SEED)
    const updates = build('x'.repeat(limit))
    expect(await as.mutation(api.profiles.updateField, { profileId, updates })).toStrictEqual({ success: true })
    expect(await profileDoc(t, profileId)).toMatchObject(updates)
  })

  test('a too-long field next to a valid one writes neither', async () => {
    const t = setupBackend()
    const { as, profileId } = await makeUser(t, SEED)
    const before = await profileDoc(t, profileId)
    await expectConvexError(
      as.mutation(api.profiles.updateField, {
        profileId,
        updates: { name: 'Fine', headline: 'x'.repeat(FIELD_LIMITS.headline + 1) },
      }),
      TOO_LONG,
    )
    expect(await profileDoc(t, profileId)).toEqual(before)
  })

  const LISTS: [keyof typeof LIST_LIMITS, string, (n: number) => Updates][] = [
    ['skills', 'skills', (n) => ({ skills: Array.from({ length: n }, (_, i) => `skill ${i}`) })],
    [
      'aiSafetyInterests',
      'interests',
      (n) => ({ aiSafetyInterests: Array.from({ length: n }, (_, i) => `interest ${i}`) }),
    ],
    [
      'education',
      'education entries',
      (n) => ({ education: Array.from({ length: n }, (_, i) => ({ institution: `School ${i}` })) }),
    ],
    [
      'workHistory',
      'work history entries',
      (n) => ({ workHistory: Array.from({ length: n }, (_, i) => ({ organization: `Org ${i}`, title: 'Role' })) }),
    ],
  ]

  test.each(LISTS)('%s longer than LIST_LIMITS is refused and the profile is unchanged', async (list, what, build) => {
    const t = setupBackend()
    const { as, profileId } = await makeUser(t, SEED)
    const before = await profileDoc(t, profileId)
    const limit = LIST_LIMITS[list]
    await expectConvexError(
      as.mutation(api.profiles.updateField, { profileId, updates: build(limit + 1) }),
      `Too many ${what}: at most ${limit} are allowed`,
    )
    expect(await profileDoc(t, profileId)).toEqual(before)
  })

  test.each(LISTS)('%s at exactly its LIST_LIMITS length is accepted', async (list, _what, build) => {
    const t = setupBackend()
    const { as, profileId } = await makeUser(t, SEED)
    const updates = build(LIST_LIMITS[list])
    expect(await as.mutation(api.profiles.updateField, { profileId, updates })).toStrictEqual({ success: true })
    expect((await profileDoc(t, profileId))![list]).toEqual(updates[list])
  })

  test('a stranger passing someone else’s profileId gets "Profile not found" and nothing changes', async () => {
    const t = setupBackend()
    const { profileId } = await makeUser(t, SEED)
    const stranger = await makeUser(t, { name: 'Stranger' })
    const snapshot = await snapshotTables(t)
    await expectConvexError(
      stranger.as.mutation(api.profiles.updateField, { profileId, updates: { name: 'Hijacked' } }),
      'Profile not found',
    )
    await expectConvexError(
      stranger.as.mutation(api.profiles.updateField, { profileId, updates: {} }),
      'Profile not found',
    )
    expect(await snapshotTables(t)).toEqual(snapshot)
  })

  test('a signed-in user without a profile cannot write someone else’s', async () => {
    const t = setupBackend()
    const { profileId } = await makeUser(t, SEED)
    const { as } = await signIn(t)
    const snapshot = await snapshotTables(t)
    await expectConvexError(
      as.mutation(api.profiles.updateField, { profileId, updates: { name: 'Hijacked' } }),
      'Profile not found',
    )
    expect(await snapshotTables(t)).toEqual(snapshot)
  })

  test('a deleted profile id gives "Profile not found"', async () => {
    const t = setupBackend()
    const { as, profileId } = await makeUser(t, SEED)
    await t.run(async (ctx) => ctx.db.delete('profiles', profileId))
    await expectConvexError(
      as.mutation(api.profiles.updateField, { profileId, updates: { name: 'Ghost' } }),
      'Profile not found',
    )
  })

  test('signed out is refused and nothing changes', async () => {
    const t = setupBackend()
    const { profileId } = await makeUser(t, SEED)
    const snapshot = await snapshotTables(t)
    await expectConvexError(
      t.mutation(api.profiles.updateField, { profileId, updates: { name: 'Anon' } }),
      'Not authenticated',
    )
    expect(await snapshotTables(t)).toEqual(snapshot)
  })
})

describe('applyExtraction', () => {
  const SEED = {
    name: 'Ada',
    skills: ['Python', 'Statistics'],
    aiSafetyInterests: ['Interpretability'],
    careerGoals: 'Old goals',
    enrichmentSummary: 'Old summary',
    seeking: 'Old seeking',
    headline: 'Keep me',
  }

  test('merges lists case-insensitively, appends new texts as a paragraph, returns the updated doc', async () => {
    const t = setupBackend()
    const { as, profileId } = await makeUser(t, SEED)
    const before = (await profileDoc(t, profileId)) as Doc<'profiles'>
    const returned = await as.mutation(api.profiles.applyExtraction, {
      profileId,
      accepted: {
        skills_mentioned: ['python', 'Rust', 'STATISTICS', '  rust ', 'Go'],
        career_interests: ['interpretability', 'Evals', 'evals'],
        career_goals: 'New goals',
        background_summary: 'New summary',
        seeking: 'New seeking',
      },
    })
    const after = await profileDoc(t, profileId)
    expect(returned).toEqual(after)
    expect(after).toEqual({
      ...before,
      skills: ['Python', 'Statistics', 'Rust', 'Go'],
      aiSafetyInterests: ['Interpretability', 'Evals'],
      careerGoals: 'Old goals\n\nNew goals',
      enrichmentSummary: 'Old summary\n\nNew summary',
      seeking: 'Old seeking\n\nNew seeking',
      updatedAt: after!.updatedAt,
    })
    expect(after!.updatedAt).toBeGreaterThan(before.updatedAt)
  })

  test('leaves fields that were not sent untouched', async () => {
    const t = setupBackend()
    const { as, profileId } = await makeUser(t, SEED)
    const before = (await profileDoc(t, profileId)) as Doc<'profiles'>
    const returned = await as.mutation(api.profiles.applyExtraction, {
      profileId,
      accepted: { skills_mentioned: ['Rust'] },
    })
    expect(returned).toEqual({ ...before, skills: ['Python', 'Statistics', 'Rust'], updatedAt: returned.updatedAt })
    expect(await profileDoc(t, profileId)).toEqual(returned)
  })

  test('a whole value (starting with the current text) replaces it; only careerGoals changes', async () => {
    const t = setupBackend()
    const { as, profileId } = await makeUser(t, SEED)
    const before = (await profileDoc(t, profileId)) as Doc<'profiles'>
    const returned = await as.mutation(api.profiles.applyExtraction, {
      profileId,
      accepted: { career_goals: 'Old goals, now with more detail' },
    })
    expect(returned).toEqual({ ...before, careerGoals: 'Old goals, now with more detail', updatedAt: returned.updatedAt })
  })

  test('accepting the whole values or only the new parts gives the same profile', async () => {
    const t = setupBackend()
    const whole = await makeUser(t, SEED)
    const parts = await makeUser(t, SEED)
    const added = {
      skills_mentioned: ['Rust'],
      career_interests: ['Evals'],
      career_goals: 'Lead a team.',
      background_summary: 'Built an eval suite.',
      seeking: 'A mentor.',
    }
    const wholeValues = {
      skills_mentioned: ['Python', 'Statistics', 'Rust'],
      career_interests: ['Interpretability', 'Evals'],
      career_goals: 'Old goals\n\nLead a team.',
      background_summary: 'Old summary\n\nBuilt an eval suite.',
      seeking: 'Old seeking\n\nA mentor.',
    }
    const fromWhole = await whole.as.mutation(api.profiles.applyExtraction, { profileId: whole.profileId, accepted: wholeValues })
    const fromParts = await parts.as.mutation(api.profiles.applyExtraction, { profileId: parts.profileId, accepted: added })
    const fields = (profile: Doc<'profiles'>) => ({
      skills: profile.skills,
      aiSafetyInterests: profile.aiSafetyInterests,
      careerGoals: profile.careerGoals,
      enrichmentSummary: profile.enrichmentSummary,
      seeking: profile.seeking,
    })
    expect(fields(fromWhole)).toEqual({
      skills: wholeValues.skills_mentioned,
      aiSafetyInterests: wholeValues.career_interests,
      careerGoals: wholeValues.career_goals,
      enrichmentSummary: wholeValues.background_summary,
      seeking: wholeValues.seeking,
    })
    expect(fields(fromParts)).toEqual(fields(fromWhole))
  })

  test('creates the lists on a profile that had none', async () => {
    const t = setupBackend()
    const { as, profileId } = await makeUser(t, { name: 'Empty' })
    const returned = await as.mutation(api.profiles.applyExtraction, {
      profileId,
      accepted: { skills_mentioned: ['Go', 'go', ''], career_interests: ['Evals'] },
    })
    expect(returned).toMatchObject({ skills: ['Go'], aiSafetyInterests: ['Evals'] })
  })

  test('nothing accepted returns the profile unchanged', async () => {
    const t = setupBackend()
    const { as, profileId } = await makeUser(t, SEED)
    const snapshot = await snapshotTables(t)
    const returned = await as.mutation(api.profiles.applyExtraction, { profileId, accepted: {} })
    expect(returned).toEqual(await profileDoc(t, profileId))
    expect(await snapshotTables(t)).toEqual(snapshot)
  })

  test.each([
    ['career_goals', { career_goals: 'x'.repeat(FIELD_LIMITS.careerGoals + 1) }],
    ['background_summary', { background_summary: 'x'.repeat(FIELD_LIMITS.enrichmentSummary + 1) }],
    ['seeking', { seeking: 'x'.repeat(FIELD_LIMITS.seeking + 1) }],
    ['skills_mentioned', { skills_mentioned: ['Rust', 'x'.repeat(FIELD_LIMITS.skillName + 1)] }],
  ])('too-long %s is refused and nothing is written', async (_field, accepted) => {
    const t = setupBackend()
    const { as, profileId } = await makeUser(t, SEED)
    const snapshot = await snapshotTables(t)
    await expectConvexError(
      as.mutation(api.profiles.applyExtraction, { profileId, accepted: { career_goals: 'Fine', ...accepted } }),
      TOO_LONG,
    )
    expect(await snapshotTables(t)).toEqual(snapshot)
  })

  test('a merge that would exceed the skills list limit is refused and nothing is written', async () => {
    const t = setupBackend()
    const existing = Array.from({ length: LIST_LIMITS.skills }, (_, i) => `skill ${i}`)
    const { as, profileId } = await makeUser(t, { skills: existing })
    const snapshot = await snapshotTables(t)
    await expectConvexError(
      as.mutation(api.profiles.applyExtraction, {
        profileId,
        accepted: { skills_mentioned: ['One more'], career_goals: 'Goals' },
      }),
      `Too many skills: at most ${LIST_LIMITS.skills} are allowed`,
    )
    expect(await snapshotTables(t)).toEqual(snapshot)
  })

  test('a stranger gets "Profile not found" and nothing changes', async () => {
    const t = setupBackend()
    const { profileId } = await makeUser(t, SEED)
    const stranger = await makeUser(t, { name: 'Stranger' })
    const snapshot = await snapshotTables(t)
    await expectConvexError(
      stranger.as.mutation(api.profiles.applyExtraction, {
        profileId,
        accepted: { skills_mentioned: ['Hacking'], career_goals: 'Hijack' },
      }),
      'Profile not found',
    )
    expect(await snapshotTables(t)).toEqual(snapshot)
  })

  test('signed out is refused and nothing changes', async () => {
    const t = setupBackend()
    const { profileId } = await makeUser(t, SEED)
    const snapshot = await snapshotTables(t)
    await expectConvexError(
      t.mutation(api.profiles.applyExtraction, { profileId, accepted: { career_goals: 'Anon' } }),
      'Not authenticated',
    )
    expect(await snapshotTables(t)).toEqual(snapshot)
  })
})

test('a profile whose owner never signed in is invisible to others', async () => {
  const t = setupBackend()
  const owner = await t.run(async (ctx) => ctx.db.insert('users', {}))
  const profileId = await makeProfile(t, owner, { name: 'Owner' })
  const { as } = await signIn(t)
  expect(await as.query(api.profiles.getMyProfile, {})).toBeNull()
  await expectConvexError(
    as.mutation(api.profiles.updateField, { profileId, updates: { name: 'x' } }),
    'Profile not found',
  )
})
