// npm run bench:models: what switching models changes, measured against the local model server
// (which simulates thinking volume per effort and the newer tokenizer; see modelServer.ts).
// A script, not a test: it measures and asserts nothing.
//  1. The chat's thinking choice on Haiku 5.5 and on an always-thinking model (Opus 5.5): each
//     candidate request, timed from the call to the first answer text and to the end.
//  2. Tokens and cost per call, Haiku 4.5 next to Haiku 5.5 (and Opus 5.5), for one debrief,
//     its extraction and a general-chat turn run through the real backend, read from the
//     modelUsage rows (each priced when written, from the price table).
import Anthropic from '@anthropic-ai/sdk'
import { api } from '../convex/_generated/api'
import { generateReply, MAX_REPLY_TOKENS, THINKING_ROOM_TOKENS } from '../convex/ai/claude'
import { makeAction, makeUser } from '../tests/support/fixtures'
import { SIMULATED_THINKING_TOKENS, startModelServer, type ModelServer } from '../tests/support/modelServer'
import { benchBackendFactory, letLongTimersLapse } from './backend'

const FIRST_TOKEN_DELAY_MS = 400
const TOKEN_INTERVAL_MS = 20 // 50 tokens/s, thinking included
const REPLY_WORDS = 100
const RUNS = 2
const SYSTEM = 'You are a career coach. Answer in a short paragraph.'
const HISTORY = [{ role: 'user' as const, content: 'I finished replicating the induction heads paper.' }]

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

const reply = Array.from({ length: REPLY_WORDS }, (_, i) => `word${i} `).join('')
const script = () => ({
  kind: 'text' as const,
  text: reply,
  firstTokenDelayMs: FIRST_TOKEN_DELAY_MS,
  chunkIntervalMs: TOKEN_INTERVAL_MS,
})

type Timed = { firstTextMs: number | null; completeMs: number; stopReason: string | null; outputTokens: number; chars: number }

/** One streamed call with a request body of our choosing (the candidates the backend does not send). */
async function timedRequest(server: ModelServer, body: Record<string, unknown>): Promise<Timed> {
  server.reply(script())
  const client = new Anthropic({ apiKey: 'bench-key', baseURL: server.url, maxRetries: 0 })
  const start = performance.now()
  let firstTextMs: number | null = null
  let stopReason: string | null = null
  let outputTokens = 0
  let chars = 0
  const events = await client.messages.create({
    model: 'claude-haiku-5-5', max_tokens: 1, system: SYSTEM, messages: HISTORY, ...body, stream: true,
  })
  for await (const event of events) {
    if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') {
      firstTextMs ??= performance.now() - start
      chars += event.delta.text.length
    } else if (event.type === 'message_delta') {
      stopReason = event.delta.stop_reason
      outputTokens = event.usage.output_tokens
    }
  }
  return { firstTextMs, completeMs: performance.now() - start, stopReason, outputTokens, chars }
}

/** One streamed call through generateReply: the request the backend itself sends. */
async function timedBackendReply(server: ModelServer, model: string): Promise<Timed> {
  server.reply(script())
  const start = performance.now()
  let firstTextMs: number | null = null
  const outcome = await generateReply({
    system: SYSTEM,
    messages: HISTORY,
    stream: true,
    model: { id: model, setting: 'MODEL_CHAT' },
    onText: () => (firstTextMs ??= performance.now() - start),
  })
  return {
    firstTextMs,
    completeMs: performance.now() - start,
    stopReason: outcome.ok ? 'end_turn' : String(outcome.error.data),
    outputTokens: outcome.usage.outputTokens,
    chars: outcome.ok ? outcome.value.length : outcome.partialText.length,
  }
}

async function candidates(server: ModelServer) {
  const replyCap = Math.ceil(MAX_REPLY_TOKENS * 1.3)
  const rows: { model: string; request: string; runs: Timed[] }[] = []
  const measure = async (model: string, request: string, run: () => Promise<Timed>) => {
    const runs: Timed[] = []
    for (let i = 0; i < RUNS; i++) runs.push(await run())
    rows.push({ model, request, runs })
  }
  const haiku = 'claude-haiku-5-5'
  const opus = 'claude-opus-5-5'
  await measure(haiku, 'unchanged: no thinking setting, max_tokens 500', () =>
    timedRequest(server, { model: haiku, max_tokens: MAX_REPLY_TOKENS }))
  await measure(haiku, `effort low, max_tokens ${replyCap}`, () =>
    timedRequest(server, { model: haiku, max_tokens: replyCap, output_config: { effort: 'low' } }))
  await measure(haiku, `room: default effort, max_tokens ${replyCap + THINKING_ROOM_TOKENS}`, () =>
    timedRequest(server, { model: haiku, max_tokens: replyCap + THINKING_ROOM_TOKENS }))
  await measure(haiku, `**chosen**: thinking disabled, max_tokens ${replyCap}`, () => timedBackendReply(server, haiku))
  await measure(opus, `default effort, max_tokens ${replyCap}`, () =>
    timedRequest(server, { model: opus, max_tokens: replyCap }))
  await measure(opus, `**chosen**: effort low, max_tokens ${replyCap + THINKING_ROOM_TOKENS}`, () => timedBackendReply(server, opus))
  return rows
}

