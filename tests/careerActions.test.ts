import { afterEach, describe, expect, test, vi } from 'vitest'
import { api, internal } from '../convex/_generated/api'
import type { Doc, Id } from '../convex/_generated/dataModel'
import { MODEL_ID } from '../convex/ai/claude'
import {
  GENERATED_ACTION_LIMITS,
  MAX_GENERATED_ACTIONS,
  REPLACED_ACTIONS_PER_BATCH,
} from '../convex/careerActions/mutations'
import { TOO_LONG } from '../convex/lib/limits'
import {
  CONVEX_TRANSACTION_LIMITS,
  convexErrorOf,
  makeAction,
  makeUser,
  setupBackend,
  signIn,
  snapshotTables,
  type Backend,
  expectConvexError,
} from './support/backend'

type Status = Doc<'careerActions'>['status']
type ActionDoc = Doc<'careerActions'>

const STATUSES: Status[] = ['active', 'saved', 'dismissed', 'in_progress', 'done']

async function actionDoc(t: Backend, actionId: Id<'careerActions'>) {
  return await t.run(async (ctx) => ctx.db.get('careerActions', actionId))
}

/** Timestamps a realistic action in each status already carries. */
function seedFor(status: Status): Partial<ActionDoc> {
  switch (status) {
    case 'in_progress':
      return { status, startedAt: 10 }
    case 'done':
      return { status, startedAt: 10, completedAt: 20 }
    default:
      return { status }
  }
}

const MUTATIONS = {
  saveAction: api.careerActions.mutations.saveAction,
  dismissAction: api.careerActions.mutations.dismissAction,
  startAction: api.careerActions.mutations.startAction,
  completeAction: api.careerActions.mutations.completeAction,
  unsaveAction: api.careerActions.mutations.unsaveAction,
  cancelAction: api.careerActions.mutations.cancelAction,
  markCompletionStarted: api.careerActions.mutations.markCompletionStarted,
} as const
type MutationName = keyof typeof MUTATIONS

/**
 * The status table of docs/api.md. `expect` builds the document an allowed move must leave,
 * from the document before and the time the call started.
 */
const MOVES: Record<
  MutationName,
  { from: Status[]; expect: (before: ActionDoc, startedAt: number, after: ActionDoc) => ActionDoc }
> = {
  saveAction: { from: ['active'], expect: (b) => ({ ...b, status: 'saved' }) },
  dismissAction: { from: ['active', 'saved'], expect: (b) => ({ ...b, status: 'dismissed' }) },
  startAction: {
    from: ['active', 'saved'],
    expect: (b, t0, a) => {
      expect(a.startedAt).toBeGreaterThanOrEqual(t0)
      return { ...b, status: 'in_progress', startedAt: a.startedAt }
    },
  },
  completeAction: {
    from: ['in_progress'],
    expect: (b, t0, a) => {
      expect(a.completedAt).toBeGreaterThanOrEqual(t0)
      return { ...b, status: 'done', completedAt: a.completedAt }
    },
  },
  unsaveAction: { from: ['saved'], expect: (b) => ({ ...b, status: 'active' }) },
  cancelAction: {
    from: ['in_progress'],
    expect: (b, _t0, a) => {
      expect(a).not.toHaveProperty('startedAt')
      return { ...b, status: 'active', startedAt: undefined }
    },
  },
  markCompletionStarted: {
    from: ['done'],
    expect: (b) => ({ ...b, status: 'done', completionConversationStarted: true }),
  },
}

const VERBS: Record<Exclude<MutationName, 'markCompletionStarted'>, string> = {
  saveAction: 'save',
  dismissAction: 'dismiss',
  startAction: 'start',
  completeAction: 'complete',
  unsaveAction: 'unsave',
  cancelAction: 'cancel',
}

const TABLE = (Object.keys(MOVES) as MutationName[]).flatMap((name) =>
  STATUSES.map((status) => ({ name, status, allowed: MOVES[name].from.includes(status) })),
)

