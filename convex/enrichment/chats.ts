// The two chats, defined once. A message with `actionId` belongs to the debrief of that career
// action, one without it to the general chat; `chatOf` makes that choice, and everything else
// that differs between the two chats is read from what it returns.
import { omit } from 'convex-helpers'
import { doc } from 'convex-helpers/validators'
import type { PaginationOptions, PaginationResult } from 'convex/server'
import { v } from 'convex/values'
import type { Doc, Id } from '../_generated/dataModel'
import type { QueryCtx } from '../_generated/server'
import schema from '../schema'
import { DEBRIEF_READ_LIMIT, HISTORY_LIMIT, MAX_DEBRIEF_USER_TURNS } from './history'
import {
  debriefSystemPrompt,
  DEBRIEF_SIGNALS,
  generalChatSystemPrompt,
  GENERAL_CHAT_SIGNALS,
} from './prompts'

/**
 * Most messages a chat read returns: the newest ones, oldest first. A debrief is capped far
 * below this (see MAX_DEBRIEF_USER_TURNS), so a debrief is always read whole. At its worst
 * (every message 5,000 characters of 3-byte UTF-8, about 15.2 KB a document) a read is about
 * 3.8 MB, under half of the 8 MiB a transaction may read.
 */
export const CHAT_READ_LIMIT = 250

export const messageDoc = doc(schema, 'enrichmentMessages')
/** A message as the chat queries list it: without the reply's internal expiry job. */
export const listedMessageDoc = v.object(omit(messageDoc.fields, ['expiryJobId']))

/**
 * What the chat queries list: every message except a reply that has no text yet (the frontend
 * would draw it as an empty bubble; a delta-mode reply stays so until it ends).
 */
export function listed(messages: Doc<'enrichmentMessages'>[]) {
  return messages
    .filter((message) => !(message.status === 'streaming' && message.content.length === 0))
    .map((message) => omit(message, ['expiryJobId']))
}

/** One debrief, oldest first, read through by_action: its size alone decides the cost. */
export async function readDebrief(
  ctx: QueryCtx,
  actionId: Id<'careerActions'>,
  limit = CHAT_READ_LIMIT,
): Promise<Doc<'enrichmentMessages'>[]> {
  const newestFirst = await ctx.db
    .query('enrichmentMessages')
    .withIndex('by_action', (q) => q.eq('actionId', actionId))
    .order('desc')
    .take(limit)
  return newestFirst.reverse()
}

/** The general chat (messages without actionId), oldest first; never walks debrief messages. */
export async function readGeneralChat(
  ctx: QueryCtx,
  profileId: Id<'profiles'>,
  limit = CHAT_READ_LIMIT,
): Promise<Doc<'enrichmentMessages'>[]> {
  const newestFirst = await ctx.db
    .query('enrichmentMessages')
    .withIndex('by_profile_chat', (q) => q.eq('profileId', profileId).eq('actionId', undefined))
    .order('desc')
    .take(limit)
  return newestFirst.reverse()
}

/**
 * One page of a chat, newest first, through the same index as its read above: the page's own
 * range and nothing else. The listing filter runs on the page afterwards, so a reply without
 * text makes the page shorter, never the read longer.
 */
export async function pageOfChat(
  ctx: QueryCtx,
  { profileId, actionId }: { profileId: Id<'profiles'>; actionId?: Id<'careerActions'> },
  paginationOpts: PaginationOptions,
): Promise<PaginationResult<Doc<'enrichmentMessages'>>> {
  const messages = ctx.db.query('enrichmentMessages')
  const chat =
    actionId === undefined
      ? messages.withIndex('by_profile_chat', (q) => q.eq('profileId', profileId).eq('actionId', undefined))
      : messages.withIndex('by_action', (q) => q.eq('actionId', actionId))
  return await chat.order('desc').paginate(paginationOpts)
}

/** Which chat: a profile's general chat, or the debrief of one of its career actions. */
export type ChatRef = { profileId: Id<'profiles'>; actionId?: Id<'careerActions'> }

/** Everything that differs between the two chats, for one conversation. */
export type Chat = {
  /** The `chat` of its modelUsage rows. */
  usageKind: 'general' | 'debrief'
  /** Phrases that mark a reply offering to update the profile (`shouldExtract`). */
  signals: readonly string[]
  /** Stored messages one turn reads: the model's history window, or a whole debrief. */
  turnReadLimit: number
  /** User messages after which the chat refuses more; null when it has no cap. */
  maxUserTurns: number | null
  /** The status its career action must have for a turn; null when it has none. */
  requiredActionStatus: Doc<'careerActions'>['status'] | null
  /** The fields that place a message in this conversation. */
  link: { profileId: Id<'profiles'>; actionId?: Id<'careerActions'> }
  /** The conversation's newest `limit` messages, oldest first. */
  read: (ctx: QueryCtx, limit?: number) => Promise<Doc<'enrichmentMessages'>[]>
  systemPrompt: (profile: Doc<'profiles'>, careerAction: Doc<'careerActions'> | null) => string
}

export function chatOf({ profileId, actionId }: ChatRef): Chat {
  if (actionId === undefined) {
    return {
      usageKind: 'general',
      signals: GENERAL_CHAT_SIGNALS,
      turnReadLimit: HISTORY_LIMIT,
      maxUserTurns: null,
      requiredActionStatus: null,
      link: { profileId },
      read: (ctx, limit) => readGeneralChat(ctx, profileId, limit),
      systemPrompt: (profile) => generalChatSystemPrompt(profile),
    }
  }
  return {
    usageKind: 'debrief',
    signals: DEBRIEF_SIGNALS,
    turnReadLimit: DEBRIEF_READ_LIMIT,
    maxUserTurns: MAX_DEBRIEF_USER_TURNS,
    requiredActionStatus: 'done',
    link: { profileId, actionId },
    read: (ctx, limit) => readDebrief(ctx, actionId, limit),
    systemPrompt: (profile, careerAction) => {
      // The prompt describes the career action as stored, never as a client described it.
      if (!careerAction) throw new Error('A debrief turn was begun without its career action')
      return debriefSystemPrompt(profile, careerAction)
    },
  }
}