type CallTokens = { label: string; inputTokens: number; outputTokens: number; costMicroUsd?: number; succeeded: boolean }

/** A three-turn debrief and its extraction through the backend, on one model for everything. */
async function debriefTokens(server: ModelServer, newBackend: () => ReturnType<Awaited<ReturnType<typeof benchBackendFactory>>>, model: string) {
  process.env.MODEL_CHAT = model
  process.env.MODEL_EXTRACTION = model
  const t = newBackend()
  const user = await makeUser(t, { name: 'Bench User', headline: 'ML engineer moving into AI safety', skills: ['Python'] })
  const actionId = await makeAction(t, user.profileId, { status: 'done' })
  const messages = ['I replicated the paper.', 'The hardest part was the data pipeline.', 'Next I want to write it up.']
  for (const message of messages) {
    server.reply({ kind: 'text', text: reply })
    await user.as.action(api.enrichment.conversation.sendCompletionMessage, { profileId: user.profileId, actionId, message })
  }
  server.reply({
    kind: 'tool',
    name: 'save_profile_updates',
    input: { skills_mentioned: ['PyTorch', 'Data pipelines'], career_interests: ['Interpretability'], career_goals: 'Publish a replication write-up.' },
  })
  await user.as.action(api.enrichment.extraction.extractFromConversation, { profileId: user.profileId, actionId, messages: [] })
  server.reply({ kind: 'text', text: reply })
  await user.as.action(api.enrichment.conversation.sendMessage, { profileId: user.profileId, message: messages[0] })
  const rows = await t.run(async (ctx) => ctx.db.query('modelUsage').collect())
  const labels = [...messages.map((_, index) => `debrief turn ${index + 1}`), 'extraction', 'general chat turn 1']
  return rows.map((row, index): CallTokens => ({
    label: labels[index],
    inputTokens: row.inputTokens,
    outputTokens: row.outputTokens,
    costMicroUsd: row.costMicroUsd,
    succeeded: row.succeeded,
  }))
}

export async function main() {
  letLongTimersLapse()
  const server = await startModelServer()
  process.env.ANTHROPIC_API_KEY = 'bench-key'
  process.env.ANTHROPIC_BASE_URL = server.url
  process.env.CHAT_STREAMING = 'on'
  const newBackend = await benchBackendFactory()
  try {
    const chat = await candidates(server)
    const models = ['claude-haiku-4-5-20251001', 'claude-haiku-5-5', 'claude-opus-5-5']
    const tokens: Record<string, CallTokens[]> = {}
    for (const model of models) tokens[model] = await debriefTokens(server, newBackend, model)

    const dollars = (micro: number | undefined) => (micro === undefined ? 'unpriced' : `$${(micro / 1e6).toFixed(6)}`)
    const ms = (value: number | null) => (value === null ? 'never' : `${Math.round(value)} ms`)
    const lines = [
      `Simulated model: first token after ${FIRST_TOKEN_DELAY_MS} ms, then ${1000 / TOKEN_INTERVAL_MS} tokens/s (thinking too); a ${REPLY_WORDS}-word reply (${REPLY_WORDS} tokens on Haiku 4.5, x1.3 on the newer tokenizer); thinking per request: ${Object.entries(SIMULATED_THINKING_TOKENS).map(([effort, count]) => `${effort} ${count}`).join(', ')} tokens (assumed, not measured on Claude). Medians of ${RUNS} runs.`,
      '',
      '| model | chat request | stop | answer text received | first answer text | complete | output tokens |',
      '|---|---|---|---|---|---|---|',
      ...chat.map(({ model, request, runs }) =>
        `| ${model} | ${request} | ${runs[0].stopReason} | ${median(runs.map((r) => r.chars))} of ${reply.length} chars | ${ms(runs.some((r) => r.firstTextMs === null) ? null : median(runs.map((r) => r.firstTextMs ?? 0)))} | ${ms(median(runs.map((r) => r.completeMs)))} | ${median(runs.map((r) => r.outputTokens))} |`),
      '',
      `| tokens per call (input / output) and its cost, simulated | ${models.join(' | ')} |`,
      `|---|${models.map(() => '---').join('|')}|`,
      ...tokens[models[0]].map((call, index) =>
        `| ${call.label} | ${models.map((model) => {
          const row = tokens[model][index]
          return `${row.inputTokens} / ${row.outputTokens}, ${dollars(row.costMicroUsd)}${row.succeeded ? '' : ' (failed)'}`
        }).join(' | ')} |`),
      `| total | ${models.map((model) => {
        const rows = tokens[model]
        return `${rows.reduce((sum, row) => sum + row.inputTokens, 0)} / ${rows.reduce((sum, row) => sum + row.outputTokens, 0)}, ${dollars(rows.reduce((sum, row) => sum + (row.costMicroUsd ?? NaN), 0))}`
      }).join(' | ')} |`,
    ]
    console.log(lines.join('\n'))
  } finally {
    await server.close()
  }
}