describe('status table', () => {
  test('covers every mutation from every status', () => {
    expect(TABLE).toHaveLength(7 * 5)
    expect(TABLE.filter((row) => row.allowed).map((row) => `${row.name}:${row.status}`)).toEqual([
      'saveAction:active',
      'dismissAction:active',
      'dismissAction:saved',
      'startAction:active',
      'startAction:saved',
      'completeAction:in_progress',
      'unsaveAction:saved',
      'cancelAction:in_progress',
      'markCompletionStarted:done',
    ])
  })

  test.each(TABLE.filter((row) => row.allowed))(
    '$name from $status is allowed and moves the action',
    async ({ name, status }) => {
      const t = setupBackend()
      const { as, profileId } = await makeUser(t)
      const actionId = await makeAction(t, profileId, seedFor(status))
      const other = await makeAction(t, profileId, seedFor(status))
      const before = (await actionDoc(t, actionId))!
      const otherBefore = await actionDoc(t, other)
      const startedAt = Date.now()
      expect(await as.mutation(MUTATIONS[name], { actionId })).toBeNull()
      const after = (await actionDoc(t, actionId))!
      expect(after).toEqual(MOVES[name].expect(before, startedAt, after))
      expect(await actionDoc(t, other)).toEqual(otherBefore)
    },
  )

  test.each(TABLE.filter((row) => !row.allowed))(
    '$name from $status is refused, naming both statuses, and changes nothing',
    async ({ name, status }) => {
      const t = setupBackend()
      const { as, profileId } = await makeUser(t)
      const actionId = await makeAction(t, profileId, seedFor(status))
      const snapshot = await snapshotTables(t)
      const message = await convexErrorOf<string>(as.mutation(MUTATIONS[name], { actionId }))
      if (name === 'markCompletionStarted') {
        expect(message).toBe(
          `Cannot start completion conversation for action with status "${status}" - must be "done"`,
        )
      } else {
        const expected = MOVES[name].from.map((s) => `"${s}"`).join(' or ')
        expect(message).toBe(`Cannot ${VERBS[name]} an action with status "${status}" - must be ${expected}`)
      }
      expect(await snapshotTables(t)).toEqual(snapshot)
    },
  )

  test('markCompletionStarted twice is harmless', async () => {
    const t = setupBackend()
    const { as, profileId } = await makeUser(t)
    const actionId = await makeAction(t, profileId, seedFor('done'))
    expect(await as.mutation(MUTATIONS.markCompletionStarted, { actionId })).toBeNull()
    const once = await actionDoc(t, actionId)
    expect(once).toMatchObject({ status: 'done', completionConversationStarted: true, completedAt: 20 })
    expect(await as.mutation(MUTATIONS.markCompletionStarted, { actionId })).toBeNull()
    expect(await actionDoc(t, actionId)).toEqual(once)
  })

  test('a whole journey: save, start, cancel, start, complete, debrief', async () => {
    const t = setupBackend()
    const { as, profileId } = await makeUser(t)
    const actionId = await makeAction(t, profileId)
    await as.mutation(MUTATIONS.saveAction, { actionId })
    await as.mutation(MUTATIONS.startAction, { actionId })
    expect((await actionDoc(t, actionId))!.startedAt).toEqual(expect.any(Number))
    await as.mutation(MUTATIONS.cancelAction, { actionId })
    const cancelled = (await actionDoc(t, actionId))!
    expect(cancelled.status).toBe('active')
    expect(cancelled).not.toHaveProperty('startedAt')
    await as.mutation(MUTATIONS.startAction, { actionId })
    await as.mutation(MUTATIONS.completeAction, { actionId })
    await as.mutation(MUTATIONS.markCompletionStarted, { actionId })
    expect(await actionDoc(t, actionId)).toMatchObject({
      status: 'done',
      startedAt: expect.any(Number),
      completedAt: expect.any(Number),
      completionConversationStarted: true,
    })
  })
})

