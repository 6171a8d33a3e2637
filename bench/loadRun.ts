// npm run bench:load: many users at once on one backend. Each user has a 10-turn general chat
// and a debrief (an opening and two more turns) followed by an extraction, interleaved with
// every other user's, against the local model server answering like the real one (first token
// after 300-600 ms, then the reply streamed token by token). It reports turns per second and
// first-text and reply latency percentiles, then checks that nothing was lost or counted twice:
// every user message stored once with its finished reply, one usage row per model call, the
// daily ceilings' counters and the operator's report equal to the sums of the usage rows. It
// exits non-zero when a check fails.
//
// convex-test runs every transaction in this one process, one at a time: the latencies measure
// this backend's own overhead (and convex-test's) under many users, not a deployment's.
//
// LOAD_USERS (default 200), LOAD_GENERAL_TURNS (default 10), LOAD_THINK_MS (default 8000-20000,
// "min-max": the pause between a reply and the user's next message, reading it and typing),
// LOAD_ARRIVAL_MS (default 20000: users start at random within it). With pauses of 1.5-4 s (a
// person answering a 55-word reply within 4 s) 200 users ask for about 35 model calls a second;
// this one process runs about 10-25 (every transaction in turn, on one core), so the run
// measured convex-test's queue, not the backend, and turns ran into the 60 s model deadline.
import os from 'node:os'
import { api, internal } from '../convex/_generated/api'
import type { Id } from '../convex/_generated/dataModel'
import { spentToday } from '../convex/lib/spending/ceilings'
import { watchCommits } from '../tests/support/commitWatcher'
import { makeAction, makeUser } from '../tests/support/fixtures'
import { startModelServer, wordChunks, type ModelServer, type RecordedRequest, type ScriptedReply } from '../tests/support/modelServer'
import { benchBackendFactory, letLongTimersLapse, listTablesApart } from './backend'

const USERS = Number(process.env.LOAD_USERS ?? 200)
const GENERAL_TURNS = Number(process.env.LOAD_GENERAL_TURNS ?? 10)
const DEBRIEF_TURNS = 3
const [THINK_MIN_MS, THINK_MAX_MS] = (process.env.LOAD_THINK_MS ?? '8000-20000').split('-').map(Number)
const ARRIVAL_MS = Number(process.env.LOAD_ARRIVAL_MS ?? 20_000)
const FIRST_TOKEN_MS = [300, 600] as const
const TOKEN_INTERVAL_MS = 25
const CEILING_SNAPSHOT_EVERY_MS = 10_000

const REPLY =
  'That is a good step. Replicating a result end to end teaches you more than reading ten papers, and it ' +
  'shows in how you talk about it. What would you like to try next: a second replication, a small ' +
  'extension of this one, or writing up what you learned so that others can follow it?'
const TOOL = 'save_profile_updates'

const between = (min: number, max: number) => min + Math.random() * (max - min)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A reply like the real model's: text streamed after a first-token delay, or the extraction tool. */
function answer(body: RecordedRequest['body']): ScriptedReply {
  if (body.tools?.some((tool) => tool.name === TOOL)) {
    return { kind: 'tool', name: TOOL, input: { skills_mentioned: ['PyTorch'], career_interests: ['interpretability'] } }
  }
  return {
    kind: 'text',
    text: REPLY,
    chunks: wordChunks(REPLY),
    firstTokenDelayMs: Math.round(between(...FIRST_TOKEN_MS)),
    chunkIntervalMs: TOKEN_INTERVAL_MS,
  }
}

/** Failures grouped by kind (the text without its quoted message), with a count and one example. */
function summarize(failures: string[]) {
  const kinds = new Map<string, { count: number; example: string }>()
  for (const failure of failures) {
    const kind = failure.replace(/"[^"]*"/g, '"…"').replace(/\d+/g, 'N')
    const seen = kinds.get(kind)
    if (seen) seen.count++
    else kinds.set(kind, { count: 1, example: failure })
  }
  return [...kinds.values()].map(({ count, example }) => `${count} × ${example}`)
}

function percentile(values: number[], p: number) {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
}

