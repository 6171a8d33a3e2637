// account.exportMyData and account.deleteMyData: a person's data as one file, or all of it
// gone; at 20,000 messages and 500 actions under Convex's transaction limits, with a second
// user of the same size who must come out untouched.
import type { TableNames } from '../convex/_generated/dataModel'
import { afterEach, describe, expect, test, vi } from 'vitest'
import { api, internal } from '../convex/_generated/api'
import type { Id } from '../convex/_generated/dataModel'
import { DELETION_STEPS } from '../convex/lib/account/deletion'
import { EXPORT_LINK_LIFETIME_MS, type ExportDocument } from '../convex/lib/account/exportFile'
import schema from '../convex/schema'
import {
  type Backend,
  CONVEX_TRANSACTION_LIMITS,
  convexErrorOf,
  convexModules,
  expectConvexError,
  makeAction,
  makeUser,
  rateLimiterRows,
  seedMessages,
  setupBackend,
  signIn,
  snapshotTables,
  useModelServer,
} from './support/backend'

const server = useModelServer()

afterEach(() => {
  vi.useRealTimers()
  vi.restoreAllMocks()
})

const NOT_AUTHENTICATED = 'Not authenticated'
const ISO_DATE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/

/** A backend that throws, as a deployment would, when a transaction passes Convex's limits. */
function limitedBackend() {
  return setupBackend(convexModules, CONVEX_TRANSACTION_LIMITS)
}

type Sizes = { messages: number; actions: number; doneActions: number; usage: number; refreshTokens: number }
const FULL_SIZE: Sizes = { messages: 20_000, actions: 500, doneActions: 100, usage: 1_000, refreshTokens: 300 }

type RunCtx = Parameters<Parameters<Backend['run']>[0]>[0]

/** Inserts `count` documents in several transactions, each well under the write limits. */
async function insertInChunks(
  t: Backend,
  count: number,
  insert: (ctx: RunCtx, index: number) => Promise<unknown>,
  chunk = 5_000,
) {
  for (let start = 0; start < count; start += chunk) {
    await t.run(async (ctx) => {
      for (let index = start; index < Math.min(count, start + chunk); index++) await insert(ctx, index)
    })
  }
}

/**
 * A signed-in user with a profile, actions (the first `doneActions` done, each with a
 * debrief), messages (half general, half spread over the debriefs), usage rows, and the
 * sign-in records @convex-dev/auth keeps: a password account with a verification code and
 * rate-limit rows, a second session with its refresh tokens and a verifier.
 */
async function seedUser(t: Backend, label: string, sizes: Sizes) {
  const user = await makeUser(t, { name: `${label} Lovelace`, skills: [`${label} skill`], careerGoals: `${label} goals` })
  const email = `${label.toLowerCase()}@example.com`
  const auth = await t.run(async (ctx) => {
    await ctx.db.patch('users', user.userId, { email })
    const accountId = await ctx.db.insert('authAccounts', {
      userId: user.userId, provider: 'password', providerAccountId: email, secret: 'hashed-secret',
    })
    await ctx.db.insert('authVerificationCodes', {
      accountId, provider: 'password', code: `${label}-code`, expirationTime: Date.now() + 60_000,
    })
    await ctx.db.insert('authRateLimits', { identifier: accountId, lastAttemptTime: 1, attemptsLeft: 9 })
    await ctx.db.insert('authRateLimits', { identifier: email, lastAttemptTime: 1, attemptsLeft: 9 })
    const sessionId = await ctx.db.insert('authSessions', { userId: user.userId, expirationTime: Date.now() + 86_400_000 })
    await ctx.db.insert('authVerifiers', { sessionId, signature: `${label}-signature` })
    return { accountId, sessionId }
  })
  await insertInChunks(t, sizes.refreshTokens, (ctx) =>
    ctx.db.insert('authRefreshTokens', { sessionId: auth.sessionId, expirationTime: Date.now() + 86_400_000 }),
  )
  const actionIds: Id<'careerActions'>[] = []
  await insertInChunks(t, sizes.actions, async (ctx, index) => {
    const done = index < sizes.doneActions
    actionIds.push(
      await ctx.db.insert('careerActions', {
        profileId: user.profileId,
        type: 'replicate',
        title: `${label} action ${index}`,
        description: `What ${label} would do for action ${index}.`,
        rationale: 'Builds skills.',
        status: done ? 'done' : 'active',
        generatedAt: 1_000 + index,
        ...(done && { startedAt: 2_000 + index, completedAt: 3_000 + index }),
        modelVersion: 'test',
      }),
    )
  })
  const general = sizes.messages / 2
  await insertInChunks(t, sizes.messages, (ctx, index) =>
    ctx.db.insert('enrichmentMessages', {
      profileId: user.profileId,
      role: index % 2 === 0 ? 'user' : 'assistant',
      content: `${label} message ${index}`,
      ...(index >= general && { actionId: actionIds[(index - general) % sizes.doneActions] }),
      createdAt: 10_000 + index,
    }),
  )
  await insertInChunks(t, sizes.usage, (ctx, index) =>
    ctx.db.insert('modelUsage', {
      userId: user.userId, profileId: user.profileId, chat: 'general', model: 'claude-haiku-4-5-20251001',
      inputTokens: 100 + index, outputTokens: 50, succeeded: true, createdAt: 50_000 + index,
    }),
  )
  // Strings that appear in every document naming this user, one way or another.
  const names = [user.userId, user.profileId, email, auth.accountId, auth.sessionId, `${label} `]
  return { ...user, ...auth, email, actionIds, names }
}