describe.each(Object.keys(MUTATIONS) as MutationName[])('%s access', (name) => {
  const allowedFrom = MOVES[name].from[0]

  test('signed out is refused with "Not authenticated" and nothing changes', async () => {
    const t = setupBackend()
    const { profileId } = await makeUser(t)
    const actionId = await makeAction(t, profileId, seedFor(allowedFrom))
    const snapshot = await snapshotTables(t)
    await expectConvexError(t.mutation(MUTATIONS[name], { actionId }), 'Not authenticated')
    expect(await snapshotTables(t)).toEqual(snapshot)
  })

  test('a stranger with another user’s actionId gets "Career action not found" and nothing changes', async () => {
    const t = setupBackend()
    const { profileId } = await makeUser(t)
    const actionId = await makeAction(t, profileId, seedFor(allowedFrom))
    const stranger = await makeUser(t)
    await makeAction(t, stranger.profileId, seedFor(allowedFrom))
    const snapshot = await snapshotTables(t)
    await expectConvexError(stranger.as.mutation(MUTATIONS[name], { actionId }), 'Career action not found')
    expect(await snapshotTables(t)).toEqual(snapshot)
  })

  test('a signed-in user without a profile gets "Career action not found"', async () => {
    const t = setupBackend()
    const { profileId } = await makeUser(t)
    const actionId = await makeAction(t, profileId, seedFor(allowedFrom))
    const { as } = await signIn(t)
    const snapshot = await snapshotTables(t)
    await expectConvexError(as.mutation(MUTATIONS[name], { actionId }), 'Career action not found')
    expect(await snapshotTables(t)).toEqual(snapshot)
  })

  test('a deleted action gives "Career action not found"', async () => {
    const t = setupBackend()
    const { as, profileId } = await makeUser(t)
    const actionId = await makeAction(t, profileId, seedFor(allowedFrom))
    await t.run(async (ctx) => ctx.db.delete('careerActions', actionId))
    await expectConvexError(as.mutation(MUTATIONS[name], { actionId }), 'Career action not found')
  })

  test('the owner gets null back', async () => {
    const t = setupBackend()
    const { as, profileId } = await makeUser(t)
    const actionId = await makeAction(t, profileId, seedFor(allowedFrom))
    expect(await as.mutation(MUTATIONS[name], { actionId })).toBeNull()
  })
})

