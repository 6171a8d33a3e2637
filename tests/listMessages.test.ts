// enrichment.queries.listMessages: one page of a chat for usePaginatedQuery, newest first.
// Only the owner sees a page; the two chats never mix; a reply with no text yet is left out;
// and a client that loads the newest page, then older ones, while messages keep arriving, sees
// every message exactly once.
import { describe, expect, test } from 'vitest'
import { api } from '../convex/_generated/api'
import type { Id } from '../convex/_generated/dataModel'
import { makeAction, makeUser, seedMessages, setupBackend, signIn, type Backend, type SignedIn } from './support/backend'
import { meterTransactions } from './support/transactionMeter'

const listMessages = api.enrichment.queries.listMessages
type Page = {
  page: { _id: string; content: string; actionId?: string; status?: string }[]
  isDone: boolean
  continueCursor: string
}

const EMPTY_PAGE = { page: [], isDone: true, continueCursor: '' }

async function chatWorld() {
  const t = setupBackend()
  const owner = await makeUser(t, { name: 'Owner' })
  const action = await makeAction(t, owner.profileId, { status: 'done', completedAt: 5 })
  const otherAction = await makeAction(t, owner.profileId, { status: 'done', completedAt: 6 })
  await seedMessages(t, owner.profileId, [
    { role: 'user', content: 'general 1' },
    { role: 'assistant', content: 'general 2' },
    { role: 'user', content: 'debrief 1', actionId: action },
    { role: 'assistant', content: 'debrief 2', actionId: action },
    { role: 'user', content: 'other debrief 1', actionId: otherAction },
  ])
  return { t, owner, action, otherAction }
}

const contents = (page: Page) => page.page.map((message) => message.content)

describe('who sees a page', () => {
  test('the owner sees each chat; a stranger, a signed-out caller and a mixer of ids see an empty page', async () => {
    const { t, owner, action } = await chatWorld()
    const opts = { numItems: 10, cursor: null }
    const general = { profileId: owner.profileId, paginationOpts: opts }
    const debrief = { ...general, actionId: action }
    expect(contents((await owner.as.query(listMessages, general)) as Page)).toEqual(['general 2', 'general 1'])
    expect(contents((await owner.as.query(listMessages, debrief)) as Page)).toEqual(['debrief 2', 'debrief 1'])

    const stranger = await signIn(t)
    const attacker = await makeUser(t, { name: 'Attacker' })
    const attackerAction = await makeAction(t, attacker.profileId, { status: 'done', completedAt: 7 })
    await seedMessages(t, attacker.profileId, [{ role: 'user', content: 'attacker debrief', actionId: attackerAction }])
    for (const caller of [stranger.as, attacker.as, t]) {
      expect(await caller.query(listMessages, general)).toEqual(EMPTY_PAGE)
      expect(await caller.query(listMessages, debrief)).toEqual(EMPTY_PAGE)
    }
    // The attacker's own profile with the victim's action, and the victim's profile with the attacker's action.
    expect(await attacker.as.query(listMessages, { ...general, profileId: attacker.profileId, actionId: action })).toEqual(
      EMPTY_PAGE,
    )
    expect(await attacker.as.query(listMessages, { ...general, actionId: attackerAction })).toEqual(EMPTY_PAGE)
    // The owner passing an action of another profile gets nothing of it either.
    expect(await owner.as.query(listMessages, { ...general, actionId: attackerAction })).toEqual(EMPTY_PAGE)
  })
})

describe('what a page lists', () => {
  test('the general chat holds no debrief message, and each debrief only its own', async () => {
    const { owner, action, otherAction } = await chatWorld()
    const read = async (actionId?: Id<'careerActions'>) =>
      (await owner.as.query(listMessages, {
        profileId: owner.profileId,
        ...(actionId && { actionId }),
        paginationOpts: { numItems: 50, cursor: null },
      })) as Page
    const general = await read()
    expect(general.page.every((message) => message.actionId === undefined)).toBe(true)
    expect(contents(general)).toEqual(['general 2', 'general 1'])
    expect((await read(action)).page.every((message) => message.actionId === action)).toBe(true)
    expect(contents(await read(otherAction))).toEqual(['other debrief 1'])
  })

  test('a reply with no text yet is left out, one with text is listed streaming, a page reads only its range', async () => {
    const { t, owner } = await chatWorld()
    await seedMessages(t, owner.profileId, [{ role: 'user', content: 'general 3' }], 2_000)
    const placeholder = await t.run(async (ctx) =>
      ctx.db.insert('enrichmentMessages', {
        profileId: owner.profileId,
        role: 'assistant',
        content: '',
        status: 'streaming',
        createdAt: 3_000,
      }),
    )
    const read = async () =>
      (await owner.as.query(listMessages, {
        profileId: owner.profileId,
        paginationOpts: { numItems: 2, cursor: null },
      })) as Page
    // The page is the two newest documents; the empty reply is one of them and is not listed.
    const first = await read()
    expect(contents(first)).toEqual(['general 3'])
    expect(first.isDone).toBe(false)
    expect(first.page.some((message) => message._id === placeholder)).toBe(false)
    const rest = (await owner.as.query(listMessages, {
      profileId: owner.profileId,
      paginationOpts: { numItems: 2, cursor: first.continueCursor },
    })) as Page
    expect(contents(rest)).toEqual(['general 2', 'general 1'])

    await t.run(async (ctx) => ctx.db.patch('enrichmentMessages', placeholder, { content: 'Hel' }))
    const growing = await read()
    expect(growing.page[0]).toMatchObject({ _id: placeholder, content: 'Hel', status: 'streaming' })
    expect(growing.page[0]).not.toHaveProperty('expiryJobId')
  })
})

