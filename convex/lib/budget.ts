// The deployment's spending ceiling: model tokens (input plus output, as the model reports
// them) spent by everyone together in one UTC day. Checked before a model call, counted after.
import { ShardedCounter } from '@convex-dev/sharded-counter'
import { ConvexError } from 'convex/values'
import { components } from '../_generated/api'
import { env, type MutationCtx } from '../_generated/server'
import type { ModelUsage } from '../ai/claude'
import { describeWait } from './rateLimits'

/**
 * Tokens a day when MODEL_DAILY_TOKEN_BUDGET is not set: about $5-6 a day on Claude Haiku 4.5
 * ($1 per million input tokens, $5 per million output tokens; replies here are mostly input).
 */
export const DEFAULT_MODEL_DAILY_TOKEN_BUDGET = 5_000_000

// Each count goes to one of these documents at random, so concurrent calls rarely write the
// same one; the check reads them all (a few small documents).
const SHARDS_PER_DAY = 8

const DAY_MS = 24 * 60 * 60 * 1000

/** Names of the deployment-wide ceilings, as `limit` in a BUDGET_EXHAUSTED error. */
export type CeilingName = 'modelTokensPerDay'

export type BudgetExhaustedError = {
  code: 'BUDGET_EXHAUSTED'
  limit: CeilingName
  retryAfterMs: number
  message: string
}

/** MODEL_DAILY_TOKEN_BUDGET when it is a number >= 0 (0 stops every model call), else the default. */
export function modelDailyTokenBudget(): number {
  const raw = env.MODEL_DAILY_TOKEN_BUDGET?.trim()
  const configured = raw ? Number(raw) : NaN
  return Number.isFinite(configured) && configured >= 0 ? configured : DEFAULT_MODEL_DAILY_TOKEN_BUDGET
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
  if ((await spentToday(ctx, 'modelTokensPerDay', now)) >= modelDailyTokenBudget()) {
    throw budgetExhausted('modelTokensPerDay', now)
  }
}

/** Counts what one model call spent (as the model reported it) against today's ceilings. */
export async function recordModelSpend(ctx: MutationCtx, usage: Pick<ModelUsage, 'inputTokens' | 'outputTokens'>): Promise<void> {
  const tokens = usage.inputTokens + usage.outputTokens
  if (tokens > 0) await counter().add(ctx, counterName('modelTokensPerDay', Date.now()), tokens)
}
