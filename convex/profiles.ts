import { doc } from 'convex-helpers/validators'
import { ConvexError, v } from 'convex/values'
import { mutation, query } from './_generated/server'
import { findMyProfile, requireAuth, requireProfileOwner } from './lib/auth'
import { checkProfileFields } from './lib/limits'
import { newUniqueItems } from './lib/lists'
import schema, { editableProfileFields } from './schema'

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
    const userId = await requireAuth(ctx)
    if (await findMyProfile(ctx)) throw new ConvexError('You already have a profile')
    checkProfileFields(fields)
    const now = Date.now()
    return await ctx.db.insert('profiles', { ...fields, userId, createdAt: now, updatedAt: now })
  },
})

export const updateField = mutation({
  args: { profileId: v.id('profiles'), updates: v.object(editableProfileFields) },
  returns: v.object({ success: v.literal(true) }),
  handler: async (ctx, { profileId, updates }) => {
    await requireProfileOwner(ctx, profileId)
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

/** `existing` with the new items of `additions` appended (case-insensitive, no repeats). */
function mergeList(existing: string[] | undefined, additions: string[] | undefined): string[] | undefined {
  if (!additions) return undefined
  return [...(existing ?? []), ...newUniqueItems(existing ?? [], additions)]
}

/**
 * Writes what the user accepted on the review screen. Lists are merged into what the profile
 * already has (updateField would replace them); texts replace. Returns the updated profile.
 */
export const applyExtraction = mutation({
  args: {
    profileId: v.id('profiles'),
    accepted: v.object({
      skills_mentioned: v.optional(v.array(v.string())),
      career_interests: v.optional(v.array(v.string())),
      career_goals: v.optional(v.string()),
      background_summary: v.optional(v.string()),
      seeking: v.optional(v.string()),
    }),
  },
  returns: profileDoc,
  handler: async (ctx, { profileId, accepted }) => {
    const { profile } = await requireProfileOwner(ctx, profileId)
    const updates = {
      skills: mergeList(profile.skills, accepted.skills_mentioned),
      aiSafetyInterests: mergeList(profile.aiSafetyInterests, accepted.career_interests),
      careerGoals: accepted.career_goals,
      enrichmentSummary: accepted.background_summary,
      seeking: accepted.seeking,
    }
    checkProfileFields(updates)
    const sent = definedOnly(updates)
    if (Object.keys(sent).length > 0) {
      await ctx.db.patch('profiles', profileId, { ...sent, updatedAt: Date.now() })
    }
    const updated = await ctx.db.get('profiles', profileId)
    if (!updated) throw new ConvexError('Profile not found')
    return updated
  },
})