type TurnRecord = { key: string; sentAt: number; firstTextAt?: number; doneAt?: number; refusals: number }

export async function main() {
  letLongTimersLapse()
  const server: ModelServer = await startModelServer()
  process.env.ANTHROPIC_API_KEY = 'load-key'
  process.env.ANTHROPIC_BASE_URL = server.url
  process.env.MODEL_DAILY_TOKEN_BUDGET = String(10 ** 12)
  process.env.MODEL_DAILY_BUDGET_USD = String(10 ** 6)
  server.answerWith(answer)
  const failures: string[] = []
  try {
    const t = (await benchBackendFactory())()
    await listTablesApart(t)
    const setupStarted = performance.now()
    const users: { userId: Id<'users'>; profileId: Id<'profiles'>; actionId: Id<'careerActions'>; as: Awaited<ReturnType<typeof makeUser>>['as'] }[] = []
    for (let i = 0; i < USERS; i++) {
      const user = await makeUser(t, { name: `User ${i}`, skills: ['Python'] })
      const actionId = await makeAction(t, user.profileId, { status: 'done', completedAt: 5, completionConversationStarted: true })
      users.push({ ...user, actionId })
    }
    const setupMs = performance.now() - setupStarted

    // First text: the commit that writes a reply's first chunk, found from the commit that
    // stored the user's message (its text names the turn) and the reply's empty document.
    const turns = new Map<string, TurnRecord>()
    const replyTurn = new Map<string, string>()
    const watcher = await watchCommits(t, (writes) => {
      const now = performance.now()
      const sent = writes.find((w) => w.table === 'enrichmentMessages' && w.value?.role === 'user')
      const reply = writes.find((w) => w.table === 'enrichmentMessages' && w.value?.role === 'assistant' && w.value?.status === 'streaming')
      if (sent && reply) replyTurn.set(reply.id, String(sent.value?.content))
      for (const write of writes) {
        if (write.table !== 'liveReplyChunks' || !write.value) continue
        const turn = turns.get(replyTurn.get(String(write.value.replyId)) ?? '')
        if (turn && turn.firstTextAt === undefined) turn.firstTextAt = now
      }
    })

    // The cron that keeps the ceilings' snapshot, as a deployment runs it.
    let snapshots = 0
    const snapshotTimer = setInterval(() => {
      void t.mutation(internal.ceilings.refreshCeilingSnapshot, {}).then(() => snapshots++)
    }, CEILING_SNAPSHOT_EVERY_MS)

    /** One turn, re-sent after the wait a RATE_LIMITED refusal names, as a person would. */
    async function turn(key: string, send: () => Promise<unknown>) {
      const record: TurnRecord = { key, sentAt: performance.now(), refusals: 0 }
      turns.set(key, record)
      for (;;) {
        try {
          await send()
          record.doneAt = performance.now()
          return
        } catch (error) {
          const data = (error as { data?: { code?: string; retryAfterMs?: number } }).data
          if (data?.code !== 'RATE_LIMITED') throw error
          record.refusals++
          await sleep((data.retryAfterMs ?? 1000) + 50)
          record.sentAt = performance.now()
        }
      }
    }

    const sentMessages = new Map<string, { profileId: Id<'profiles'>; actionId?: Id<'careerActions'> }>()
    async function runUser(index: number) {
      const user = users[index]
      await sleep(between(0, ARRIVAL_MS)) // users arrive over the first seconds
      const plan: ('general' | 'debrief' | 'extract')[] = []
      for (let i = 0; i < GENERAL_TURNS; i++) plan.push('general')
      const debriefAt = Math.floor(GENERAL_TURNS / 2)
      plan.splice(debriefAt, 0, ...Array<'debrief'>(DEBRIEF_TURNS).fill('debrief'), 'extract')
      let general = 0
      let debrief = 0
      for (const step of plan) {
        if (step === 'general') {
          const message = `user ${index} general ${general++}: I have been reading about interpretability this week.`
          sentMessages.set(message, { profileId: user.profileId })
          await turn(message, () =>
            user.as.action(api.enrichment.conversation.sendMessage, { profileId: user.profileId, message, liveReply: 'deltas' }),
          )
        } else if (step === 'debrief') {
          const message = `user ${index} debrief ${debrief}: I finished the replication and it worked.`
          sentMessages.set(message, { profileId: user.profileId, actionId: user.actionId })
          const opening = debrief === 0
          debrief++
          await turn(message, () =>
            user.as.action(api.enrichment.conversation.sendCompletionMessage, {
              profileId: user.profileId,
              actionId: user.actionId,
              message,
              liveReply: 'deltas',
              ...(opening && {
                actionContext: { title: 'Replicate the induction heads paper', description: 'Reproduce it.', type: 'replicate' },
              }),
            }),
          )
        } else {
          await turn(`user ${index} extraction`, () =>
            user.as.action(api.enrichment.extraction.extractFromConversation, {
              profileId: user.profileId,
              actionId: user.actionId,
              messages: [
                { role: 'user', content: 'I finished the replication and it worked.' },
                { role: 'assistant', content: REPLY },
              ],
            }),
          )
        }
        await sleep(between(THINK_MIN_MS, THINK_MAX_MS))
      }
    }

    const started = performance.now()
    const outcomes = await Promise.allSettled(users.map((_, index) => runUser(index)))
    const elapsedMs = performance.now() - started
    clearInterval(snapshotTimer)
    await watcher.stop()
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') failures.push(`a user's run failed: ${String(outcome.reason)}`)
    }

    // ---- The check: nothing lost, nothing counted twice ----
    const stored = await t.run(async (ctx) => {
      const messages = await ctx.db.query('enrichmentMessages').collect()
      const usage = await ctx.db.query('modelUsage').collect()
      const counted = {
        tokens: await spentToday(ctx, 'modelTokensPerDay'),
        microUsd: await spentToday(ctx, 'modelMicroUsdPerDay'),
      }
      return { messages, usage, counted }
    })
    const byChat = new Map<string, typeof stored.messages>()
    for (const message of stored.messages) {
      const chat = `${message.profileId}|${message.actionId ?? ''}`
      byChat.set(chat, [...(byChat.get(chat) ?? []), message])
    }
    for (const chat of byChat.values()) chat.sort((a, b) => a.createdAt - b.createdAt || a._creationTime - b._creationTime)
    let messagesChecked = 0
    for (const [content, where] of sentMessages) {
      const chat = byChat.get(`${where.profileId}|${where.actionId ?? ''}`) ?? []
      const positions = chat.flatMap((message, index) => (message.role === 'user' && message.content === content ? [index] : []))
      if (positions.length !== 1) {
        failures.push(`"${content}" is stored ${positions.length} times`)
        continue
      }
      const reply = chat[positions[0] + 1]
      if (!reply || reply.role !== 'assistant' || reply.status !== undefined || reply.content !== REPLY) {
        failures.push(`"${content}" has no finished reply after it`)
        continue
      }
      messagesChecked++
    }
    const modelCalls = server.requests.length
    if (stored.usage.length !== modelCalls) failures.push(`${stored.usage.length} usage rows for ${modelCalls} model calls`)
    const expectedCalls = USERS * (GENERAL_TURNS + DEBRIEF_TURNS + 1)
    if (modelCalls !== expectedCalls) failures.push(`${modelCalls} model calls, expected ${expectedCalls}`)
    const rowTokens = stored.usage.reduce((sum, row) => sum + row.inputTokens + row.outputTokens, 0)
    const rowMicroUsd = stored.usage.reduce((sum, row) => sum + (row.costMicroUsd ?? 0), 0)
    const rowInput = stored.usage.reduce((sum, row) => sum + row.inputTokens, 0)
    const rowOutput = stored.usage.reduce((sum, row) => sum + row.outputTokens, 0)
    if (stored.counted.tokens !== rowTokens) failures.push(`token ceiling counted ${stored.counted.tokens}, rows sum to ${rowTokens}`)
    if (stored.counted.microUsd !== rowMicroUsd) failures.push(`dollar ceiling counted ${stored.counted.microUsd} µ$, rows sum to ${rowMicroUsd}`)
    const day = 86_400_000
    const from = Math.floor(Date.now() / day) * day - day
    const report = await t.query(internal.admin.usageReportInternal, { from, to: from + 3 * day, granularity: 'day' })
    const expectedReport = { calls: stored.usage.length, failedCalls: 0, inputTokens: rowInput, outputTokens: rowOutput }
    const { costUsd, ...reportCounts } = report.totals
    if (JSON.stringify(reportCounts) !== JSON.stringify(expectedReport)) {
      failures.push(`report totals ${JSON.stringify(reportCounts)}, rows ${JSON.stringify(expectedReport)}`)
    }
    if (Math.abs(costUsd - rowMicroUsd / 1e6) > 1e-9) failures.push(`report cost $${costUsd}, rows $${rowMicroUsd / 1e6}`)

    // ---- The report ----
    const all = [...turns.values()]
    const chatTurns = all.filter((turn) => !turn.key.endsWith('extraction'))
    const firstText = chatTurns.flatMap((turn) => (turn.firstTextAt !== undefined ? [turn.firstTextAt - turn.sentAt] : []))
    const reply = chatTurns.flatMap((turn) => (turn.doneAt !== undefined ? [turn.doneAt - turn.sentAt] : []))
    const extraction = all.filter((turn) => turn.key.endsWith('extraction')).flatMap((turn) => (turn.doneAt !== undefined ? [turn.doneAt - turn.sentAt] : []))
    const ms = (value: number) => `${Math.round(value)} ms`
    const row = (label: string, values: number[]) =>
      `| ${label} | ${values.length} | ${ms(percentile(values, 50))} | ${ms(percentile(values, 95))} | ${ms(percentile(values, 99))} |`
    const lines = [
      `Load run, ${new Date().toISOString().substring(0, 10)}: ${USERS} users at once on one convex-test backend, each ${GENERAL_TURNS} general turns and a ${DEBRIEF_TURNS}-turn debrief with an extraction, interleaved (liveReply 'deltas').`,
      `Model server: first token after ${FIRST_TOKEN_MS[0]}-${FIRST_TOKEN_MS[1]} ms, then ${wordChunks(REPLY).length} tokens ${TOKEN_INTERVAL_MS} ms apart; users arrive within ${ARRIVAL_MS / 1000} s and pause ${THINK_MIN_MS / 1000}-${THINK_MAX_MS / 1000} s between a reply and their next message; the ceilings' snapshot refreshed every ${CEILING_SNAPSHOT_EVERY_MS / 1000} s (${snapshots} times).`,
      `Machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}. Setup (users, profiles, actions) ${(setupMs / 1000).toFixed(1)} s.`,
      'convex-test runs every transaction in this one process, one at a time: these latencies are this backend\'s own overhead under load (plus convex-test\'s), not a deployment\'s.',
      '',
      `Run: ${(elapsedMs / 1000).toFixed(1)} s; ${chatTurns.length} chat turns and ${extraction.length} extractions, ${(chatTurns.length / (elapsedMs / 1000)).toFixed(2)} chat turns/s (${((chatTurns.length + extraction.length) / (elapsedMs / 1000)).toFixed(2)} model calls/s); ${all.reduce((sum, turn) => sum + turn.refusals, 0)} sends refused RATE_LIMITED and re-sent after the wait.`,
      '',
      '| latency (from send, after any rate-limit wait) | count | p50 | p95 | p99 |',
      '|---|---|---|---|---|',
      row('first text of the reply committed', firstText),
      row('reply finished (action returned)', reply),
      row('extraction returned', extraction),
      '',
      `Check: ${messagesChecked} of ${sentMessages.size} user messages stored once with their finished reply; ${stored.usage.length} usage rows for ${modelCalls} model calls; ceilings counted ${stored.counted.tokens} tokens and ${stored.counted.microUsd} µ$ (rows: ${rowTokens}, ${rowMicroUsd}); report totals ${JSON.stringify(report.totals)}.`,
      failures.length === 0 ? 'Check passed: nothing lost, nothing counted twice.' : `CHECK FAILED (${failures.length}):\n- ${summarize(failures).join('\n- ')}`,
    ]
    console.log(lines.join('\n'))
  } finally {
    await server.close()
  }
  if (failures.length > 0) process.exitCode = 1
}