describe('getMyActions', () => {
  const ids = (docs: ActionDoc[]) => docs.map((d) => d._id).sort()

  test('is null when signed out', async () => {
    const t = setupBackend()
    const { profileId } = await makeUser(t)
    await makeAction(t, profileId)
    expect(await t.query(api.careerActions.queries.getMyActions, {})).toBeNull()
  })

  test('signed in without a profile gives empty lists and hasProfile false', async () => {
    const t = setupBackend()
    const { profileId } = await makeUser(t)
    await makeAction(t, profileId)
    const { as } = await signIn(t)
    expect(await as.query(api.careerActions.queries.getMyActions, {})).toStrictEqual({
      active: [],
      inProgress: [],
      saved: [],
      completed: [],
      hasProfile: false,
      profileId: null,
    })
  })

  test('with a profile and no actions, lists are empty and profileId is set', async () => {
    const t = setupBackend()
    const { as, profileId } = await makeUser(t)
    expect(await as.query(api.careerActions.queries.getMyActions, {})).toStrictEqual({
      active: [],
      inProgress: [],
      saved: [],
      completed: [],
      hasProfile: true,
      profileId,
    })
  })

  test('sorts every status into its list, skips dismissed, and shows nobody else’s', async () => {
    const t = setupBackend()
    const { as, profileId } = await makeUser(t)
    const stranger = await makeUser(t)
    for (const status of STATUSES) await makeAction(t, stranger.profileId, { ...seedFor(status), title: 'theirs' })

    const active = [await makeAction(t, profileId), await makeAction(t, profileId)]
    const saved = [await makeAction(t, profileId, { status: 'saved' })]
    const inProgress = [
      await makeAction(t, profileId, { status: 'in_progress', startedAt: 5 }),
      await makeAction(t, profileId, { status: 'in_progress', startedAt: 6 }),
    ]
    await makeAction(t, profileId, { status: 'dismissed' })
    await makeAction(t, profileId, { status: 'dismissed' })
    const doneOld = await makeAction(t, profileId, { status: 'done', completedAt: 100 })
    const doneNew = await makeAction(t, profileId, {
      status: 'done',
      completedAt: 300,
      completionConversationStarted: true,
    })
    const doneMid = await makeAction(t, profileId, { status: 'done', completedAt: 200 })

    const result = (await as.query(api.careerActions.queries.getMyActions, {}))!
    expect(result.hasProfile).toBe(true)
    expect(result.profileId).toBe(profileId)
    expect(ids(result.active)).toEqual([...active].sort())
    expect(ids(result.saved)).toEqual([...saved].sort())
    expect(ids(result.inProgress)).toEqual([...inProgress].sort())
    expect(result.completed.map((d) => d._id)).toEqual([doneNew, doneMid, doneOld])
    expect(result.completed.map((d) => d.completedAt)).toEqual([300, 200, 100])

    // Whole documents come back, including the debrief flag where it is set.
    expect(result.completed[0]).toEqual(await actionDoc(t, doneNew))
    expect(result.completed[0].completionConversationStarted).toBe(true)
    expect(result.completed[1]).not.toHaveProperty('completionConversationStarted')
    for (const doc of [...result.active, ...result.saved, ...result.inProgress, ...result.completed]) {
      expect(doc).toEqual(await actionDoc(t, doc._id))
      expect(doc.profileId).toBe(profileId)
      expect(doc.status).not.toBe('dismissed')
    }

    // The stranger sees only their own.
    const theirs = (await stranger.as.query(api.careerActions.queries.getMyActions, {}))!
    expect(theirs.profileId).toBe(stranger.profileId)
    for (const list of [theirs.active, theirs.saved, theirs.inProgress, theirs.completed]) {
      expect(list).toHaveLength(1)
      expect(list[0].title).toBe('theirs')
    }
  })

  test('reflects a move made through the mutations', async () => {
    const t = setupBackend()
    const { as, profileId } = await makeUser(t)
    const actionId = await makeAction(t, profileId, { status: 'in_progress', startedAt: 5 })
    await as.mutation(MUTATIONS.completeAction, { actionId })
    await as.mutation(MUTATIONS.markCompletionStarted, { actionId })
    const result = (await as.query(api.careerActions.queries.getMyActions, {}))!
    expect(result.inProgress).toEqual([])
    expect(result.completed).toHaveLength(1)
    expect(result.completed[0]).toMatchObject({ _id: actionId, status: 'done', completionConversationStarted: true })
  })
})

