// The one price table: what a model call costs, in integer micro-dollars. MODEL_PRICES in the
// environment adds or overrides entries; a model with no price is never called.
import { ConvexError } from 'convex/values'
import { env } from '../_generated/server'

/** Dollars per million tokens. `longPrompt`: the whole call's rates once the prompt is over a size. */
export type ModelPrice = {
  inputPerMTok: number
  outputPerMTok: number
  longPrompt?: { overInputTokens: number; inputPerMTok: number; outputPerMTok: number }
}

export type TokenUsage = { inputTokens: number; outputTokens: number }

const HAIKU_4_5: ModelPrice = { inputPerMTok: 1, outputPerMTok: 5 }

export const BUILT_IN_PRICES: Readonly<Record<string, ModelPrice>> = {
  'claude-haiku-4-5-20251001': HAIKU_4_5,
  'claude-haiku-4-5': HAIKU_4_5,
  'claude-haiku-5-5': {
    inputPerMTok: 0.1,
    outputPerMTok: 0.5,
    longPrompt: { overInputTokens: 100_000, inputPerMTok: 0.5, outputPerMTok: 2.5 },
  },
  'claude-sonnet-5-5': { inputPerMTok: 2, outputPerMTok: 10 },
  'claude-opus-5-5': { inputPerMTok: 4, outputPerMTok: 20 },
}

/** What the user sees when a model cannot be priced; the operator gets the detail in the logs. */
export const MODEL_UNAVAILABLE = 'The assistant is unavailable right now. Please try again later.'

/** A MODEL_PRICES value that cannot be read: no price can be trusted until it is fixed. */
export class ModelPricesError extends Error {}

const PRICE_KEYS = new Set(['inputPerMTok', 'outputPerMTok', 'longPrompt'])
const LONG_PROMPT_KEYS = new Set(['overInputTokens', 'inputPerMTok', 'outputPerMTok'])

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function readRate(where: string, entry: Record<string, unknown>, key: string): number {
  const rate = entry[key]
  if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0) {
    throw new ModelPricesError(`MODEL_PRICES: ${where}.${key} must be a number of dollars, 0 or more (got ${JSON.stringify(rate)})`)
  }
  return rate
}

function checkKeys(where: string, entry: Record<string, unknown>, allowed: Set<string>) {
  // A misspelt key would otherwise leave the built-in price in force without a word.
  const unknown = Object.keys(entry).filter((key) => !allowed.has(key))
  if (unknown.length > 0) {
    throw new ModelPricesError(`MODEL_PRICES: ${where} has unknown key(s) ${unknown.join(', ')}; allowed: ${[...allowed].join(', ')}`)
  }
}

/** Parses MODEL_PRICES; throws ModelPricesError naming MODEL_PRICES and what is wrong. */
export function parseModelPrices(raw: string): Record<string, ModelPrice> {
  let parsed: unknown
  try {
    parsed = JSON.parse(raw)
  } catch (error) {
    throw new ModelPricesError(`MODEL_PRICES is not valid JSON (${(error as Error).message})`)
  }
  if (!isPlainObject(parsed)) {
    throw new ModelPricesError('MODEL_PRICES must be a JSON object: { "<model id>": { "inputPerMTok": number, "outputPerMTok": number } }')
  }
  const prices: Record<string, ModelPrice> = {}
  for (const [model, entry] of Object.entries(parsed)) {
    const where = JSON.stringify(model)
    if (!isPlainObject(entry)) {
      throw new ModelPricesError(`MODEL_PRICES: ${where} must be an object { "inputPerMTok": number, "outputPerMTok": number }`)
    }
    checkKeys(where, entry, PRICE_KEYS)
    const price: ModelPrice = {
      inputPerMTok: readRate(where, entry, 'inputPerMTok'),
      outputPerMTok: readRate(where, entry, 'outputPerMTok'),
    }
    if (entry.longPrompt !== undefined) {
      const long = entry.longPrompt
      const longWhere = `${where}.longPrompt`
      if (!isPlainObject(long)) throw new ModelPricesError(`MODEL_PRICES: ${longWhere} must be an object`)
      checkKeys(longWhere, long, LONG_PROMPT_KEYS)
      const over = long.overInputTokens
      if (typeof over !== 'number' || !Number.isInteger(over) || over < 0) {
        throw new ModelPricesError(`MODEL_PRICES: ${longWhere}.overInputTokens must be a whole number of tokens`)
      }
      price.longPrompt = {
        overInputTokens: over,
        inputPerMTok: readRate(longWhere, long, 'inputPerMTok'),
        outputPerMTok: readRate(longWhere, long, 'outputPerMTok'),
      }
    }
    prices[model] = price
  }
  return prices
}

