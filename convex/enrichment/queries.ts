// The chats' queries and their internal reads and writes; what they read with is in ./chats.
import { pick } from 'convex-helpers'
import { doc } from 'convex-helpers/validators'
import { paginationOptsValidator, paginationResultValidator } from 'convex/server'
import { ConvexError, v } from 'convex/values'
import { internalMutation, internalQuery, query } from '../_generated/server'
import { findOwnedProfile } from '../lib/auth'
import schema from '../schema'
import { chatOf, listed, listedMessageDoc, messageDoc, pageOfChat, readDebrief, readGeneralChat } from './chats'
import { readChunks } from './liveReplyChunks'

export const getMessages = internalQuery({
  args: { profileId: v.id('profiles') },
  returns: v.array(messageDoc),
  handler: async (ctx, { profileId }) => await readGeneralChat(ctx, profileId),
})

export const getMessagesPublic = query({
  args: { profileId: v.id('profiles') },
  returns: v.array(listedMessageDoc),
  handler: async (ctx, { profileId }) => {
    const profile = await findOwnedProfile(ctx, profileId)
    return profile ? listed(await readGeneralChat(ctx, profile._id)) : []
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
  returns: v.array(listedMessageDoc),
  handler: async (ctx, { actionId, profileId }) => {
    const profile = await findOwnedProfile(ctx, profileId)
    if (!profile) return []
    const action = await ctx.db.get('careerActions', actionId)
    if (!action || action.profileId !== profile._id) return []
    return listed(await readDebrief(ctx, actionId))
  },
})

/**
 * One page of a chat for usePaginatedQuery, newest first: the general chat without `actionId`,
 * that action's debrief with it. Listed as the two queries above list (a reply with no text yet
 * is left out, so a page may hold fewer than numItems). A page reads only its own index range,
 * so a turn's writes re-run only the newest page, whatever the chat's length. An empty, finished
 * page when the caller does not own the profile or the action is not that profile's.
 */
export const listMessages = query({
  args: {
    profileId: v.id('profiles'),
    actionId: v.optional(v.id('careerActions')),
    paginationOpts: paginationOptsValidator,
  },
  returns: paginationResultValidator(listedMessageDoc),
  handler: async (ctx, { profileId, actionId, paginationOpts }) => {
    const nothing = { page: [], isDone: true, continueCursor: '' }
    const profile = await findOwnedProfile(ctx, profileId)
    if (!profile) return nothing
    if (actionId) {
      const action = await ctx.db.get('careerActions', actionId)
      if (!action || action.profileId !== profile._id) return nothing
    }
    const result = await pageOfChat(ctx, { profileId: profile._id, actionId }, paginationOpts)
    return { ...result, page: listed(result.page) }
  },
})

export const INVALID_CURSOR =
  'This cursor was not returned by getLiveReply: pass the cursor of its last result, or none.'

/**
 * The reply being written with liveReply 'deltas' in one conversation (the debrief of
 * `actionId`, else the general chat): the text that arrived after `cursor` (all of it without
 * one) and the cursor to pass next. null when no such reply is being written, or the
 * conversation is not the caller's. Reads the conversation's newest message and that reply's
 * chunks, never the history. A reply written in document mode grows in the chat query instead.
 */
export const getLiveReply = query({
  args: {
    profileId: v.id('profiles'),
    actionId: v.optional(v.id('careerActions')),
    cursor: v.optional(v.number()),
  },
  returns: v.union(
    v.null(),
    v.object({
      replyId: v.id('enrichmentMessages'),
      text: v.string(),
      cursor: v.number(),
      status: v.literal('streaming'),
    }),
  ),
  handler: async (ctx, { profileId, actionId, cursor = 0 }) => {
    if (!Number.isSafeInteger(cursor) || cursor < 0) throw new ConvexError(INVALID_CURSOR)
    const profile = await findOwnedProfile(ctx, profileId)
    if (!profile) return null
    if (actionId) {
      const action = await ctx.db.get('careerActions', actionId)
      if (!action || action.profileId !== profile._id) return null
    }
    const [newest] = await chatOf({ profileId: profile._id, actionId }).read(ctx, 1)
    // A delta-mode reply keeps an empty document until it ends; one with text is document mode.
    if (newest?.status !== 'streaming' || newest.content.length > 0) return null
    const chunks = await readChunks(ctx, newest._id, cursor)
    return {
      replyId: newest._id,
      text: chunks.map((chunk) => chunk.text).join(''),
      cursor: chunks.length > 0 ? chunks[chunks.length - 1].seq + 1 : cursor,
      status: 'streaming' as const,
    }
  },
})

export const getProfileInternal = internalQuery({
  args: { profileId: v.id('profiles') },
  returns: v.union(doc(schema, 'profiles'), v.null()),
  handler: async (ctx, { profileId }) => await ctx.db.get('profiles', profileId),
})

export const saveMessage = internalMutation({
  args: pick(messageDoc.fields, ['profileId', 'role', 'content', 'actionId']),
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
