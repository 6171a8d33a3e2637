// npm run bench: drives chat turns through the real SDK against the local model server and
// prints one table. A script, not a test: it measures and asserts nothing.
import batchWorkerTest from '@convex-dev/batch-worker/test'
import rateLimiterTest from '@convex-dev/rate-limiter/test'
import shardedCounterTest from '@convex-dev/sharded-counter/test'
import os from 'node:os'
import { api } from '../convex/_generated/api'
import type { Doc, Id } from '../convex/_generated/dataModel'
import { costMicroUsd } from '../convex/ai/prices'
import { convexTest } from 'convex-test'
import schema from '../convex/schema'
import { convexModules, makeAction, makeUser, type Backend } from '../tests/support/fixtures'
import { startModelServer, type ModelServer } from '../tests/support/modelServer'

const FIRST_TOKEN_DELAY_MS = 400
const TOKENS_PER_REPLY = 100
const TOKEN_INTERVAL_MS = 20 // 50 tokens/s: about 2 s for a reply
const POLL_INTERVAL_MS = 5
const TURNS_PER_MODE = 5
const GENERAL_CHAT_SIZES = [0, 1_000, 5_000]
const DEBRIEF_MESSAGE_COUNTS = [0, 2_000] // spread over 200 actions of the same profile

type TransactionRecord = {
  name: string
  documentsRead: number
  bytesRead: number
  documentsWritten: number
}

/** Every transaction that an action runs, with its metrics, in order. */
const transactions: TransactionRecord[] = []

type RegisteredFunction = {
  isQuery?: boolean
  isMutation?: boolean
  isInternal?: boolean
  _handler: (ctx: MetricsCtx, args: unknown) => Promise<unknown>
}
type MetricsCtx = {
  meta: {
    getTransactionMetrics: () => Promise<{
      documentsRead: { used: number }
      bytesRead: { used: number }
      documentsWritten: { used: number }
    }>
  }
}

/** Wraps each internal query and mutation so it records its own transaction metrics. */
function instrument(modules: typeof convexModules): typeof convexModules {
  const wrapped: typeof convexModules = {}
  for (const [path, load] of Object.entries(modules)) {
    wrapped[path] = async () => {
      const module = (await load()) as Record<string, unknown>
      const out: Record<string, unknown> = { ...module }
      for (const [exportName, value] of Object.entries(module)) {
        const fn = value as RegisteredFunction | undefined
        if (!fn || !fn.isInternal || !(fn.isQuery || fn.isMutation) || !fn._handler) continue
        const name = `${path.replace(/^.*convex\//, '').replace(/\.ts$/, '')}:${exportName}`
        out[exportName] = Object.assign(Object.create(Object.getPrototypeOf(fn)), fn, {
          _handler: async (ctx: MetricsCtx, args: unknown) => {
            const result = await fn._handler(ctx, args)
            const metrics = await ctx.meta.getTransactionMetrics()
            transactions.push({
              name,
              documentsRead: metrics.documentsRead.used,
              bytesRead: metrics.bytesRead.used,
              documentsWritten: metrics.documentsWritten.used,
            })
            return result
          },
        })
      }
      return out
    }
  }
  return wrapped
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

function scriptReply(server: ModelServer) {
  const chunks = Array.from({ length: TOKENS_PER_REPLY }, (_, i) => `word${i} `)
  server.reply({
    kind: 'text',
    text: chunks.join(''),
    chunks,
    firstTokenDelayMs: FIRST_TOKEN_DELAY_MS,
    chunkIntervalMs: TOKEN_INTERVAL_MS,
  })
}

type TurnMeasure = {
  firstVisibleMs: number
  firstVisibleAfterModelMs: number
  completeMs: number
  transactions: TransactionRecord[]
  charsSent: number
}

/** One debrief turn, timed as a subscriber would see it (a poll of the frontend's query). */
async function timedDebriefTurn(
  t: Backend,
  server: ModelServer,
  user: Awaited<ReturnType<typeof makeUser>>,
  actionId: Id<'careerActions'>,
  message: string,
): Promise<TurnMeasure> {
  const before = (
    await user.as.query(api.enrichment.queries.getCompletionMessagesPublic, {
      profileId: user.profileId,
      actionId,
    })
  ).length
  scriptReply(server)
  const firstTransaction = transactions.length
  const requestIndex = server.requests.length
  const start = performance.now()
  let firstVisibleAt: number | undefined
  let done = false
  const turn = user.as
    .action(api.enrichment.conversation.sendCompletionMessage, {
      profileId: user.profileId,
      actionId,
      message,
    })
    .finally(() => (done = true))
  while (!done && firstVisibleAt === undefined) {
    const messages = await user.as.query(api.enrichment.queries.getCompletionMessagesPublic, {
      profileId: user.profileId,
      actionId,
    })
    const reply = messages.slice(before).find((m) => m.role === 'assistant')
    if (reply && reply.content.length > 0) firstVisibleAt = performance.now()
    else await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS))
  }
  await turn
  const completeAt = performance.now()
  firstVisibleAt ??= completeAt
  const request = server.requests[requestIndex]
  const modelFirstTokenAt = request.firstTextAt ?? request.receivedAt + FIRST_TOKEN_DELAY_MS
  return {
    firstVisibleMs: firstVisibleAt - start,
    firstVisibleAfterModelMs: firstVisibleAt - modelFirstTokenAt,
    completeMs: completeAt - start,
    transactions: transactions.slice(firstTransaction),
    charsSent:
      (request.body.system ?? '').length +
      request.body.messages.reduce((sum, m) => sum + m.content.length, 0),
  }
}