/**
 * For each group of needles, every document that contains one of them, as JSON, sorted: in
 * every table of the schema, the system tables (files, scheduled functions) and the rate
 * limiter's own table. Read page by page so no transaction passes the limits.
 */
async function documentsNamingEach<Group extends string>(
  t: Backend,
  groups: Record<Group, string[]>,
): Promise<Record<Group, string[]>> {
  const found = Object.fromEntries(Object.keys(groups).map((group) => [group, [] as string[]])) as Record<Group, string[]>
  const keep = (doc: unknown) => {
    const json = JSON.stringify(doc)
    for (const [group, needles] of Object.entries(groups) as [Group, string[]][]) {
      if (needles.some((needle) => json.includes(needle))) found[group].push(json)
    }
  }
  const readAll = async (
    readPage: (cursor: string | null) => Promise<{ page: unknown[]; isDone: boolean; continueCursor: string }>,
  ) => {
    let cursor: string | null = null
    for (;;) {
      const { page, isDone, continueCursor } = await readPage(cursor)
      page.forEach(keep)
      if (isDone) return
      cursor = continueCursor
    }
  }
  const pageOptions = (cursor: string | null) => ({ numItems: 4_000, cursor })
  for (const table of Object.keys(schema.tables) as TableNames[]) {
    await readAll((cursor) => t.run((ctx) => ctx.db.query(table).paginate(pageOptions(cursor))))
  }
  for (const table of ['_storage', '_scheduled_functions'] as const) {
    await readAll((cursor) => t.run((ctx) => ctx.db.system.query(table).paginate(pageOptions(cursor))))
  }
  for (const row of await rateLimiterRows(t)) keep(row)
  for (const documents of Object.values(found) as string[][]) documents.sort()
  return found
}

async function documentsNaming(t: Backend, needles: string[]): Promise<string[]> {
  return (await documentsNamingEach(t, { needles })).needles
}

async function rateLimitKeys(t: Backend): Promise<string[]> {
  return (await rateLimiterRows(t)).map((row) => `${row.name}:${row.key}`)
}

/** The caller's export file as stored, and its row. */
async function storedExport(t: Backend, userId: Id<'users'>) {
  const rows = await t.run((ctx) =>
    ctx.db.query('accountExports').withIndex('by_user', (q) => q.eq('userId', userId)).collect(),
  )
  expect(rows).toHaveLength(1)
  const [row] = rows
  const text = await t.run(async (ctx) => (await ctx.storage.get(row.storageId!))!.text())
  return { row, text, file: JSON.parse(text) as ExportDocument }
}

async function storedFileCount(t: Backend) {
  return (await t.run((ctx) => ctx.db.system.query('_storage').collect())).length
}

/** Runs the scheduled functions that are due, one generation at a time. */
async function runDueFunctions(t: Backend) {
  vi.runOnlyPendingTimers()
  await t.finishInProgressScheduledFunctions()
}

