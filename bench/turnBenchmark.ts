// npm run bench: one chat turn, streamed to a subscribed client, by five designs in the same
// run, on the same scripted model and the same history: this backend in document mode, in
// delta mode with the whole chat query, and in delta mode with listMessages' newest page of 20,
// @convex-dev/agent with its stream deltas, and @convex-dev/persistent-text-streaming as read by
// a client that did not start the stream. It measures and prints two tables (what the client
// receives; what the turn costs on Convex, priced); it asserts nothing.
//
// What a turn costs is counted by tests/support/transactionMeter.ts from the moment the
// client has subscribed to the end of the turn: every function run (the turn's action, its
// mutations and queries, scheduled functions, and the client's query re-runs after each of the
// turn's commits), and convex-test's per-transaction metrics (bytes of every document read or
// written, components included). Prices: docs.convex.dev/production/state/limits (stored copy
// read 2026-12-03): $2 per million function calls ("explicit client calls, scheduled
// executions, subscription updates ... count as function calls") and $0.20 per GiB of database
// bandwidth, each document's size rounded up to 1 KiB; the model's price from convex/ai/prices.ts.
import agentTest from '@convex-dev/agent/test'
import textStreamingTest from '@convex-dev/persistent-text-streaming/test'
import { convexTest } from 'convex-test'
import { anyApi } from 'convex/server'
import { getDocumentSize, type Value } from 'convex/values'
import os from 'node:os'
import { api } from '../convex/_generated/api'
import type { Id } from '../convex/_generated/dataModel'
import { costMicroUsd } from '../convex/ai/prices'
import { watchCommits, type CommittedWrite } from '../tests/support/commitWatcher'
import { meterTransactions, type Meter } from '../tests/support/transactionMeter'
import { makeAction, makeUser, seedMessages } from '../tests/support/fixtures'
import { startModelServer, wordChunks, type ModelServer } from '../tests/support/modelServer'
import agentSchema from './peers/agent/convex/schema'
import textStreamingSchema from './peers/textStreaming/convex/schema'
import { benchBackendFactory, letLongTimersLapse, preload } from './backend'
import {
  AgentClient,
  DeltaModeClient,
  DocumentModeClient,
  TextStreamingOtherClient,
  type Push,
  type SimulatedClient,
} from './simulatedClients'

const FIRST_TOKEN_DELAY_MS = 400
const STREAM_MS = 2_000
const REPLY =
  'That sounds like a solid first replication. Getting induction heads to appear in a small model is a real ' +
  'milestone, and it says a lot about how carefully you debugged it. Which part took the longest: the data ' +
  'pipeline, the training runs, or reading the attention patterns? Once I know that, I can suggest a good next ' +
  'step, perhaps a second paper or a short write-up. If you kept notes, a blog post would also help the others ' +
  'who are trying the same thing this year.'
const REPLY_BYTES = Buffer.byteLength(REPLY)
const REPLY_CHUNKS = wordChunks(REPLY)
const TOKEN_INTERVAL_MS = Math.round(STREAM_MS / (REPLY_CHUNKS.length - 1))
const TURNS_PER_CELL = Number(process.env.BENCH_TURNS ?? 3)

type Chat = 'general' | 'debrief'
const SCENARIOS: { label: string; chat: Chat; priorMessages: number }[] = [
  { label: 'general chat, 10 messages', chat: 'general', priorMessages: 10 },
  { label: 'general chat, 100 messages', chat: 'general', priorMessages: 100 },
  { label: 'general chat, 500 messages', chat: 'general', priorMessages: 500 },
  { label: 'general chat, 5,000 messages', chat: 'general', priorMessages: 5_000 },
  { label: 'debrief, turn 1', chat: 'debrief', priorMessages: 0 },
  { label: 'debrief, turn 5', chat: 'debrief', priorMessages: 8 },
  { label: 'debrief, turn 10', chat: 'debrief', priorMessages: 18 },
]

const DESIGNS = ['document', 'deltas', 'paginated', 'agent', 'textStreaming'] as const
type Design = (typeof DESIGNS)[number]
/** The page listMessages is read with in the 'paginated' design. */
const PAGE_SIZE = 20
const DESIGN_LABELS: Record<Design, string> = {
  document: "this backend, liveReply 'document'",
  deltas: "this backend, liveReply 'deltas'",
  paginated: `this backend, 'deltas' + listMessages (page of ${PAGE_SIZE})`,
  agent: '@convex-dev/agent (deltas, page of 10)',
  textStreaming: '@convex-dev/persistent-text-streaming (other clients)',
}

