// No hot document: what each transaction of one user's turns reads, no transaction of another
// user's turns writes, except the one kind of document shared on purpose (a shard of a daily
// ceiling's counter, picked at random by each finishing call, and the user's shard of the
// operator's report). On Convex a transaction is retried when a document or index range it read
// was written meanwhile (optimistic concurrency): an empty intersection means two users' turns
// never make each other wait, however many users chat at once.
//
// The footprints come from tests/support/transactionMeter.ts: every document read by id or
// returned by a query, every index range read, every document written, app and components
// (the rate limiter, the sharded counters) alike.
import { afterEach, describe, expect, test, vi } from 'vitest'
import { api, internal } from '../convex/_generated/api'
import { conflicts, meterTransactions, type MeteredTransaction } from './support/transactionMeter'
import { makeAction, makeUser, setupBackend, useModelServer, type Backend } from './support/backend'

const server = useModelServer()
const TOOL = 'save_profile_updates'

afterEach(() => {
  vi.restoreAllMocks()
})

/** A user's general turn, a debrief turn and an extraction over that debrief. */
async function turnsOf(t: Backend, name: string) {
  const user = await makeUser(t, { name, skills: ['Python'] })
  const actionId = await makeAction(t, user.profileId, { status: 'done', completedAt: 5, completionConversationStarted: true })
  return async () => {
    server().reply({ kind: 'text', text: `Hello ${name}, what are you working on?` })
    await user.as.action(api.enrichment.conversation.sendMessage, {
      profileId: user.profileId,
      message: 'I train small transformers.',
      liveReply: 'deltas',
    })
    server().reply({ kind: 'text', text: 'Well done. What was hardest?' })
    await user.as.action(api.enrichment.conversation.sendCompletionMessage, {
      profileId: user.profileId,
      actionId,
      message: 'I finished the replication.',
    })
    server().reply({ kind: 'tool', name: TOOL, input: { skills_mentioned: ['PyTorch'], career_interests: [] } })
    await user.as.action(api.enrichment.extraction.extractFromConversation, {
      profileId: user.profileId,
      actionId,
      messages: [
        { role: 'user', content: 'I finished the replication.' },
        { role: 'assistant', content: 'Well done. What was hardest?' },
      ],
    })
  }
}

const describeDoc = (write: { component: string; table: string; id: string }) =>
  `${write.component || 'app'}:${write.table}:${write.id}`

/** Every document one side wrote that a transaction of the other side had read. */
function crossConflicts(readers: MeteredTransaction[], writers: MeteredTransaction[]) {
  const found: { reader: string; doc: string; table: string; component: string; after: Record<string, unknown> | null }[] = []
  for (const reader of readers) {
    for (const writer of writers) {
      for (const write of conflicts(reader, writer)) {
        found.push({ reader: reader.udfPath ?? '?', doc: describeDoc(write), table: write.table, component: write.component, after: write.after })
      }
    }
  }
  return found
}

async function footprints(options: { sameShard: boolean }) {
  const t = setupBackend()
  const ada = await turnsOf(t, 'Ada')
  const grace = await turnsOf(t, 'Grace')
  // The operator's ceiling snapshot, as the cron keeps it: the check reads it, no turn writes it.
  await t.mutation(internal.ceilings.refreshCeilingSnapshot, {})
  // Both users' finishing calls pick the same counter shard: the one document they do share.
  if (options.sameShard) vi.spyOn(Math, 'random').mockReturnValue(0.42)
  const meter = await meterTransactions(t)
  try {
    await meter.tagged('ada', ada)
    await meter.tagged('grace', grace)
  } finally {
    meter.stop()
  }
  const of = (tag: string) => meter.transactions.filter((transaction) => transaction.tag === tag)
  return { ada: of('ada'), grace: of('grace') }
}

describe("one user's turns and another's", () => {
  test('read nothing the other writes but one shard of each daily ceiling and of the report', async () => {
    const { ada, grace } = await footprints({ sameShard: true })
    // Each user ran begin and finish transactions for three model calls, and wrote in them.
    for (const side of [ada, grace]) {
      expect(side.filter((transaction) => transaction.outcome === 'committed').length).toBeGreaterThanOrEqual(6)
      expect(side.flatMap((transaction) => transaction.writes).length).toBeGreaterThan(0)
    }
    const found = [...crossConflicts(ada, grace), ...crossConflicts(grace, ada)]
    // Everything shared is a counter shard of today's ceilings, or a day document of the report.
    const intended = (conflict: (typeof found)[number]) =>
      (conflict.component === 'shardedCounter' &&
        conflict.table === 'counters' &&
        /^modelTokensPerDay:|^modelMicroUsdPerDay:/.test(String(conflict.after?.name))) ||
      (conflict.component === '' && conflict.table === 'usageReportDays')
    expect(found.filter((conflict) => !intended(conflict))).toEqual([])
    // With the same random pick, the finishing calls share exactly the picked shard of each ceiling.
    const shards = new Set(found.filter((conflict) => conflict.component === 'shardedCounter').map((c) => String(c.after?.name) + '#' + String(c.after?.shard)))
    expect([...shards].map((shard) => shard.replace(/:\d{4}-\d{2}-\d{2}/, ''))).toEqual(
      expect.arrayContaining(['modelTokensPerDay#3', 'modelMicroUsdPerDay#3']),
    )
    expect(shards.size).toBe(2)
    // Only the finishing transactions share it: no check before a call reads a counter shard.
    const readers = new Set(found.map((conflict) => conflict.reader))
    for (const reader of readers) expect(reader).not.toMatch(/begin/i)
  })

  test('the check before a model call reads no document any call writes', async () => {
    const { ada, grace } = await footprints({ sameShard: false })
    const begins = [...ada, ...grace].filter((transaction) => /begin/i.test(transaction.udfPath ?? ''))
    expect(begins.length).toBe(6)
    const everyWrite = [...ada, ...grace].filter((transaction) => transaction.outcome === 'committed')
    for (const begin of begins) {
      const counterReads = begin.ranges.filter((range) => range.component === 'shardedCounter')
      expect(counterReads).toEqual([])
      // Nothing the other user's transactions wrote, at any time.
      const other = begin.tag === 'ada' ? 'grace' : 'ada'
      expect(crossConflicts([begin], everyWrite.filter((transaction) => transaction.tag === other))).toEqual([])
    }
  })
})
