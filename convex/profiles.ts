import { doc } from 'convex-helpers/validators'
import { ConvexError, v } from 'convex/values'
import { mutation, query } from './_generated/server'
import { findMyProfile, ownedProfileMutation, requireUserId } from './lib/auth'
import { checkProfileFields } from './lib/limits'
import { acceptText, mergeList } from './lib/profileMerge'
import { extractionValues, LIST_FIELDS, TEXT_FIELDS } from './enrichment/extractionResult'
import type { Doc } from './_generated/dataModel'
import schema, { editableProfile, editableProfileFields } from './schema'

const profileDoc = doc(schema, 'profiles')

export const getMyProfile = query({
  args: {},
  returns: v.union(profileDoc, v.null()),
  handler: async (ctx) => await findMyProfile(ctx),
})

export const createProfile = mutation({
  args: editableProfileFields,
  returns: v.id('profiles'),
  handler: async (ctx, fields) => {
    const userId = await requireUserId(ctx)
    if (await findMyProfile(ctx)) throw new ConvexError('You already have a profile')
    checkProfileFields(fields)
    const now = Date.now()
    return await ctx.db.insert('profiles', { ...fields, userId, createdAt: now, updatedAt: now })
  },
})

export const updateField = ownedProfileMutation({
  args: { updates: editableProfile },
  returns: v.object({ success: v.literal(true) }),
  handler: async (ctx, { updates }) => {
    const profileId = ctx.profile._id
    checkProfileFields(updates)
    // Only the keys the caller sent are written; an empty update changes nothing.
    const sent = definedOnly(updates)
    if (Object.keys(sent).length > 0) {
      await ctx.db.patch('profiles', profileId, { ...sent, updatedAt: Date.now() })
    }
    return { success: true as const }
  },
})

function definedOnly<T extends object>(fields: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(fields).filter(([, value]) => value !== undefined),
  ) as Partial<T>
}

/**
 * Writes what the user accepted on the review screen. Each value may be the whole value
 * extraction returned or only its new part (`added`): lists keep every current item and gain
 * the new ones; a text that starts with the current text replaces it, any other text is
 * appended to it as a new paragraph. Either way the profile ends up the same. Returns it.
 */
export const applyExtraction = ownedProfileMutation({
  args: { accepted: extractionValues.partial() },
  returns: profileDoc,
  handler: async (ctx, { accepted }) => {
    const { profile } = ctx
    const profileId = profile._id
    const updates: Partial<Doc<'profiles'>> = {}
    for (const [key, field] of Object.entries(LIST_FIELDS)) {
      const items = accepted[key as keyof typeof LIST_FIELDS]
      // Unbounded here so that too many or too long items are refused below, not dropped.
      const unbounded = { maxItems: Infinity, itemLength: Infinity }
      if (items) updates[field.profileField] = mergeList(profile[field.profileField], items, unbounded).whole
    }
    for (const [key, field] of Object.entries(TEXT_FIELDS)) {
      const text = acceptText(profile[field.profileField], accepted[key as keyof typeof TEXT_FIELDS])
      if (text !== undefined) updates[field.profileField] = text
    }
    checkProfileFields(updates)
    if (Object.keys(updates).length > 0) {
      await ctx.db.patch('profiles', profileId, { ...updates, updatedAt: Date.now() })
    }
    const updated = await ctx.db.get('profiles', profileId)
    if (!updated) throw new ConvexError('Profile not found')
    return updated
  },
})
