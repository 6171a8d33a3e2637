import { ConvexError } from 'convex/values'
import type { Infer } from 'convex/values'
import type { editableProfile } from '../schema'
import { BROKEN_CHARACTER, hasVisibleText, isWellFormedText } from './text'

/** Longest text, in characters, that each kind of field accepts. */
export const FIELD_LIMITS = {
  name: 200,
  pronouns: 50,
  location: 200,
  headline: 500,
  careerGoals: 5000,
  seeking: 3000,
  enrichmentSummary: 10000,
  workDescription: 3000,
  skillName: 100,
  chatMessage: 5000,
  // Added beyond the original list: short texts inside lists and entries.
  interestName: 200,
  entryText: 200,
} as const

/** Most items a profile list may hold, so a profile (and the prompt built from it) stays bounded. */
export const LIST_LIMITS = {
  skills: 100,
  aiSafetyInterests: 50,
  education: 20,
  workHistory: 30,
} as const

export const TOO_LONG = 'Content too long to process'

/**
 * Every text a person sends passes here: over its limit, or holding half a character (which
 * the model's API refuses and which would break every later prompt), it is refused.
 */
export function checkLength(value: string, limit: number): void {
  if (value.length > limit) throw new ConvexError(TOO_LONG)
  if (!isWellFormedText(value)) throw new ConvexError(BROKEN_CHARACTER)
}

export function checkListLength(items: readonly unknown[], limit: number, what: string): void {
  if (items.length > limit) {
    throw new ConvexError(`Too many ${what}: at most ${limit} are allowed`)
  }
}

export const EMPTY_MESSAGE = 'Message cannot be empty'

/**
 * A chat message must have something to see (one of only spaces or invisible characters, such
 * as zero-width spaces, would be an empty bubble) and fit the chat limit.
 */
export function checkChatMessage(message: string): void {
  if (!hasVisibleText(message)) throw new ConvexError(EMPTY_MESSAGE)
  checkLength(message, FIELD_LIMITS.chatMessage)
}

type EditableProfile = Infer<typeof editableProfile>

/** Throws before anything is written if any field of a profile update is over its limit. */
export function checkProfileFields(fields: EditableProfile): void {
  const texts: [string | undefined, number][] = [
    [fields.name, FIELD_LIMITS.name],
    [fields.pronouns, FIELD_LIMITS.pronouns],
    [fields.location, FIELD_LIMITS.location],
    [fields.headline, FIELD_LIMITS.headline],
    [fields.careerGoals, FIELD_LIMITS.careerGoals],
    [fields.seeking, FIELD_LIMITS.seeking],
    [fields.enrichmentSummary, FIELD_LIMITS.enrichmentSummary],
  ]
  for (const [text, limit] of texts) if (text !== undefined) checkLength(text, limit)

  if (fields.skills) {
    checkListLength(fields.skills, LIST_LIMITS.skills, 'skills')
    for (const skill of fields.skills) checkLength(skill, FIELD_LIMITS.skillName)
  }
  if (fields.aiSafetyInterests) {
    checkListLength(fields.aiSafetyInterests, LIST_LIMITS.aiSafetyInterests, 'interests')
    for (const interest of fields.aiSafetyInterests) checkLength(interest, FIELD_LIMITS.interestName)
  }
  if (fields.education) {
    checkListLength(fields.education, LIST_LIMITS.education, 'education entries')
    for (const entry of fields.education) {
      for (const text of [entry.institution, entry.degree, entry.field]) {
        if (text !== undefined) checkLength(text, FIELD_LIMITS.entryText)
      }
    }
  }
  if (fields.workHistory) {
    checkListLength(fields.workHistory, LIST_LIMITS.workHistory, 'work history entries')
    for (const entry of fields.workHistory) {
      for (const text of [entry.organization, entry.title, entry.startDate, entry.endDate]) {
        if (text !== undefined) checkLength(text, FIELD_LIMITS.entryText)
      }
      if (entry.description !== undefined) checkLength(entry.description, FIELD_LIMITS.workDescription)
    }
  }
}
