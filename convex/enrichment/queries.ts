import { doc } from 'convex-helpers/validators'
import { v } from 'convex/values'
import type { Doc, Id } from '../_generated/dataModel'
import { internalMutation, internalQuery, query, type QueryCtx } from '../_generated/server'
import { findOwnedProfile } from '../lib/auth'
import schema, { messageRole } from '../schema'

/**
 * Most messages a chat read returns: the newest ones, oldest first. A debrief is capped far
 * below this (see MAX_DEBRIEF_USER_TURNS), so a debrief is always read whole. At its worst
 * (every message 5,000 characters of 3-byte UTF-8, about 15.2 KB a document) a read is about
 * 3.8 MB, under half of the 8 MiB a transaction may read.
 */
export const CHAT_READ_LIMIT = 250

const messageDoc = doc(schema, 'enrichmentMessages')

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
 * What a chat view shows: every message except a reply that has no text yet, which the
 * frontend would render as an empty speech bubble.
 */
function visible(messages: Doc<'enrichmentMessages'>[]): Doc<'enrichmentMessages'>[] {
  return messages.filter((message) => !(message.status === 'streaming' && message.content === ''))
}

export const getMessages = internalQuery({
  args: { profileId: v.id('profiles') },
  returns: v.array(messageDoc),
  handler: async (ctx, { profileId }) => await readGeneralChat(ctx, profileId),
})

export const getMessagesPublic = query({
  args: { profileId: v.id('profiles') },
  returns: v.array(messageDoc),
  handler: async (ctx, { profileId }) => {
    const profile = await findOwnedProfile(ctx, profileId)
    return profile ? visible(await readGeneralChat(ctx, profile._id)) : []
  },
})

export const getMessagesByAction = internalQuery({
  args: { actionId: v.id('careerActions') },
  returns: v.array(messageDoc),
  handler: async (ctx, { actionId }) => await readDebrief(ctx, actionId),
})

/** The debrief of that action; [] unless the profile is the caller's and the action is its. */
export const getCompletionMessagesPublic = query({
  args: { actionId: v.id('careerActions'), profileId: v.id('profiles') },
  returns: v.array(messageDoc),
  handler: async (ctx, { actionId, profileId }) => {
    const profile = await findOwnedProfile(ctx, profileId)
    if (!profile) return []
    const action = await ctx.db.get('careerActions', actionId)
    if (!action || action.profileId !== profile._id) return []
    return visible(await readDebrief(ctx, actionId))
  },
})

export const getProfileInternal = internalQuery({
  args: { profileId: v.id('profiles') },
  returns: v.union(doc(schema, 'profiles'), v.null()),
  handler: async (ctx, { profileId }) => await ctx.db.get('profiles', profileId),
})

export const saveMessage = internalMutation({
  args: {
    profileId: v.id('profiles'),
    role: messageRole,
    content: v.string(),
    actionId: v.optional(v.id('careerActions')),
  },
  returns: v.id('enrichmentMessages'),
  handler: async (ctx, { profileId, role, content, actionId }) => {
    return await ctx.db.insert('enrichmentMessages', {
      profileId,
      role,
      content,
      ...(actionId && { actionId }),
      createdAt: Date.now(),
    })
  },
})