describe('saveGeneratedActions', () => {
  const generated = (n: number, prefix = 'New') =>
    Array.from({ length: n }, (_, i) => ({
      type: 'develop_skills' as const,
      title: `${prefix} action ${i}`,
      description: `Description ${i}`,
      rationale: `Rationale ${i}`,
      ...(i === 0 ? { profileBasis: ['skills'] } : {}),
    }))

  async function actionsOf(t: Backend, profileId: Id<'profiles'>) {
    return await t.run(async (ctx) =>
      ctx.db
        .query('careerActions')
        .withIndex('by_profile', (q) => q.eq('profileId', profileId))
        .collect(),
    )
  }

  test('replaces the active actions, keeps every other status, leaves other profiles alone', async () => {
    const t = setupBackend()
    const { profileId } = await makeUser(t)
    const other = await makeUser(t)
    const otherActive = await makeAction(t, other.profileId, { title: 'other active' })
    const otherBefore = await actionsOf(t, other.profileId)

    const oldActive = [await makeAction(t, profileId), await makeAction(t, profileId)]
    const kept = [] as Id<'careerActions'>[]
    for (const status of ['saved', 'in_progress', 'done', 'dismissed'] as const) {
      kept.push(await makeAction(t, profileId, seedFor(status)))
    }
    const keptBefore = await Promise.all(kept.map((id) => actionDoc(t, id)))

    const startedAt = Date.now()
    const result = await t.mutation(internal.careerActions.mutations.saveGeneratedActions, {
      profileId,
      actions: generated(3),
      modelVersion: 'model-under-test',
    })
    expect(result).toStrictEqual({ savedCount: 3 })

    for (const id of oldActive) expect(await actionDoc(t, id)).toBeNull()
    expect(await Promise.all(kept.map((id) => actionDoc(t, id)))).toEqual(keptBefore)

    const all = await actionsOf(t, profileId)
    const active = all.filter((a) => a.status === 'active')
    expect(all).toHaveLength(3 + kept.length)
    expect(active.map((a) => a.title)).toEqual(['New action 0', 'New action 1', 'New action 2'])
    const input = generated(3)
    active.forEach((action, i) => {
      expect(action).toEqual({
        _id: action._id,
        _creationTime: action._creationTime,
        ...input[i],
        profileId,
        status: 'active',
        generatedAt: action.generatedAt,
        modelVersion: 'model-under-test',
      })
      expect(action.generatedAt).toBeGreaterThanOrEqual(startedAt)
    })

    expect(await actionsOf(t, other.profileId)).toEqual(otherBefore)
    expect(await actionDoc(t, otherActive)).not.toBeNull()
  })

  test('the new actions are what the owner sees as active', async () => {
    const t = setupBackend()
    const { as, profileId } = await makeUser(t)
    await makeAction(t, profileId, { title: 'stale' })
    const savedId = await makeAction(t, profileId, { status: 'saved', title: 'kept' })
    await t.mutation(internal.careerActions.mutations.saveGeneratedActions, { profileId, actions: generated(2) })
    const result = (await as.query(api.careerActions.queries.getMyActions, {}))!
    expect(result.active.map((a) => a.title).sort()).toEqual(['New action 0', 'New action 1'])
    expect(result.saved.map((a) => a._id)).toEqual([savedId])
  })

  test('without modelVersion the current model id is recorded', async () => {
    const t = setupBackend()
    const { profileId } = await makeUser(t)
    await t.mutation(internal.careerActions.mutations.saveGeneratedActions, { profileId, actions: generated(1) })
    const [action] = await actionsOf(t, profileId)
    expect(action.modelVersion).toBe(MODEL_ID)
  })

  test('an empty generation clears the active actions and reports zero', async () => {
    const t = setupBackend()
    const { profileId } = await makeUser(t)
    await makeAction(t, profileId)
    const saved = await makeAction(t, profileId, { status: 'saved' })
    expect(
      await t.mutation(internal.careerActions.mutations.saveGeneratedActions, { profileId, actions: [] }),
    ).toStrictEqual({ savedCount: 0 })
    expect((await actionsOf(t, profileId)).map((a) => a._id)).toEqual([saved])
  })

  test('a generation twice keeps only the second set active', async () => {
    const t = setupBackend()
    const { profileId } = await makeUser(t)
    await t.mutation(internal.careerActions.mutations.saveGeneratedActions, { profileId, actions: generated(2, 'First') })
    await t.mutation(internal.careerActions.mutations.saveGeneratedActions, { profileId, actions: generated(2, 'Second') })
    expect((await actionsOf(t, profileId)).map((a) => a.title)).toEqual(['Second action 0', 'Second action 1'])
  })

  test('too many actions are refused and nothing changes', async () => {
    const t = setupBackend()
    const { profileId } = await makeUser(t)
    await makeAction(t, profileId)
    const snapshot = await snapshotTables(t)
    await expectConvexError(
      t.mutation(internal.careerActions.mutations.saveGeneratedActions, {
        profileId,
        actions: generated(MAX_GENERATED_ACTIONS + 1),
      }),
      `Too many actions: at most ${MAX_GENERATED_ACTIONS} per generation`,
    )
    expect(await snapshotTables(t)).toEqual(snapshot)
  })

  test('a missing profile is refused', async () => {
    const t = setupBackend()
    const { profileId } = await makeUser(t)
    await t.run(async (ctx) => ctx.db.delete('profiles', profileId))
    await expectConvexError(
      t.mutation(internal.careerActions.mutations.saveGeneratedActions, { profileId, actions: generated(1) }),
      'Profile not found',
    )
    expect((await snapshotTables(t)).careerActions).toEqual([])
  })

  describe('with any number of active actions (unsave and cancel make more)', () => {
    afterEach(() => {
      vi.useRealTimers()
    })

    /** `count` active actions, stored in batches a deployment would accept. */
    async function seedActive(t: Backend, profileId: Id<'profiles'>, count: number) {
      for (let done = 0; done < count; done += 2_000) {
        await t.run(async (ctx) => {
          for (let i = done; i < Math.min(count, done + 2_000); i++) {
            await ctx.db.insert('careerActions', {
              profileId,
              type: 'replicate',
              title: `Old ${i}`,
              description: 'Old',
              rationale: 'Old',
              status: 'active',
              generatedAt: 1,
              modelVersion: 'test',
            })
          }
        })
      }
    }

    test('10,000 active actions are replaced within Convex\'s transaction limits, others kept', async () => {
      vi.useFakeTimers()
      const t = setupBackend(undefined, CONVEX_TRANSACTION_LIMITS)
      const { as, profileId } = await makeUser(t)
      const saved = await makeAction(t, profileId, { status: 'saved', title: 'kept' })
      const other = await makeUser(t)
      const othersActive = await makeAction(t, other.profileId, { title: 'someone else' })
      await seedActive(t, profileId, 10_000)

      const result = await t.mutation(internal.careerActions.mutations.saveGeneratedActions, {
        profileId,
        actions: generated(3),
      })
      expect(result).toStrictEqual({ savedCount: 3 })
      // The new actions are there at once, first in the owner's list.
      const right = (await as.query(api.careerActions.queries.getMyActions, {}))!
      expect(right.active.slice(0, 3).map((a) => a.title).sort()).toEqual(['New action 0', 'New action 1', 'New action 2'])

      await t.finishAllScheduledFunctions(vi.runAllTimers)
      const all = await actionsOf(t, profileId)
      expect(all.filter((a) => a.status === 'active').map((a) => a.title)).toEqual([
        'New action 0',
        'New action 1',
        'New action 2',
      ])
      expect(all.map((a) => a._id)).toContain(saved)
      expect(await actionDoc(t, othersActive)).not.toBeNull()
      const after = (await as.query(api.careerActions.queries.getMyActions, {}))!
      expect(after.active.map((a) => a.title).sort()).toEqual(['New action 0', 'New action 1', 'New action 2'])
      expect(after.saved.map((a) => a._id)).toEqual([saved])
    }, 120_000)

    test('up to one batch of active actions is replaced in the one transaction', async () => {
      const t = setupBackend(undefined, CONVEX_TRANSACTION_LIMITS)
      const { profileId } = await makeUser(t)
      await seedActive(t, profileId, REPLACED_ACTIONS_PER_BATCH - 1)
      await t.mutation(internal.careerActions.mutations.saveGeneratedActions, { profileId, actions: generated(2) })
      // Nothing scheduled was run: the old ones are already gone.
      expect((await actionsOf(t, profileId)).map((a) => a.title)).toEqual(['New action 0', 'New action 1'])
    })

    test('an action unsaved after a batched replacement stays active', async () => {
      vi.useFakeTimers()
      const t = setupBackend(undefined, CONVEX_TRANSACTION_LIMITS)
      const { as, profileId } = await makeUser(t)
      await seedActive(t, profileId, REPLACED_ACTIONS_PER_BATCH * 2)
      await t.mutation(internal.careerActions.mutations.saveGeneratedActions, { profileId, actions: generated(1) })
      await t.finishAllScheduledFunctions(vi.runAllTimers)
      // After the replacement, unsaving an older saved action keeps it.
      const savedEarlier = await makeAction(t, profileId, { status: 'saved', title: 'saved earlier' })
      await as.mutation(api.careerActions.mutations.unsaveAction, { actionId: savedEarlier })
      const active = (await actionsOf(t, profileId)).filter((a) => a.status === 'active')
      expect(active.map((a) => a.title).sort()).toEqual(['New action 0', 'saved earlier'])
    })
  })

  test.each([
    ['title', { title: 'x'.repeat(GENERATED_ACTION_LIMITS.title + 1) }],
    ['description', { description: 'x'.repeat(GENERATED_ACTION_LIMITS.description + 1) }],
    ['rationale', { rationale: 'x'.repeat(GENERATED_ACTION_LIMITS.rationale + 1) }],
    ['a profileBasis entry', { profileBasis: ['x'.repeat(GENERATED_ACTION_LIMITS.profileBasisEntry + 1)] }],
  ])('a generated action with an over-long %s is refused and nothing changes', async (_field, override) => {
    const t = setupBackend()
    const { profileId } = await makeUser(t)
    await makeAction(t, profileId)
    const snapshot = await snapshotTables(t)
    const [first, second] = generated(2)
    await expectConvexError(
      t.mutation(internal.careerActions.mutations.saveGeneratedActions, {
        profileId,
        actions: [first, { ...second, ...override }],
      }),
      TOO_LONG,
    )
    expect(await snapshotTables(t)).toEqual(snapshot)
  })

  test('too many profileBasis entries are refused', async () => {
    const t = setupBackend()
    const { profileId } = await makeUser(t)
    const basis = Array.from({ length: GENERATED_ACTION_LIMITS.profileBasisEntries + 1 }, (_, i) => `basis ${i}`)
    const error = await convexErrorOf(
      t.mutation(internal.careerActions.mutations.saveGeneratedActions, {
        profileId,
        actions: [{ ...generated(1)[0], profileBasis: basis }],
      }),
    )
    expect(error).toMatch(/Too many profile basis entries/)
  })
})