let cachedOverrides: { raw: string; prices: Record<string, ModelPrice> } | undefined

/** The price of `model`, or undefined if it has none. Throws ModelPricesError if MODEL_PRICES is malformed. */
export function findModelPrice(model: string): ModelPrice | undefined {
  const raw = env.MODEL_PRICES?.trim() ?? ''
  if (raw === '') return BUILT_IN_PRICES[model]
  if (cachedOverrides?.raw !== raw) cachedOverrides = { raw, prices: parseModelPrices(raw) }
  return cachedOverrides.prices[model] ?? BUILT_IN_PRICES[model]
}

/**
 * The price of a model about to be called. Without one the call is refused before anything is
 * stored or sent (a spending ceiling cannot be kept for a model whose cost is unknown): the
 * operator's reason goes to the logs, the user gets a plain "unavailable".
 */
export function requireModelPrice(model: string): ModelPrice {
  let price: ModelPrice | undefined
  try {
    price = findModelPrice(model)
  } catch (error) {
    if (!(error instanceof ModelPricesError)) throw error
    console.error(`Model call refused: ${error.message}. Fix MODEL_PRICES on the deployment (npx convex env set MODEL_PRICES '...').`)
    throw new ConvexError(MODEL_UNAVAILABLE)
  }
  if (!price) {
    console.error(
      `Model call refused: model "${model}" has no price. Add it to MODEL_PRICES, e.g. npx convex env set MODEL_PRICES '{"${model}": {"inputPerMTok": 1, "outputPerMTok": 5}}'`,
    )
    throw new ConvexError(MODEL_UNAVAILABLE)
  }
  return price
}

/** What one call cost at `price`, in whole micro-dollars (dollars per MTok x tokens = micro-dollars). */
export function priceCall(price: ModelPrice, usage: TokenUsage): number {
  const rates =
    price.longPrompt && usage.inputTokens > price.longPrompt.overInputTokens ? price.longPrompt : price
  return Math.round(usage.inputTokens * rates.inputPerMTok + usage.outputTokens * rates.outputPerMTok)
}

/** What one call of `model` cost, in micro-dollars; refuses (as requireModelPrice) a model with no price. */
export function costMicroUsd(model: string, usage: TokenUsage): number {
  return priceCall(requireModelPrice(model), usage)
}

/**
 * The cost to store with a usage row, or undefined when the model cannot be priced now (the
 * price was removed or MODEL_PRICES broke mid-call): the row is kept and the backfill prices it.
 */
export function costIfPriced(model: string, usage: TokenUsage): number | undefined {
  try {
    const price = findModelPrice(model)
    if (price) return priceCall(price, usage)
    console.error(`Usage of model "${model}" stored without a cost: it has no price. Add it to MODEL_PRICES, then run admin:backfillUsageReport.`)
  } catch (error) {
    if (!(error instanceof ModelPricesError)) throw error
    console.error(`Usage stored without a cost: ${error.message}. Fix MODEL_PRICES, then run admin:backfillUsageReport.`)
  }
  return undefined
}