/** About 300 characters, different for every message. */
function historyMessage(index: number): { role: 'user' | 'assistant'; content: string } {
  const role = index % 2 === 0 ? 'user' : 'assistant'
  const base =
    role === 'user'
      ? `(${index}) I have spent the last few years building data pipelines and training models for a retail company. `
      : `(${index}) That background is useful for safety work: evaluation, interpretability tooling and data quality all need it. `
  const filler = 'I would like to understand which of these paths fits my skills, my time and what I want to learn next. '
  return { role, content: (base + filler + filler).slice(0, 300) }
}

type TurnMeasure = {
  firstTextAfterModelMs: number
  pushes: Push[]
  dbBytes: number
  convex: ConvexUnits
  modelMicroUsd: number
}

/** What one turn costs on Convex, from its metered transactions and function runs. */
type ConvexUnits = {
  mutations: number
  actions: number
  /** Queries the turn's functions ran (ctx.runQuery), not the client's subscriptions. */
  queries: number
  /** The client's subscribed queries re-run (or first run, for a moved cursor) after the turn's commits. */
  reruns: number
  /** Component functions called inside the app's transactions (not counted as calls in the price). */
  componentCalls: number
  turnBytesRead: number
  rerunBytesRead: number
  bytesWritten: number
  billedBytesRead: number
  billedBytesWritten: number
}

function convexUnits(meter: Meter): ConvexUnits {
  const topLevel = meter.runs.filter((run) => !run.nested)
  const client = (tag: string | undefined) => tag === 'client'
  const sum = (values: number[]) => values.reduce((total, value) => total + value, 0)
  const turn = meter.transactions.filter((transaction) => !client(transaction.tag))
  const reruns = meter.transactions.filter((transaction) => client(transaction.tag))
  return {
    mutations: topLevel.filter((run) => run.udfType === 'mutation' && !client(run.tag)).length,
    actions: topLevel.filter((run) => run.udfType === 'action' && !client(run.tag)).length,
    queries: topLevel.filter((run) => run.udfType === 'query' && !client(run.tag)).length,
    reruns: topLevel.filter((run) => run.udfType === 'query' && client(run.tag)).length,
    componentCalls: meter.runs.filter((run) => run.nested).length,
    turnBytesRead: sum(turn.map((transaction) => transaction.bytesRead)),
    rerunBytesRead: sum(reruns.map((transaction) => transaction.bytesRead)),
    bytesWritten: sum(meter.transactions.map((transaction) => transaction.bytesWritten)),
    billedBytesRead: sum(meter.transactions.map((transaction) => transaction.billedBytesRead)),
    billedBytesWritten: sum(meter.transactions.map((transaction) => transaction.billedBytesWritten)),
  }
}

/** Convex's published rates (see the top of this file). */
const USD_PER_FUNCTION_CALL = 2 / 1_000_000
const USD_PER_GIB_IO = 0.2
const convexUsd = (units: ConvexUnits) =>
  (units.mutations + units.actions + units.queries + units.reruns) * USD_PER_FUNCTION_CALL +
  ((units.billedBytesRead + units.billedBytesWritten) / 2 ** 30) * USD_PER_GIB_IO

/** The turn's model call priced as the model server reported it (its token estimate: JSON length / 4). */
function modelCallMicroUsd(server: ModelServer, requestIndex: number): number {
  const request = server.requests[requestIndex]
  if (!request) return 0
  const inputTokens = Math.ceil(JSON.stringify(request.body).length / 4)
  return costMicroUsd('claude-haiku-4-5-20251001', { inputTokens, outputTokens: REPLY_CHUNKS.length })
}

async function backendFactories() {
  const ours = await benchBackendFactory()
  const agentApp = await preload(import.meta.glob('./peers/agent/convex/**/*.ts'))
  const agent = await preload(agentTest.modules)
  const textStreamingApp = await preload(import.meta.glob('./peers/textStreaming/convex/**/*.ts'))
  const textStreaming = await preload(textStreamingTest.modules)
  return {
    ours,
    agent: () => {
      const t = convexTest(agentSchema, agentApp)
      t.registerComponent('agent', agentTest.schema, agent)
      return t
    },
    textStreaming: () => {
      const t = convexTest(textStreamingSchema, textStreamingApp)
      t.registerComponent('persistentTextStreaming', textStreamingTest.schema, textStreaming)
      return t
    },
  }
}
type Factories = Awaited<ReturnType<typeof backendFactories>>
type AnyBackend = ReturnType<Factories[keyof Factories]>

const deltaReplyDocuments = (w: CommittedWrite) =>
  w.component === '' &&
  ((w.table === 'enrichmentMessages' && w.value?.role === 'assistant') || w.table === 'liveReplyChunks')
