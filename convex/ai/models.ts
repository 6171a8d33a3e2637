// Which Claude model each call uses, and what each model accepts. Request shapes are built from
// these traits in claude.ts; nothing else branches on a model id.
import { env } from '../_generated/server'

/** The default model until someone has compared the models on real conversations. */
export const DEFAULT_MODEL_ID = 'claude-haiku-4-5-20251001'

export type Effort = 'low' | 'medium' | 'high' | 'xhigh' | 'max'

export type ModelTraits = {
  /** For people: the docs, the operator's logs. */
  name: string
  /** Anthropic's lifecycle: legacy models still answer but are headed for deprecation. */
  status: 'current' | 'legacy' | 'unknown'
  /**
   * When the model thinks: only when a request asks for it ('on-request': Haiku 4.5's manual
   * budget), unless the request turns it off ('by-default'), or on every request ('always').
   */
  thinks: 'on-request' | 'by-default' | 'always'
  /**
   * The `thinking.type` that turns up-front thinking off (accepted at effort `high` or below),
   * or null when there is none to send: the model never thinks unasked, or cannot stop.
   */
  thinkingOff: 'disabled' | 'between_tools' | null
  /** Its effort when the request sets none, or null when it does not take `output_config.effort`. */
  defaultEffort: Effort | null
  /** Whether `tool_choice` may force a tool: always, only with thinking off, or never (a 400). */
  forcedTool: 'always' | 'thinking-off' | 'never'
  /**
   * 400s on `temperature` / `top_p` / `top_k`, on messages ending with an assistant turn
   * (prefill), and on `thinking: { type: 'enabled', budget_tokens }`.
   */
  strictRequests: boolean
  /** Counts the same text as about 30% more tokens than Haiku 4.5 (the Claude 4.7+ tokenizer). */
  newerTokenizer: boolean
}

const HAIKU_4_5: ModelTraits = {
  name: 'Claude Haiku 4.5',
  status: 'legacy',
  thinks: 'on-request',
  thinkingOff: null,
  defaultEffort: null,
  forcedTool: 'always',
  strictRequests: false,
  newerTokenizer: false,
}

/**
 * One row per model id (an alias and a dated id are separate rows). Sources: Anthropic's
 * "What's new" pages and migration guides for each model, and "Troubleshooting thinking".
 * Prices are not traits: they live in their own table, ai/prices.ts (MODEL_PRICES adds to it).
 */
export const MODEL_TRAITS: Readonly<Record<string, ModelTraits>> = {
  'claude-haiku-4-5-20251001': HAIKU_4_5,
  'claude-haiku-4-5': HAIKU_4_5,
  'claude-haiku-5-5': {
    name: 'Claude Haiku 5.5',
    status: 'current',
    thinks: 'by-default',
    thinkingOff: 'disabled',
    defaultEffort: 'medium',
    forcedTool: 'thinking-off',
    strictRequests: true,
    newerTokenizer: true,
  },
  'claude-sonnet-5-5': {
    name: 'Claude Sonnet 5.5',
    status: 'current',
    thinks: 'by-default',
    // Sonnet 5.5 answers `disabled` with a 400; `between_tools` is its lowest setting.
    thinkingOff: 'between_tools',
    defaultEffort: 'high',
    forcedTool: 'never',
    strictRequests: true,
    newerTokenizer: true,
  },
  'claude-opus-5-5': {
    name: 'Claude Opus 5.5',
    status: 'current',
    thinks: 'always',
    thinkingOff: null,
    defaultEffort: 'medium',
    forcedTool: 'never',
    strictRequests: true,
    newerTokenizer: true,
  },
}

/**
 * An id the table does not know is treated as a current model, in the way that fails least:
 * no sampling parameters and no prefill (we never send either), answers may start with thinking
 * that cannot be turned off (so replies get room for it), no `thinking` or `effort` field
 * (values differ between current models), and no forced tool (extraction uses structured
 * outputs, which every current model accepts).
 */
export const UNKNOWN_MODEL_TRAITS: ModelTraits = {
  name: 'an unknown model, treated as a current one',
  status: 'unknown',
  thinks: 'by-default',
  thinkingOff: null,
  defaultEffort: null,
  forcedTool: 'never',
  strictRequests: true,
  newerTokenizer: true,
}

const warnedUnknown = new Set<string>()

export function modelTraits(modelId: string): ModelTraits {
  const known = MODEL_TRAITS[modelId]
  if (known) return known
  if (!warnedUnknown.has(modelId)) {
    warnedUnknown.add(modelId)
    console.warn(
      `Model "${modelId}" is not in convex/ai/models.ts: treating it as a current model (no thinking or effort settings, room for thinking in max_tokens, structured outputs for extraction). Add a row for it to tune its requests.`,
    )
  }
  return UNKNOWN_MODEL_TRAITS
}

/** The deployment variable that chooses a model, named in the operator's logs. */
export type ModelSetting = 'MODEL_CHAT' | 'MODEL_EXTRACTION'
export type ModelChoice = { id: string; setting: ModelSetting }

function configuredModel(setting: ModelSetting): ModelChoice {
  const configured = env[setting]?.trim()
  return { id: configured || DEFAULT_MODEL_ID, setting }
}

/** The model of both chats (the enrichment chat and the completion debrief). Read per call. */
export function chatModel(): ModelChoice {
  return configuredModel('MODEL_CHAT')
}

/** The model that turns a conversation into profile updates. Read per call. */
export function extractionModel(): ModelChoice {
  return configuredModel('MODEL_EXTRACTION')
}
