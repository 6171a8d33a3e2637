// The extraction fields, defined once: the tool schema sent to the model, the result validator,
// the parsing of the model's reply and the profile field each one fills all come from here.
import { ConvexError, v, type Infer, type VArray, type VString } from 'convex/values'
import type { Doc } from '../_generated/dataModel'
import type { ToolDefinition } from '../ai/claude'
import { FIELD_LIMITS, LIST_LIMITS } from '../lib/limits'
import { appendParagraph, mergeList } from '../lib/profileMerge'
import { toWellFormedText } from '../lib/text'

/** List fields: the profile list each one extends, and its limits. */
export const LIST_FIELDS = {
  skills_mentioned: {
    profileField: 'skills',
    maxItems: LIST_LIMITS.skills,
    itemLength: FIELD_LIMITS.skillName,
    description: 'Short names of skills the person showed or mentioned',
  },
  career_interests: {
    profileField: 'aiSafetyInterests',
    maxItems: LIST_LIMITS.aiSafetyInterests,
    itemLength: FIELD_LIMITS.interestName,
    description: 'Areas of AI safety the person is interested in',
  },
} as const

/** Text fields: the profile text each one extends, and its limit. */
export const TEXT_FIELDS = {
  career_goals: {
    profileField: 'careerGoals',
    limit: FIELD_LIMITS.careerGoals,
    description: 'Their career goals, in a sentence or two',
  },
  background_summary: {
    profileField: 'enrichmentSummary',
    limit: FIELD_LIMITS.enrichmentSummary,
    description: 'A short summary of their background',
  },
  seeking: {
    profileField: 'seeking',
    limit: FIELD_LIMITS.seeking,
    description: 'What role, collaboration or support they seek',
  },
} as const

type ListKey = keyof typeof LIST_FIELDS
type TextKey = keyof typeof TEXT_FIELDS
const listKeys = Object.keys(LIST_FIELDS) as ListKey[]
const textKeys = Object.keys(TEXT_FIELDS) as TextKey[]

/** One value per field: lists always present, texts only when there is something to say. */
export const extractionValues = v.object({
  ...(Object.fromEntries(listKeys.map((key) => [key, v.array(v.string())])) as Record<
    ListKey,
    VArray<string[], VString>
  >),
  ...(Object.fromEntries(textKeys.map((key) => [key, v.optional(v.string())])) as Record<
    TextKey,
    VString<string | undefined, 'optional'>
  >),
})
export type ExtractionValues = Infer<typeof extractionValues>

/**
 * What extraction returns: each field the whole value the profile should hold once accepted,
 * and `added`, only the new part of each (for a review screen to highlight).
 */
export const extractionResult = v.object({
  ...extractionValues.fields,
  added: extractionValues,
})
export type ExtractionResult = Infer<typeof extractionResult>

export const EXTRACTION_TOOL: ToolDefinition = {
  name: 'save_profile_updates',
  description: 'Record what the conversation reveals about the person that is new to their profile.',
  input_schema: {
    type: 'object',
    properties: {
      ...Object.fromEntries(
        listKeys.map((key) => [
          key,
          { type: 'array', items: { type: 'string' }, description: LIST_FIELDS[key].description },
        ]),
      ),
      ...Object.fromEntries(
        textKeys.map((key) => [key, { type: 'string', description: TEXT_FIELDS[key].description }]),
      ),
    },
    required: listKeys,
  },
}

export const NO_EXTRACTION = 'The assistant did not return any profile updates. Please try again.'

function malformed(detail: string): ConvexError<string> {
  return new ConvexError(`The assistant's profile updates were malformed (${detail}). Please try again.`)
}

function readList(input: Record<string, unknown>, key: string): string[] {
  const value = input[key]
  if (value === undefined) throw malformed(`${key} is missing`)
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw malformed(`${key} must be a list of text`)
  }
  // Never store half a character, even if the model sent one.
  return value.map(toWellFormedText)
}

function readText(input: Record<string, unknown>, key: string): string | undefined {
  const value = input[key]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'string') throw malformed(`${key} must be text`)
  return toWellFormedText(value)
}

/**
 * Turns the model's raw tool input (what is new) into whole values composed with the profile
 * as it is now, or throws a clear error: never a half-typed result.
 */
export function parseExtraction(raw: unknown, profile: Doc<'profiles'>): ExtractionResult {
  if (raw === undefined) throw new ConvexError(NO_EXTRACTION)
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw malformed('it was not an object')
  }
  const input = raw as Record<string, unknown>
  // Read every field before composing any, so a malformed field fails the whole reply.
  const lists = listKeys.map((key) => [key, readList(input, key)] as const)
  const texts = textKeys.map((key) => [key, readText(input, key)] as const)

  const result: ExtractionResult = {
    skills_mentioned: [],
    career_interests: [],
    added: { skills_mentioned: [], career_interests: [] },
  }
  for (const [key, items] of lists) {
    const field = LIST_FIELDS[key]
    const merged = mergeList(profile[field.profileField], items, field)
    // A list with nothing new is offered as [] so the review screen offers nothing there.
    if (merged.added.length > 0) {
      result[key] = merged.whole
      result.added[key] = merged.added
    }
  }
  for (const [key, text] of texts) {
    const field = TEXT_FIELDS[key]
    const appended = appendParagraph(profile[field.profileField], text, field.limit)
    if (appended) {
      result[key] = appended.whole
      result.added[key] = appended.added
    }
  }
  return result
}