/** The documents that hold a reply or its stream, in each design. */
const REPLY_DOCUMENTS: Record<Design, (write: CommittedWrite) => boolean> = {
  document: (w) => w.component === '' && w.table === 'enrichmentMessages' && w.value?.role === 'assistant',
  deltas: deltaReplyDocuments,
  paginated: deltaReplyDocuments,
  agent: (w) =>
    w.component === 'agent' &&
    (w.table === 'streamingMessages' ||
      w.table === 'streamDeltas' ||
      (w.table === 'messages' && (w.value?.message as { role?: string } | undefined)?.role === 'assistant')),
  textStreaming: (w) => w.component === 'persistentTextStreaming' && (w.table === 'streams' || w.table === 'chunks'),
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Runs one turn with `client` subscribed, counting pushes and the reply's DB bytes. */
async function measureTurn(
  t: AnyBackend,
  server: ModelServer,
  design: Design,
  client: SimulatedClient,
  drive: () => Promise<void>,
): Promise<TurnMeasure> {
  await client.prime()
  let dbBytes = 0
  const requestIndex = server.requests.length
  server.reply({
    kind: 'text',
    text: REPLY,
    chunks: REPLY_CHUNKS,
    firstTokenDelayMs: FIRST_TOKEN_DELAY_MS,
    chunkIntervalMs: TOKEN_INTERVAL_MS,
  })
  // The meter first, so that the watcher's re-runs are metered as the client's.
  const meter = await meterTransactions(t)
  const watcher = await watchCommits(t, async (writes) => {
    for (const write of writes) {
      if (write.value && REPLY_DOCUMENTS[design](write)) dbBytes += getDocumentSize(write.value as Record<string, Value>)
    }
    await meter.tagged('client', () => client.refresh(writes))
  })
  try {
    await drive()
    await watcher.stop()
  } finally {
    meter.stop()
  }
  const firstToken = server.requests[requestIndex]?.firstTextAt
  if (firstToken === undefined || client.firstTextAt === undefined) {
    throw new Error(`${design}: the model sent no text, or the client never saw any`)
  }
  return {
    firstTextAfterModelMs: client.firstTextAt - firstToken,
    pushes: client.pushes,
    dbBytes,
    convex: convexUnits(meter),
    modelMicroUsd: modelCallMicroUsd(server, requestIndex),
  }
}

const ourBackends: ReturnType<Factories['ours']>[] = []

async function ourTurn(
  factories: Factories,
  server: ModelServer,
  scenario: (typeof SCENARIOS)[number],
  design: 'document' | 'deltas' | 'paginated',
) {
  const t = factories.ours()
  ourBackends.push(t)
  const user = await makeUser(t, { name: 'Bench User', headline: 'ML engineer moving into AI safety', skills: ['Python'] })
  const actionId: Id<'careerActions'> | undefined =
    scenario.chat === 'debrief' ? await makeAction(t, user.profileId, { status: 'done', completedAt: 1 }) : undefined
  const link = actionId ? { actionId } : {}
  await seedMessages(
    t,
    user.profileId,
    Array.from({ length: scenario.priorMessages }, (_, i) => ({ ...historyMessage(i), ...link })),
  )
  // usePaginatedQuery's newest page: once loaded, Convex keeps its range (its end cursor) on
  // every re-run, so the page grows with new messages instead of sliding.
  let endCursor: string | undefined
  const readPage = async () => {
    const result = await user.as.query(api.enrichment.queries.listMessages, {
      profileId: user.profileId,
      ...link,
      paginationOpts: { numItems: PAGE_SIZE, cursor: null, ...(endCursor !== undefined && { endCursor }) },
    })
    endCursor ??= result.continueCursor
    return result
  }
  const readChat = () =>
    design === 'paginated'
      ? readPage()
      : actionId
        ? user.as.query(api.enrichment.queries.getCompletionMessagesPublic, { profileId: user.profileId, actionId })
        : user.as.query(api.enrichment.queries.getMessagesPublic, { profileId: user.profileId })
  const client =
    design === 'document'
      ? new DocumentModeClient(readChat)
      : new DeltaModeClient(readChat, (cursor) =>
          user.as.query(api.enrichment.queries.getLiveReply, {
            profileId: user.profileId,
            ...link,
            ...(cursor !== undefined && { cursor }),
          }),
        )
  const message = 'I finished replicating the induction heads paper.'
  const liveReply: 'document' | 'deltas' = design === 'document' ? 'document' : 'deltas'
  return await measureTurn(t, server, design, client, async () => {
    if (actionId) {
      await user.as.action(api.enrichment.conversation.sendCompletionMessage, {
        profileId: user.profileId, actionId, message, liveReply,
      })
    } else {
      await user.as.action(api.enrichment.conversation.sendMessage, { profileId: user.profileId, message, liveReply })
    }
  })
}

async function agentTurn(factories: Factories, server: ModelServer, scenario: (typeof SCENARIOS)[number]) {
  const t = factories.agent()
  const chat = anyApi.chat
  const history = Array.from({ length: scenario.priorMessages }, (_, i) => historyMessage(i))
  const threadId: string = await t.mutation(chat.createThreadWithHistory, { messages: history })
  const client = new AgentClient((args) => t.query(chat.listThreadMessages, { threadId, ...args }))
  return await measureTurn(t, server, 'agent', client, async () => {
    await t.mutation(chat.sendMessage, { threadId, prompt: 'I finished replicating the induction heads paper.' })
    // The reply is written by the scheduled action; wait for it to finish.
    for (let attempt = 0; attempt < 1_000; attempt++) {
      await t.finishInProgressScheduledFunctions()
      if (await t.query(chat.replyFinished, { threadId })) return
      await sleep(10)
    }
    throw new Error('agent: the reply never finished')
  })
}

async function textStreamingTurn(factories: Factories, server: ModelServer, scenario: (typeof SCENARIOS)[number]) {
  const t = factories.textStreaming()
  const messages = anyApi.messages
  const exchanges = []
  for (let i = 0; i + 1 < scenario.priorMessages; i += 2) {
    exchanges.push({ prompt: historyMessage(i).content, reply: historyMessage(i + 1).content })
  }
  await t.mutation(messages.seedHistory, { exchanges })
  const client = new TextStreamingOtherClient(
    () => t.query(messages.listMessages, {}),
    (streamId) => t.query(messages.getChatBody, { streamId }),
  )
  return await measureTurn(t, server, 'textStreaming', client, async () => {
    const streamId: string = await t.mutation(messages.sendMessage, {
      prompt: 'I finished replicating the induction heads paper.',
    })
    // The browser that asked reads the HTTP stream to its end; the component saves as it goes.
    const response = await t.fetch('/chat-stream', { method: 'POST', body: JSON.stringify({ streamId }) })
    const streamed = await response.text()
    if (streamed !== REPLY) throw new Error('persistent-text-streaming: the HTTP stream did not carry the reply')
  })
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/** Pushes of the chat query other than its first and last in the turn (the turn's start and end). */
function streamingPushes(pushes: Push[]): Push[] {
  const chat = pushes.map((push, index) => (push.kind === 'chat' ? index : -1)).filter((index) => index >= 0)
  const edges = new Set([chat[0], chat.at(-1)])
  return pushes.filter((_, index) => !edges.has(index))
}

function summarize(measures: TurnMeasure[]) {
  const sum = (pushes: Push[]) => pushes.reduce((total, push) => total + push.bytes, 0)
  return {
    firstText: median(measures.map((m) => m.firstTextAfterModelMs)),
    pushes: median(measures.map((m) => m.pushes.length)),
    chatPushes: median(measures.map((m) => m.pushes.filter((push) => push.kind === 'chat').length)),
    bytes: median(measures.map((m) => sum(m.pushes))),
    streamingBytes: median(measures.map((m) => sum(streamingPushes(m.pushes)))),
    dbBytes: median(measures.map((m) => m.dbBytes)),
    convex: Object.fromEntries(
      (Object.keys(measures[0]?.convex ?? {}) as (keyof ConvexUnits)[]).map((key) => [key, median(measures.map((m) => m.convex[key]))]),
    ) as ConvexUnits,
    convexUsd: median(measures.map((m) => convexUsd(m.convex))),
    modelUsd: median(measures.map((m) => m.modelMicroUsd / 1e6)),
  }
}

const usd = (dollars: number) => (dollars >= 1 ? `$${dollars.toFixed(2)}` : dollars >= 0.01 ? `$${dollars.toFixed(3)}` : `$${dollars.toFixed(4)}`)

const kb = (bytes: number) => (bytes >= 10_000 ? `${(bytes / 1000).toFixed(0)} KB` : bytes >= 1_000 ? `${(bytes / 1000).toFixed(1)} KB` : `${bytes} B`)
const times = (bytes: number) => `${(bytes / REPLY_BYTES).toFixed(bytes / REPLY_BYTES >= 10 ? 0 : 1)}×`

async function pendingExpiryJobs() {
  let pending = 0
  for (const t of ourBackends) {
    const jobs = await t.run(async (ctx) => ctx.db.system.query('_scheduled_functions').collect())
    pending += jobs.filter((job) => job.name.includes('expireReply') && job.state.kind === 'pending').length
  }
  return pending
}

export async function main() {
  letLongTimersLapse()
  const server = await startModelServer()
  process.env.ANTHROPIC_API_KEY = 'bench-key'
  process.env.ANTHROPIC_BASE_URL = server.url
  try {
    const factories = await backendFactories()
    const results = new Map<string, TurnMeasure[]>()
    const only = process.env.BENCH_DESIGNS?.split(',')
    const designs = DESIGNS.filter((design) => !only || only.includes(design))
    const sizes = process.env.BENCH_SCENARIOS?.split('|')
    const scenarios = SCENARIOS.filter((scenario) => !sizes || sizes.some((size) => scenario.label.includes(size)))
    const turn = (design: Design, scenario: (typeof SCENARIOS)[number]) =>
      design === 'agent'
        ? agentTurn(factories, server, scenario)
        : design === 'textStreaming'
          ? textStreamingTurn(factories, server, scenario)
          : ourTurn(factories, server, scenario, design)
    // One turn of each design first, not counted: the first run of any code path is slower.
    for (const design of designs) await turn(design, SCENARIOS[0])
    for (let round = 0; round < TURNS_PER_CELL; round++) {
      for (const scenario of scenarios) {
        for (const design of designs) {
          const key = `${scenario.label}|${design}`
          results.set(key, [...(results.get(key) ?? []), await turn(design, scenario)])
        }
      }
    }

    const lines = [
      `Model: first token after ${FIRST_TOKEN_DELAY_MS} ms, then ${REPLY_CHUNKS.length} tokens ${TOKEN_INTERVAL_MS} ms apart; reply ${REPLY_BYTES} bytes.`,
      `History messages about 300 characters each. ${TURNS_PER_CELL} turns per cell, medians; each turn on a fresh backend.`,
      `Machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, convex-test`,
      '',
      '| history | design | first text after the model\'s first token | pushes per turn (chat query) | bytes pushed per turn | ÷ reply | while streaming ÷ reply | DB bytes written for the reply | ÷ reply |',
      '|---|---|---|---|---|---|---|---|---|',
    ]
    for (const scenario of scenarios) {
      for (const design of designs) {
        const s = summarize(results.get(`${scenario.label}|${design}`) ?? [])
        lines.push(
          `| ${scenario.label} | ${DESIGN_LABELS[design]} | ${Math.round(s.firstText)} ms | ${s.pushes} (${s.chatPushes}) | ${kb(s.bytes)} | ${times(s.bytes)} | ${times(s.streamingBytes)} | ${kb(s.dbBytes)} | ${times(s.dbBytes)} |`,
        )
      }
    }
    lines.push(
      '',
      'What a turn costs on Convex (medians; from the client subscribing to the end of the turn). Calls: the turn\'s mutations / actions / queries it ran / the client\'s query re-runs (+ component calls inside them, not priced). Read: by the turn\'s own transactions + by the re-runs. Priced per 1,000 turns at $2 per million calls and $0.20 per GiB of I/O (documents rounded up to 1 KiB), beside the model call at its price (Claude Haiku 4.5).',
      '',
      '| history | design | function calls (m / a / q / re-runs, + components) | DB bytes read (turn + re-runs) | DB bytes written | Convex per 1,000 turns | model per 1,000 turns |',
      '|---|---|---|---|---|---|---|',
    )
    for (const scenario of scenarios) {
      for (const design of designs) {
        const s = summarize(results.get(`${scenario.label}|${design}`) ?? [])
        const c = s.convex
        const calls = c.mutations + c.actions + c.queries + c.reruns
        lines.push(
          `| ${scenario.label} | ${DESIGN_LABELS[design]} | ${calls} (${c.mutations} / ${c.actions} / ${c.queries} / ${c.reruns}, + ${c.componentCalls}) | ${kb(c.turnBytesRead + c.rerunBytesRead)} (${kb(c.turnBytesRead)} + ${kb(c.rerunBytesRead)}) | ${kb(c.bytesWritten)} | ${usd(s.convexUsd * 1000)} | ${usd(s.modelUsd * 1000)} |`,
        )
      }
    }
    if (designs.some((design) => design === 'document' || design === 'deltas' || design === 'paginated')) {
      lines.push('', `Reply expiry jobs of this backend still pending after the run: ${await pendingExpiryJobs()}`)
    }
    console.log(lines.join('\n'))
  } finally {
    await server.close()
  }
}