describe('what a page reads', () => {
  test('only its own documents, however long the chat: the newest page of 3,000 reads 20 messages', async () => {
    const t = setupBackend()
    const owner = await makeUser(t, { name: 'Owner' })
    const actionId = await makeAction(t, owner.profileId, { status: 'done', completedAt: 5 })
    const long = Array.from({ length: 3_000 }, (_, i) => ({ role: i % 2 === 0 ? ('user' as const) : ('assistant' as const), content: `message ${i}` }))
    await seedMessages(t, owner.profileId, long)
    await seedMessages(t, owner.profileId, long.slice(0, 500).map((message) => ({ ...message, actionId })))
    const meter = await meterTransactions(t)
    try {
      const general = (await owner.as.query(listMessages, {
        profileId: owner.profileId,
        paginationOpts: { numItems: 20, cursor: null },
      })) as Page
      const debrief = (await owner.as.query(listMessages, {
        profileId: owner.profileId,
        actionId,
        paginationOpts: { numItems: 20, cursor: null },
      })) as Page
      expect(general.page).toHaveLength(20)
      expect(debrief.page).toHaveLength(20)
    } finally {
      meter.stop()
    }
    const reads = meter.transactions.map((transaction) =>
      transaction.reads.filter((read) => read.table === 'enrichmentMessages').length,
    )
    expect(reads).toEqual([20, 20])
    // Besides the page: the session, the user, the profile (and the action for a debrief).
    expect(meter.transactions.map((transaction) => transaction.documentsRead)).toEqual([23, 24])
  })
})

/**
 * usePaginatedQuery as the frontend runs it: the newest page first (its range then held fixed
 * by its end cursor, as Convex keeps a loaded page's range when it re-runs it), older pages
 * from each page's continueCursor, every loaded page re-run after each write.
 */
class PaginatedClient {
  private pages: { cursor: string | null; endCursor?: string; result?: Page }[] = [{ cursor: null }]
  constructor(
    private readonly as: SignedIn | Backend,
    private readonly args: { profileId: Id<'profiles'>; actionId?: Id<'careerActions'> },
    private readonly numItems: number,
  ) {}

  async refresh() {
    for (const page of this.pages) {
      page.result = (await this.as.query(listMessages, {
        ...this.args,
        paginationOpts: {
          numItems: this.numItems,
          cursor: page.cursor,
          ...(page.endCursor !== undefined && { endCursor: page.endCursor }),
        },
      })) as Page
      page.endCursor ??= page.result.continueCursor
    }
  }

  async loadMore() {
    const last = this.pages.at(-1)?.result
    if (!last || last.isDone) return false
    this.pages.push({ cursor: last.continueCursor })
    await this.refresh()
    return true
  }

  /** What the frontend renders, newest first. */
  listed() {
    return this.pages.flatMap((page) => page.result?.page ?? []).map((message) => message.content)
  }
}

describe('paging while the chat grows', () => {
  test.each(['general', 'debrief'] as const)(
    '%s: every message once, newest first, whatever arrives between page loads',
    async (chat) => {
      const t = setupBackend()
      const owner = await makeUser(t, { name: 'Owner' })
      const actionId = chat === 'debrief' ? await makeAction(t, owner.profileId, { status: 'done', completedAt: 5 }) : undefined
      // The other chat grows too, and must never show up.
      const otherActionId = chat === 'general' ? await makeAction(t, owner.profileId, { status: 'done', completedAt: 5 }) : undefined
      let next = 0
      const expected: string[] = []
      const add = async (count: number) => {
        await t.run(async (ctx) => {
          for (let i = 0; i < count; i++) {
            const content = `${chat} message ${next}`
            await ctx.db.insert('enrichmentMessages', {
              profileId: owner.profileId,
              role: next % 2 === 0 ? 'user' : 'assistant',
              content,
              ...(actionId && { actionId }),
              createdAt: 1_000 + next,
            })
            await ctx.db.insert('enrichmentMessages', {
              profileId: owner.profileId,
              role: 'user',
              content: `elsewhere ${next}`,
              ...(otherActionId && { actionId: otherActionId }),
              createdAt: 1_000 + next,
            })
            expected.unshift(content)
            next++
          }
        })
      }
      await add(23)
      const client = new PaginatedClient(owner.as, { profileId: owner.profileId, ...(actionId && { actionId }) }, 5)
      await client.refresh()
      expect(client.listed()).toEqual(expected.slice(0, 5))
      let loads = 0
      for (;;) {
        await add(2) // a turn: the user's message and the reply arrive before the next scroll
        await client.refresh()
        expect(client.listed()).toEqual(expected.slice(0, client.listed().length))
        if (!(await client.loadMore())) break
        loads++
        const listed = client.listed()
        expect(new Set(listed).size).toBe(listed.length)
        expect(listed).toEqual(expected.slice(0, listed.length))
      }
      expect(loads).toBeGreaterThanOrEqual(4)
      expect(client.listed()).toEqual(expected)
      expect(client.listed().some((content) => content.startsWith('elsewhere'))).toBe(false)
    },
  )
})
