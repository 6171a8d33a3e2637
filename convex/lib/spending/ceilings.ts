// The deployment's spending ceilings: model tokens (input plus output, as the model reports
// them) and dollars (each call priced from the price table), spent by everyone together in one
// UTC day. Checked before a model call, counted after; whichever is reached first refuses.
import { ShardedCounter } from '@convex-dev/sharded-counter'
import { ConvexError } from 'convex/values'
import { components } from '../../_generated/api'
import { env, type MutationCtx } from '../../_generated/server'
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

/** What has been counted against `ceiling` today (UTC). */
export async function spentToday(ctx: MutationCtx, ceiling: CeilingName, now = Date.now()): Promise<number> {
  return await counter().count(ctx, counterName(ceiling, now))
}

/**
 * Throws BUDGET_EXHAUSTED once today's spending has reached a ceiling. Call it before anything
 * is stored or sent; a call already under way when the ceiling is reached still counts in full.
 */
export async function requireModelBudget(ctx: MutationCtx): Promise<void> {
  const now = Date.now()
  const ceilings: [CeilingName, number][] = [
    ['modelTokensPerDay', modelDailyTokenBudget()],
    ['modelMicroUsdPerDay', modelDailyBudgetMicroUsd()],
  ]
  for (const [ceiling, budget] of ceilings) {
    if ((await spentToday(ctx, ceiling, now)) >= budget) throw budgetExhausted(ceiling, now)
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