describe('at size: 20,000 messages and 500 actions, under the transaction limits', () => {
  test('a user exports everything, then deletes everything: nothing names them, the other user is untouched', async () => {
    vi.useFakeTimers()
    const t = limitedBackend()
    const ada = await seedUser(t, 'Ada', FULL_SIZE)
    const bea = await seedUser(t, 'Bea', FULL_SIZE)

    const link = await ada.as.action(api.account.exportMyData, {})
    const { row, text, file } = await storedExport(t, ada.userId)
    expect(link).toEqual({
      url: await t.run(async (ctx) => (await ctx.storage.getUrl(row.storageId!))!),
      expiresAt: row.expiresAt,
      sizeBytes: new TextEncoder().encode(text).length,
    })
    expect(file.version).toBe(1)
    expect(file.account).toMatchObject({ id: ada.userId, email: 'ada@example.com' })
    expect(file.profile).toMatchObject({ id: ada.profileId, name: 'Ada Lovelace', careerGoals: 'Ada goals' })
    expect(file.careerActions).toHaveLength(500)
    expect(file.chats.general).toHaveLength(10_000)
    expect(file.chats.debriefs).toHaveLength(100)
    expect(file.chats.debriefs.every((debrief) => debrief.messages.length === 100)).toBe(true)
    expect(file.modelUsage).toHaveLength(1_000)
    // Oldest first, every message once.
    expect(file.chats.general.map((message) => message.content)).toEqual(
      Array.from({ length: 10_000 }, (_, index) => `Ada message ${index}`),
    )
    expect(text).not.toContain('Bea')
    expect(text).not.toContain(bea.userId)

    const beaBefore = await documentsNaming(t, bea.names)
    expect(beaBefore.length).toBeGreaterThan(21_500)

    expect(await ada.as.mutation(api.account.deleteMyData, {})).toBeNull()
    await t.finishAllScheduledFunctions(vi.runAllTimers)

    expect(await documentsNamingEach(t, { ada: ada.names, bea: bea.names })).toEqual({ ada: [], bea: beaBefore })
    expect(await rateLimitKeys(t)).toEqual([])
    expect(await storedFileCount(t)).toBe(0)
    expect(await bea.as.query(api.profiles.getMyProfile, {})).toMatchObject({ name: 'Bea Lovelace' })
  }, 120_000)

  test('messages at the length limit in a 3-byte script: pages are cut by bytes, so export and deletion still fit', async () => {
    vi.useFakeTimers()
    const consoleError = vi.spyOn(console, 'error')
    const t = limitedBackend()
    const ada = await makeUser(t, { name: 'Ada' })
    // 700 messages of 15 KB each: 10.5 MB, more than one transaction may read.
    const longText = '界'.repeat(5_000)
    await insertInChunks(
      t,
      700,
      (ctx, index) =>
        ctx.db.insert('enrichmentMessages', {
          profileId: ada.profileId, role: 'user', content: longText, createdAt: 1_000 + index,
        }),
      250,
    )
    await ada.as.action(api.account.exportMyData, {})
    const { file } = await storedExport(t, ada.userId)
    expect(file.chats.general).toHaveLength(700)
    expect(file.chats.general.every((message) => message.content === longText)).toBe(true)

    await ada.as.mutation(api.account.deleteMyData, {})
    await t.finishAllScheduledFunctions(vi.runAllTimers)
    expect(await documentsNaming(t, [ada.userId, ada.profileId])).toEqual([])
    expect(consoleError).not.toHaveBeenCalled() // no batch failed on the way
  }, 60_000)
})

