// The deployment's spending ceilings: model tokens (input plus output, as the model reports
// them) and dollars (each call priced from the price table), spent by everyone together in one
// UTC day. Checked before a model call, counted after; whichever is reached first refuses.
//
// Counting: each call adds to one of SHARDS_PER_DAY counter documents at random. Checking: the
// check reads the day's snapshot, one document that only a cron writes (every
// CEILING_SNAPSHOT_INTERVAL_MS, summing the shards), never the shards themselves, so no turn
// reads what another user's finishing call writes. The price is an overshoot: what is spent
// between two snapshots is not seen until the next one. A snapshot older than
// CEILING_SNAPSHOT_MAX_AGE_MS (the cron stopped, or a new day began) is not trusted: the check
// then sums the shards itself, exact but contended, as before.
import { ShardedCounter } from '@convex-dev/sharded-counter'
import { ConvexError } from 'convex/values'
import { components } from '../../_generated/api'
import { env, type MutationCtx, type QueryCtx } from '../../_generated/server'
import type { ModelUsage } from '../../ai/claude'
import { requireModelPrice } from '../../ai/prices'
import { describeWait } from '../rateLimits'

/**
 * Tokens a day when MODEL_DAILY_TOKEN_BUDGET is not set: about $5-6 a day on Claude Haiku 4.5
 * ($1 per million input tokens, $5 per million output tokens; replies here are mostly input).
 */
export const DEFAULT_MODEL_DAILY_TOKEN_BUDGET = 5_000_000

// Each count goes to one of these documents at random, so concurrent calls rarely write the
// same one; the check reads them all (a few small documents).
const SHARDS_PER_DAY = 8

const DAY_MS = 24 * 60 * 60 * 1000

/** How often the cron sums the shards into the day's snapshot (convex/crons.ts). */
export const CEILING_SNAPSHOT_INTERVAL_MS = 10_000
/** A snapshot older than this is not trusted: the check sums the shards instead. */
export const CEILING_SNAPSHOT_MAX_AGE_MS = 3 * CEILING_SNAPSHOT_INTERVAL_MS

/** Dollars a day when MODEL_DAILY_BUDGET_USD is not set. */
export const DEFAULT_MODEL_DAILY_BUDGET_USD = 10

/** Names of the deployment-wide ceilings, as `limit` in a BUDGET_EXHAUSTED error. */
export type CeilingName = 'modelTokensPerDay' | 'modelMicroUsdPerDay'

export type BudgetExhaustedError = {
  code: 'BUDGET_EXHAUSTED'
  limit: CeilingName
  retryAfterMs: number
  message: string
}

/** A ceiling's variable when it is a number >= 0 (0 stops every model call), else its default. */
function ceilingFromEnv(name: 'MODEL_DAILY_TOKEN_BUDGET' | 'MODEL_DAILY_BUDGET_USD', fallback: number): number {
  const raw = env[name]?.trim()
  if (!raw) return fallback
  const configured = Number(raw)
  if (Number.isFinite(configured) && configured >= 0) return configured
  // A typo must not lift the ceiling unnoticed: the default applies and the operator is told.
  console.error(`${name} is "${raw}", not a number of 0 or more; using the default, ${fallback}.`)
  return fallback
}

export function modelDailyTokenBudget(): number {
  return ceilingFromEnv('MODEL_DAILY_TOKEN_BUDGET', DEFAULT_MODEL_DAILY_TOKEN_BUDGET)
}

/** The daily dollar ceiling, in micro-dollars (the unit usage rows are priced in). */
export function modelDailyBudgetMicroUsd(): number {
  return Math.round(ceilingFromEnv('MODEL_DAILY_BUDGET_USD', DEFAULT_MODEL_DAILY_BUDGET_USD) * 1e6)
}

function utcDay(now: number): string {
  return new Date(now).toISOString().substring(0, 10)
}

function counterName(ceiling: CeilingName, now: number): string {
  return `${ceiling}:${utcDay(now)}`
}

/** Milliseconds until the next UTC midnight, when every daily ceiling starts again at zero. */
export function msUntilNextUtcDay(now: number): number {
  return DAY_MS - (now % DAY_MS)
}

/** The refusal every deployment-wide ceiling throws, so the frontend shows one kind of message. */
export function budgetExhausted(limit: CeilingName, now = Date.now()): ConvexError<BudgetExhaustedError> {
  const retryAfterMs = msUntilNextUtcDay(now)
  return new ConvexError<BudgetExhaustedError>({
    code: 'BUDGET_EXHAUSTED',
    limit,
    retryAfterMs,
    message:
      'The assistant has reached its usage limit for today across the whole app, so it cannot ' +
      `answer right now. Please try again in ${describeWait(retryAfterMs)}.`,
  })
}