test('getMyActions lists the newest 60 of a status, within half of a transaction read at the text limits', async () => {
  const t = setupBackend(undefined, { ...CONVEX_TRANSACTION_LIMITS, bytesRead: 4 * 1024 * 1024 })
  const { as, profileId } = await makeUser(t)
  // 70 of each listed status, each at the generated-action limits in 3-byte characters.
  const long = (n: number) => '€'.repeat(n)
  for (const status of ['active', 'saved', 'in_progress', 'done'] as const) {
    await t.run(async (ctx) => {
      for (let i = 0; i < 70; i++) {
        await ctx.db.insert('careerActions', {
          profileId, type: 'replicate', status, generatedAt: i, modelVersion: 'test',
          title: `${i} ${long(190)}`, description: long(2000), rationale: long(1000),
          profileBasis: Array.from({ length: 10 }, () => long(200)),
          ...(status === 'done' && { completedAt: i }),
        })
      }
    })
  }
  const result = (await as.query(api.careerActions.queries.getMyActions, {}))!
  for (const list of [result.active, result.saved, result.inProgress, result.completed]) {
    expect(list).toHaveLength(60)
  }
  // The newest are listed: completed newest first, down to the 11th created.
  expect(result.completed.map((action) => action.completedAt)).toEqual(
    Array.from({ length: 60 }, (_, i) => 69 - i),
  )
})