describe('account.deleteMyData', () => {
  test('signed out: an error, and nothing changes', async () => {
    vi.useFakeTimers()
    const t = setupBackend()
    const ada = await seedUser(t, 'Ada', { messages: 10, actions: 3, doneActions: 1, usage: 2, refreshTokens: 2 })
    const before = await documentsNaming(t, ada.names)
    await expectConvexError(t.mutation(api.account.deleteMyData, {}), NOT_AUTHENTICATED)
    expect(await documentsNaming(t, ada.names)).toEqual(before)
    expect(await t.run((ctx) => ctx.db.system.query('_scheduled_functions').collect())).toEqual([])
  })

  test('signs the user out everywhere at once: every session reads nothing and writes nothing before a single batch has run', async () => {
    vi.useFakeTimers()
    const t = setupBackend()
    const ada = await seedUser(t, 'Ada', { messages: 10, actions: 3, doneActions: 1, usage: 2, refreshTokens: 20 })
    const otherDevice = t.withIdentity({ subject: `${ada.userId}|${ada.sessionId}` })
    const debrief = { profileId: ada.profileId, actionId: ada.actionIds[0] }
    expect(await otherDevice.query(api.profiles.getMyProfile, {})).toMatchObject({ name: 'Ada Lovelace' })

    expect(await ada.as.mutation(api.account.deleteMyData, {})).toBeNull()

    // No batch has run: the data is still stored, and no session of the user is left.
    const stored = await t.run(async (ctx) => ({
      profile: await ctx.db.get('profiles', ada.profileId),
      messages: (await ctx.db.query('enrichmentMessages').collect()).length,
      sessions: await ctx.db.query('authSessions').collect(),
      refreshTokens: await ctx.db.query('authRefreshTokens').collect(),
      accounts: await ctx.db.query('authAccounts').collect(),
      user: await ctx.db.get('users', ada.userId),
    }))
    expect(stored.profile).not.toBeNull()
    expect(stored.messages).toBe(10)
    expect(stored.sessions).toEqual([])
    expect(stored.refreshTokens).toEqual([])
    expect(stored.accounts).toEqual([])
    expect(stored.user?.deletionRequestedAt).toEqual(expect.any(Number))
    // No longer found by its email, so a new sign-up with it is never linked to this user.
    expect(stored.user?.email).toBeUndefined()

    for (const client of [ada.as, otherDevice]) {
      expect(await client.query(api.profiles.getMyProfile, {})).toBeNull()
      expect(await client.query(api.careerActions.queries.getMyActions, {})).toBeNull()
      expect(await client.query(api.enrichment.queries.getMessagesPublic, { profileId: ada.profileId })).toEqual([])
      expect(await client.query(api.enrichment.queries.getCompletionMessagesPublic, debrief)).toEqual([])
      const before = await snapshotTables(t)
      await expectConvexError(
        client.mutation(api.profiles.updateField, { profileId: ada.profileId, updates: { name: 'Back' } }),
        NOT_AUTHENTICATED,
      )
      await expectConvexError(client.mutation(api.profiles.createProfile, { name: 'Again' }), NOT_AUTHENTICATED)
      await expectConvexError(
        client.mutation(api.careerActions.mutations.startAction, { actionId: ada.actionIds[1] }),
        NOT_AUTHENTICATED,
      )
      await expectConvexError(
        client.action(api.enrichment.conversation.sendMessage, { profileId: ada.profileId, message: 'Hello?' }),
        NOT_AUTHENTICATED,
      )
      await expectConvexError(client.action(api.account.exportMyData, {}), NOT_AUTHENTICATED)
      expect(await snapshotTables(t)).toEqual(before)
    }
    expect(server().requests).toHaveLength(0)

    await t.finishAllScheduledFunctions(vi.runAllTimers)
    expect(await documentsNaming(t, ada.names)).toEqual([])
  })

  test('a second call while it runs, and one after, are harmless: one job, nothing else changes', async () => {
    vi.useFakeTimers()
    const t = setupBackend()
    const ada = await seedUser(t, 'Ada', { messages: 2_500, actions: 20, doneActions: 5, usage: 10, refreshTokens: 5 })
    const bea = await seedUser(t, 'Bea', { messages: 20, actions: 2, doneActions: 1, usage: 1, refreshTokens: 1 })
    const beaBefore = await documentsNaming(t, bea.names)

    expect(await ada.as.mutation(api.account.deleteMyData, {})).toBeNull()
    await runDueFunctions(t) // one batch in
    expect(await ada.as.mutation(api.account.deleteMyData, {})).toBeNull()
    const jobs = await t.run((ctx) => ctx.db.query('accountDeletions').collect())
    expect(jobs).toHaveLength(1)
    expect(jobs[0]).toMatchObject({ userId: ada.userId, failures: 0 })

    await t.finishAllScheduledFunctions(vi.runAllTimers)
    expect(await ada.as.mutation(api.account.deleteMyData, {})).toBeNull()
    expect(await documentsNaming(t, ada.names)).toEqual([])
    expect(await documentsNaming(t, bea.names)).toEqual(beaBefore)
    expect(await t.run((ctx) => ctx.db.query('accountDeletions').collect())).toEqual([])
  })

  test('a batch that throws part-way is rolled back, retried later, and nothing is left', async () => {
    vi.useFakeTimers()
    const consoleError = vi.spyOn(console, 'error').mockImplementation(() => {})
    const t = limitedBackend()
    const ada = await seedUser(t, 'Ada', { messages: 2_500, actions: 20, doneActions: 5, usage: 10, refreshTokens: 5 })
    const messageCount = async () =>
      (await t.run((ctx) => ctx.db.query('enrichmentMessages').collect())).length

    // The second batch of chat messages deletes its page, then throws.
    const index = DELETION_STEPS.findIndex((step) => step.name === 'chatMessages')
    const original = DELETION_STEPS[index]
    let runs = 0
    DELETION_STEPS[index] = {
      name: original.name,
      run: async (ctx, userId, limit) => {
        const outcome = await original.run(ctx, userId, limit)
        runs += 1
        if (runs === 2) throw new Error(`Simulated failure after deleting ${outcome.deleted} messages`)
        return outcome
      },
    }
    try {
      await ada.as.mutation(api.account.deleteMyData, {})
      let countBeforeBatch = await messageCount()
      let job = null
      for (let generation = 0; generation < 20; generation++) {
        countBeforeBatch = await messageCount()
        await runDueFunctions(t)
        job = await t.run(async (ctx) => await ctx.db.query('accountDeletions').first())
        if (job?.failures) break
      }
      expect(job).toMatchObject({
        step: 'chatMessages',
        failures: 1,
        lastError: expect.stringContaining('Simulated failure after deleting 1000 messages'),
      })
      // The failed batch's deletions were rolled back with it.
      expect(countBeforeBatch).toBe(1_500)
      expect(await messageCount()).toBe(1_500)
      expect(consoleError).toHaveBeenCalledWith(expect.stringContaining('Simulated failure'))

      await t.finishAllScheduledFunctions(vi.runAllTimers)
      // Two pages of 1,000 (the second rolled back), then halved pages: 500, 500, 500, none left.
      expect(runs).toBe(6)
      expect(await documentsNaming(t, ada.names)).toEqual([])
      expect(await t.run((ctx) => ctx.db.query('accountDeletions').collect())).toEqual([])
    } finally {
      DELETION_STEPS[index] = original
    }
  })

  test('repeating the call is rate limited while the deletion runs; the limit state goes with the account', async () => {
    vi.useFakeTimers()
    const t = setupBackend()
    const ada = await seedUser(t, 'Ada', { messages: 4, actions: 1, doneActions: 1, usage: 1, refreshTokens: 1 })
    for (let call = 0; call < 3; call++) {
      expect(await ada.as.mutation(api.account.deleteMyData, {})).toBeNull()
    }
    const refused = await convexErrorOf<{ code: string; limit: string; message: string }>(
      ada.as.mutation(api.account.deleteMyData, {}),
    )
    expect(refused).toMatchObject({ code: 'RATE_LIMITED', limit: 'accountDeletion' })
    expect(refused.message).toMatch(/^You have asked to delete your data too often\. Try again in \d+ (seconds?|minutes?)\.$/)
    expect(await rateLimitKeys(t)).toEqual([`accountDeletion:${ada.userId}`])
    expect(await t.run((ctx) => ctx.db.query('accountDeletions').collect())).toHaveLength(1)

    await t.finishAllScheduledFunctions(vi.runAllTimers)
    expect(await rateLimitKeys(t)).toEqual([])
    expect(await documentsNaming(t, ada.names)).toEqual([])
  })

  test('a reply being written in delta mode when deletion starts: its live chunks go too', async () => {
    vi.useFakeTimers()
    const t = setupBackend()
    const { as, profileId } = await makeUser(t, { name: 'Ada' })
    const replyId = await t.run(async (ctx) => {
      const replyId = await ctx.db.insert('enrichmentMessages', {
        profileId, role: 'assistant', content: '', status: 'streaming', createdAt: Date.now(),
      })
      for (const [seq, text] of ['Con', 'grat', 'ulations'].entries()) {
        await ctx.db.insert('liveReplyChunks', { replyId, seq, text })
      }
      return replyId
    })
    expect(await as.mutation(api.account.deleteMyData, {})).toBeNull()
    await t.finishAllScheduledFunctions(vi.runAllTimers)
    const chunks = await t.run((ctx) =>
      ctx.db.query('liveReplyChunks').withIndex('by_reply', (q) => q.eq('replyId', replyId)).collect(),
    )
    expect(chunks).toEqual([])
  })

  test('a user with no profile and nothing else: the user and their sign-in records go', async () => {
    vi.useFakeTimers()
    const t = setupBackend()
    const { userId, as } = await signIn(t)
    expect(await as.mutation(api.account.deleteMyData, {})).toBeNull()
    await t.finishAllScheduledFunctions(vi.runAllTimers)
    expect(await documentsNaming(t, [userId])).toEqual([])
  })
})