async function newDebrief(t: Backend) {
  const user = await makeUser(t, {
    name: 'Bench User',
    headline: 'ML engineer moving into AI safety',
    skills: ['Python', 'PyTorch'],
  })
  const actionId = await makeAction(t, user.profileId, { status: 'done' })
  return { user, actionId }
}

const isFlush = (record: TransactionRecord) => record.name.endsWith(':writeReplyProgress')
const sum = (records: TransactionRecord[], key: keyof Omit<TransactionRecord, 'name'>) =>
  records.reduce((total, record) => total + record[key], 0)

type ModuleMap = Record<string, () => Promise<unknown>>

/**
 * Loads every module once, up front, and serves it from memory. Vite's loader sets a timer on
 * each load and convex-test refuses timers inside a transaction, so nothing may load mid-turn.
 */
export async function preload(map: ModuleMap): Promise<ModuleMap> {
  const loadable = (path: string) => !/(\.d|\.test|convex\.config)\.ts$/.test(path)
  const loaded: ModuleMap = {}
  for (const [path, load] of Object.entries(map)) {
    if (!loadable(path)) {
      loaded[path] = load // convex-test reads these paths but never loads them
      continue
    }
    const module = await load()
    loaded[path] = async () => module
  }
  return loaded
}

/** The tests' backend, with instrumented app modules and preloaded components. */
export async function benchBackendFactory() {
  const app = await preload(instrument(convexModules))
  const rateLimiter = await preload(rateLimiterTest.modules)
  const batchWorker = await preload(batchWorkerTest.modules)
  const shardedCounter = await preload(shardedCounterTest.modules)
  return () => {
    const t = convexTest(schema, app)
    t.registerComponent('rateLimiter', rateLimiterTest.schema, rateLimiter)
    t.registerComponent('rateLimiter/batchWorker', batchWorkerTest.schema, batchWorker)
    t.registerComponent('shardedCounter', shardedCounterTest.schema, shardedCounter)
    return t
  }
}

const COST_TURNS = 4
const COST_MESSAGES = [
  'I replicated the induction heads paper on a two-layer transformer.',
  'The hardest part was getting the attention patterns to match the figures.',
  'I learned a lot about TransformerLens and careful ablations.',
  'Next I want to try it on a larger model.',
]