function counter() {
  // A fresh client each time: the package's client sticks to the shard it last wrote, which
  // would send every count of a warm server to one document.
  return new ShardedCounter(components.shardedCounter, { defaultShards: SHARDS_PER_DAY })
}

/** What has been counted against `ceiling` today (UTC): every shard, exact. */
export async function spentToday(ctx: QueryCtx, ceiling: CeilingName, now = Date.now()): Promise<number> {
  return await counter().count(ctx, counterName(ceiling, now))
}

const CEILINGS: CeilingName[] = ['modelTokensPerDay', 'modelMicroUsdPerDay']

async function readSnapshot(ctx: QueryCtx, now: number) {
  return await ctx.db
    .query('ceilingSnapshots')
    .withIndex('by_day', (q) => q.eq('day', utcDay(now)))
    .unique()
}

/**
 * Sums today's shards into today's snapshot (the cron's job) and deletes the snapshots of
 * earlier days. Reads 2 x SHARDS_PER_DAY counter documents; returns what it stored.
 */
export async function refreshCeilingSnapshot(ctx: MutationCtx, now = Date.now()) {
  const totals = {
    modelTokensPerDay: await spentToday(ctx, 'modelTokensPerDay', now),
    modelMicroUsdPerDay: await spentToday(ctx, 'modelMicroUsdPerDay', now),
  }
  const existing = await readSnapshot(ctx, now)
  if (existing) await ctx.db.patch('ceilingSnapshots', existing._id, { ...totals, takenAt: now })
  else await ctx.db.insert('ceilingSnapshots', { day: utcDay(now), ...totals, takenAt: now })
  const older = await ctx.db
    .query('ceilingSnapshots')
    .withIndex('by_day', (q) => q.lt('day', utcDay(now)))
    .take(10)
  for (const snapshot of older) await ctx.db.delete('ceilingSnapshots', snapshot._id)
  return totals
}

/**
 * What the check counts as spent today: the snapshot when it is fresh (one document no call
 * writes), else the sum of the shards.
 */
async function spentForCheck(ctx: MutationCtx, now: number): Promise<Record<CeilingName, number>> {
  const snapshot = await readSnapshot(ctx, now)
  if (snapshot && now - snapshot.takenAt <= CEILING_SNAPSHOT_MAX_AGE_MS) return snapshot
  return {
    modelTokensPerDay: await spentToday(ctx, 'modelTokensPerDay', now),
    modelMicroUsdPerDay: await spentToday(ctx, 'modelMicroUsdPerDay', now),
  }
}

/**
 * Throws BUDGET_EXHAUSTED once today's spending has reached a ceiling, as of the last snapshot
 * (see the top of this file). Call it before anything is stored or sent; a call already under
 * way when the ceiling is reached still counts in full.
 */
export async function requireModelBudget(ctx: MutationCtx): Promise<void> {
  const now = Date.now()
  const budgets: Record<CeilingName, number> = {
    modelTokensPerDay: modelDailyTokenBudget(),
    modelMicroUsdPerDay: modelDailyBudgetMicroUsd(),
  }
  const spent = await spentForCheck(ctx, now)
  for (const ceiling of CEILINGS) {
    if (spent[ceiling] >= budgets[ceiling]) throw budgetExhausted(ceiling, now)
  }
}

/**
 * The gate before any model call: a model with a price (else the operator is told to set
 * MODEL_PRICES and the user sees "unavailable"), and today's ceilings not yet reached.
 */
export async function requireModelCall(ctx: MutationCtx, modelId: string): Promise<void> {
  requireModelPrice(modelId)
  await requireModelBudget(ctx)
}

/**
 * Counts what one model call spent against today's ceilings: its tokens as the model reported
 * them, and its cost when the model is priced (an unpriced call never starts; see prices.ts).
 */
export async function recordModelSpend(
  ctx: MutationCtx,
  usage: Pick<ModelUsage, 'inputTokens' | 'outputTokens'>,
  costMicroUsd: number | undefined,
): Promise<void> {
  const now = Date.now()
  const tokens = usage.inputTokens + usage.outputTokens
  if (tokens > 0) await counter().add(ctx, counterName('modelTokensPerDay', now), tokens)
  if (costMicroUsd) await counter().add(ctx, counterName('modelMicroUsdPerDay', now), costMicroUsd)
}