describe('account.exportMyData', () => {
  test('the file holds the profile, actions, both chats and usage, with ISO dates and a version', async () => {
    vi.useFakeTimers({ now: Date.UTC(2026, 0, 15, 12) })
    const t = setupBackend()
    const ada = await makeUser(t, { name: 'Ada', skills: ['Python'], createdAt: Date.UTC(2025, 5, 1), updatedAt: Date.UTC(2025, 5, 2) })
    const done = await makeAction(t, ada.profileId, {
      status: 'done', title: 'Replicate induction heads', generatedAt: Date.UTC(2025, 6, 1),
      startedAt: Date.UTC(2025, 6, 2), completedAt: Date.UTC(2025, 6, 3), completionConversationStarted: true,
    })
    const saved = await makeAction(t, ada.profileId, { status: 'saved', title: 'Volunteer', generatedAt: Date.UTC(2025, 6, 4) })
    const at = Date.UTC(2025, 7, 1)
    await seedMessages(t, ada.profileId, [
      { role: 'user', content: 'I worked in retail 🛒' },
      { role: 'assistant', content: 'Tell me more.' },
      { role: 'user', content: 'I replicated it.', actionId: done },
      { role: 'assistant', content: 'Well done!', actionId: done },
    ], at)
    await t.run((ctx) =>
      ctx.db.insert('modelUsage', {
        userId: ada.userId, profileId: ada.profileId, chat: 'debrief', actionId: done,
        model: 'claude-haiku-4-5-20251001', inputTokens: 120, outputTokens: 30, succeeded: true, createdAt: at + 3,
      }),
    )
    await t.run((ctx) =>
      ctx.db.patch('users', ada.userId, { email: 'ada@example.com', emailVerificationTime: Date.UTC(2025, 4, 1) }),
    )
    const messageIds = (await t.run((ctx) => ctx.db.query('enrichmentMessages').collect())).map((message) => message._id)
    const userCreatedAt = (await t.run((ctx) => ctx.db.get('users', ada.userId)))!._creationTime

    const link = await ada.as.action(api.account.exportMyData, {})
    const { file, row } = await storedExport(t, ada.userId)
    expect(link.expiresAt).toBe(Date.now() + EXPORT_LINK_LIFETIME_MS)
    expect(row.expiresAt).toBe(link.expiresAt)
    const iso = (ms: number) => new Date(ms).toISOString()
    const message = (index: number, role: 'user' | 'assistant', content: string, actionId?: string) => ({
      id: messageIds[index], role, content, ...(actionId && { actionId }), createdAt: iso(at + index),
    })
    expect(file).toEqual({
      version: 1,
      exportedAt: '2026-01-15T12:00:00.000Z',
      account: {
        id: ada.userId, email: 'ada@example.com', emailVerifiedAt: '2025-05-01T00:00:00.000Z', createdAt: iso(userCreatedAt),
      },
      profile: {
        id: ada.profileId, name: 'Ada', skills: ['Python'],
        createdAt: '2025-06-01T00:00:00.000Z', updatedAt: '2025-06-02T00:00:00.000Z',
      },
      careerActions: [
        {
          id: done, type: 'replicate', title: 'Replicate induction heads',
          description: 'Reproduce the main result on a small transformer.', rationale: 'Builds interpretability skills.',
          status: 'done', generatedAt: '2025-07-01T00:00:00.000Z', startedAt: '2025-07-02T00:00:00.000Z',
          completedAt: '2025-07-03T00:00:00.000Z', modelVersion: 'test', completionConversationStarted: true,
        },
        {
          id: saved, type: 'replicate', title: 'Volunteer',
          description: 'Reproduce the main result on a small transformer.', rationale: 'Builds interpretability skills.',
          status: 'saved', generatedAt: '2025-07-04T00:00:00.000Z', modelVersion: 'test',
        },
      ],
      chats: {
        general: [message(0, 'user', 'I worked in retail 🛒'), message(1, 'assistant', 'Tell me more.')],
        debriefs: [
          {
            actionId: done,
            actionTitle: 'Replicate induction heads',
            messages: [message(2, 'user', 'I replicated it.', done), message(3, 'assistant', 'Well done!', done)],
          },
        ],
      },
      modelUsage: [
        {
          chat: 'debrief', actionId: done, model: 'claude-haiku-4-5-20251001',
          inputTokens: 120, outputTokens: 30, succeeded: true, createdAt: '2025-08-01T00:00:00.003Z',
        },
      ],
      emailRecords: { keptForDays: 3, note: expect.stringContaining('at most 3 days after they were queued') },
    })
    for (const date of [file.exportedAt, file.modelUsage[0].createdAt]) expect(date).toMatch(ISO_DATE)
  })

  test('the link is short-lived: the file and its record are deleted when it expires', async () => {
    vi.useFakeTimers()
    const t = setupBackend()
    const ada = await makeUser(t, { name: 'Ada' })
    await ada.as.action(api.account.exportMyData, {})
    const { row } = await storedExport(t, ada.userId)
    vi.advanceTimersByTime(EXPORT_LINK_LIFETIME_MS - 1_000)
    await t.finishInProgressScheduledFunctions()
    expect(await storedFileCount(t)).toBe(1)
    await t.finishAllScheduledFunctions(vi.runAllTimers)
    expect(await storedFileCount(t)).toBe(0)
    expect(await t.run((ctx) => ctx.storage.getUrl(row.storageId!))).toBeNull()
    expect(await t.run((ctx) => ctx.db.query('accountExports').collect())).toEqual([])
  })

  test('signed out: an error, no file, nothing written', async () => {
    const t = setupBackend()
    await makeUser(t, { name: 'Ada' })
    const before = await snapshotTables(t)
    await expectConvexError(t.action(api.account.exportMyData, {}), NOT_AUTHENTICATED)
    expect(await snapshotTables(t)).toEqual(before)
    expect(await storedFileCount(t)).toBe(0)
    expect(await t.run((ctx) => ctx.db.query('accountExports').collect())).toEqual([])
  })

  test('a stranger gets only their own, empty, account', async () => {
    const t = setupBackend()
    const ada = await seedUser(t, 'Ada', { messages: 10, actions: 3, doneActions: 1, usage: 2, refreshTokens: 1 })
    const stranger = await signIn(t)
    await stranger.as.action(api.account.exportMyData, {})
    const { file, text } = await storedExport(t, stranger.userId)
    expect(file).toMatchObject({
      version: 1,
      account: { id: stranger.userId },
      profile: null,
      careerActions: [],
      chats: { general: [], debriefs: [] },
      modelUsage: [],
    })
    for (const name of ada.names) expect(text).not.toContain(name)
  })

  test('three exports in a row, then the fourth is refused and stores nothing', async () => {
    const t = setupBackend()
    const ada = await makeUser(t, { name: 'Ada' })
    for (let call = 0; call < 3; call++) await ada.as.action(api.account.exportMyData, {})
    const refused = await convexErrorOf<{ code: string; limit: string; message: string }>(
      ada.as.action(api.account.exportMyData, {}),
    )
    expect(refused).toMatchObject({ code: 'RATE_LIMITED', limit: 'accountExport' })
    expect(refused.message).toMatch(/^You have asked for your data too often\. Try again in \d+ (seconds?|minutes?)\.$/)
    expect(await storedFileCount(t)).toBe(3)
    expect(await t.run((ctx) => ctx.db.query('accountExports').collect())).toHaveLength(3)
  })

  test('a file finished after its owner asked for deletion is deleted, not handed out', async () => {
    vi.useFakeTimers()
    const t = setupBackend()
    const ada = await makeUser(t, { name: 'Ada' })
    const exportId = await ada.as.mutation(internal.accountExport.beginExport, {})
    const storageId = await t.run((ctx) => ctx.storage.store(new Blob(['{"version":1}'])))
    await ada.as.mutation(api.account.deleteMyData, {})
    expect(await ada.as.mutation(internal.accountExport.finishExport, { exportId, storageId })).toBeNull()
    expect(await t.run((ctx) => ctx.storage.getUrl(storageId))).toBeNull()
    await t.finishAllScheduledFunctions(vi.runAllTimers)
    expect(await documentsNaming(t, [ada.userId, ada.profileId])).toEqual([])
  })
})