/** Mean usage and cost per call of each chat, from the usage rows the turns wrote. */
async function measureCosts(newBackend: () => Backend, server: ModelServer): Promise<string[]> {
  const t = newBackend()
  const reply = Array.from({ length: TOKENS_PER_REPLY }, (_, i) => `word${i} `)
  // One user per chat, so neither meets the chat rate limit's burst.
  const general = await newDebrief(t)
  const debrief = await newDebrief(t)
  for (const message of COST_MESSAGES.slice(0, COST_TURNS)) {
    for (const { user, actionId } of [general, debrief]) {
      server.reply({ kind: 'text', text: reply.join(''), chunks: reply })
      if (user === general.user) {
        await user.as.action(api.enrichment.conversation.sendMessage, { profileId: user.profileId, message })
      } else {
        await user.as.action(api.enrichment.conversation.sendCompletionMessage, { profileId: user.profileId, actionId, message })
      }
    }
  }
  for (const { user, actionId } of [general, debrief]) {
    server.reply({ kind: 'tool', name: 'save_profile_updates', input: { skills_mentioned: ['TransformerLens'], career_interests: ['interpretability'] } })
    const transcript = await user.as.query(api.enrichment.queries.getMessagesPublic, { profileId: user.profileId })
    await user.as.action(api.enrichment.extraction.extractFromConversation, {
      profileId: user.profileId,
      messages: transcript.map(({ role, content }) => ({ role, content })),
      ...(user === debrief.user && { actionId }),
    })
  }
  const rows: Doc<'modelUsage'>[] = await t.run(async (ctx) => ctx.db.query('modelUsage').collect())
  const dollars = (micro: number) => `$${(micro / 1e6).toFixed(6)}`
  return (['general', 'debrief', 'extraction'] as const).map((chat) => {
    const calls = rows.filter((row) => row.chat === chat)
    const mean = (value: (row: Doc<'modelUsage'>) => number) => calls.reduce((sum, row) => sum + value(row), 0) / calls.length
    const onHaiku55 = (factor: number) =>
      mean((row) => costMicroUsd('claude-haiku-5-5', { inputTokens: Math.round(row.inputTokens * factor), outputTokens: Math.round(row.outputTokens * factor) }))
    return `| ${chat} | ${Math.round(mean((row) => row.inputTokens))} | ${Math.round(mean((row) => row.outputTokens))} | ${dollars(mean((row) => row.costMicroUsd ?? NaN))} | ${dollars(onHaiku55(1))} | ${dollars(onHaiku55(1.3))} |`
  })
}

export async function main() {
  const server = await startModelServer()
  process.env.ANTHROPIC_API_KEY = 'bench-key'
  process.env.ANTHROPIC_BASE_URL = server.url
  const newBackend = await benchBackendFactory()
  try {
    // 1. Latency: streamed and unstreamed turns interleaved in the same run.
    const byMode: Record<'streamed' | 'unstreamed', TurnMeasure[]> = { streamed: [], unstreamed: [] }
    for (let round = 0; round < TURNS_PER_MODE; round++) {
      for (const mode of ['streamed', 'unstreamed'] as const) {
        process.env.CHAT_STREAMING = mode === 'streamed' ? 'on' : 'off'
        const t = newBackend()
        const { user, actionId } = await newDebrief(t)
        byMode[mode].push(await timedDebriefTurn(t, server, user, actionId, 'I replicated it!'))
      }
    }
    process.env.CHAT_STREAMING = 'on'

    // 2. Cost per debrief turn next to a general chat of growing length (turn 2 of a debrief).
    const readsBySize: { size: number; documentsRead: number; bytesRead: number; charsSent: number }[] = []
    for (const size of GENERAL_CHAT_SIZES) {
      const t = newBackend()
      const { user, actionId } = await newDebrief(t)
      await t.run(async (ctx) => {
        for (let i = 0; i < size; i++) {
          await ctx.db.insert('enrichmentMessages', {
            profileId: user.profileId,
            role: i % 2 === 0 ? 'user' : 'assistant',
            content: `General chat message ${i} about my background and interests.`,
            createdAt: i,
          })
        }
      })
      await timedDebriefTurn(t, server, user, actionId, 'I replicated it!')
      const second = await timedDebriefTurn(t, server, user, actionId, 'The hardest part was the data.')
      // begin + finish; each flush reads the one reply document and is counted apart.
      const turnTransactions = second.transactions.filter((record) => !isFlush(record))
      readsBySize.push({
        size,
        documentsRead: sum(turnTransactions, 'documentsRead'),
        bytesRead: sum(turnTransactions, 'bytesRead'),
        charsSent: second.charsSent,
      })
    }

    // 3. Cost per general-chat turn with many debrief messages on the same profile.
    const generalReads: { debriefMessages: number; documentsRead: number; bytesRead: number }[] = []
    for (const count of DEBRIEF_MESSAGE_COUNTS) {
      const t = newBackend()
      const { user } = await newDebrief(t)
      await t.run(async (ctx) => {
        for (let a = 0; a < count / 10; a++) {
          const actionId = await ctx.db.insert('careerActions', {
            profileId: user.profileId, type: 'volunteer', title: `Action ${a}`, description: 'Done.',
            rationale: 'Bench.', status: 'done', generatedAt: 0, modelVersion: 'bench',
          })
          for (let i = 0; i < 10; i++) {
            await ctx.db.insert('enrichmentMessages', {
              profileId: user.profileId, actionId, role: i % 2 === 0 ? 'user' : 'assistant',
              content: `Debrief message ${i} of action ${a}.`, createdAt: a * 10 + i,
            })
          }
        }
      })
      let records: TransactionRecord[] = []
      for (const message of ['I studied maths.', 'I want to work on interpretability.']) {
        server.reply({ kind: 'text', text: 'Tell me more about that.' })
        const first = transactions.length
        await user.as.action(api.enrichment.conversation.sendMessage, { profileId: user.profileId, message })
        records = transactions.slice(first).filter((record) => !isFlush(record))
      }
      generalReads.push({
        debriefMessages: count,
        documentsRead: sum(records, 'documentsRead'),
        bytesRead: sum(records, 'bytesRead'),
      })
    }

    // 4. What a turn costs: the usage the model server reported, priced by the price table.
    const costRows = await measureCosts(newBackend, server)

    const row = (label: string, streamed: string, unstreamed: string) =>
      `| ${label} | ${streamed} | ${unstreamed} |`
    const ms = (value: number) => `${Math.round(value)} ms`
    const s = byMode.streamed
    const u = byMode.unstreamed
    const firstS = median(s.map((m) => m.firstVisibleMs))
    const firstU = median(u.map((m) => m.firstVisibleMs))
    const completeS = median(s.map((m) => m.completeMs))
    const completeU = median(u.map((m) => m.completeMs))
    const txns = (m: TurnMeasure[]) => median(m.map((x) => x.transactions.filter((r) => !isFlush(r)).length))
    const flushes = (m: TurnMeasure[]) => median(m.map((x) => x.transactions.filter(isFlush).length))

    const lines = [
      `Model: first token after ${FIRST_TOKEN_DELAY_MS} ms, then ${TOKENS_PER_REPLY} tokens at ${1000 / TOKEN_INTERVAL_MS}/s; ${TURNS_PER_MODE} turns per mode, medians.`,
      `Machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, convex-test`,
      '',
      '| per debrief turn | streamed | unstreamed |',
      '|---|---|---|',
      row('first text visible to a subscriber', ms(firstS), ms(firstU)),
      row('first text visible after the model\'s first token', ms(median(s.map((m) => m.firstVisibleAfterModelMs))), ms(median(u.map((m) => m.firstVisibleAfterModelMs)))),
      row('turn complete', ms(completeS), ms(completeU)),
      row('first visible, streamed / unstreamed', (firstS / firstU).toFixed(3), '1'),
      row('complete, streamed / unstreamed', (completeS / completeU).toFixed(3), '1'),
      row('transactions per turn (excluding flushes)', String(txns(s)), String(txns(u))),
      row('stream flushes per turn', String(flushes(s)), String(flushes(u))),
      row('writes to the reply document (insert + flushes + final)', String(flushes(s) + 2), String(flushes(u) + 2)),
      row('characters sent to the model (turn 1)', String(median(s.map((m) => m.charsSent))), String(median(u.map((m) => m.charsSent)))),
      '',
      '| general-chat messages on the profile | documents read, debrief turn 2 (begin + finish) | bytes read | characters sent to the model |',
      '|---|---|---|---|',
      ...readsBySize.map((r) => `| ${r.size} | ${r.documentsRead} | ${r.bytesRead} | ${r.charsSent} |`),
      '',
      '| debrief messages on the profile | documents read, general-chat turn 2 (begin + finish) | bytes read |',
      '|---|---|---|',
      ...generalReads.map((r) => `| ${r.debriefMessages} | ${r.documentsRead} | ${r.bytesRead} |`),
      '',
      `Cost per call, mean over ${COST_TURNS} turns of each chat (replies of ${TOKENS_PER_REPLY} tokens) and one extraction after each chat:`,
      '',
      '| chat | input tokens | output tokens | Haiku 4.5 (stored on the row) | Haiku 5.5, same tokens | Haiku 5.5, tokens +30% |',
      '|---|---|---|---|---|---|',
      ...costRows,
    ]
    console.log(lines.join('\n'))
  } finally {
    await server.close()
  }
}
