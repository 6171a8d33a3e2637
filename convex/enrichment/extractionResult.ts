import { ConvexError, v, type Infer } from 'convex/values'
import type { ToolDefinition } from '../ai/claude'
import { FIELD_LIMITS, LIST_LIMITS } from '../lib/limits'
import { newUniqueItems } from '../lib/lists'
import { clipText, toWellFormedText } from '../lib/text'

export const extractionResult = v.object({
  skills_mentioned: v.array(v.string()),
  career_interests: v.array(v.string()),
  career_goals: v.optional(v.string()),
  background_summary: v.optional(v.string()),
  seeking: v.optional(v.string()),
})
export type ExtractionResult = Infer<typeof extractionResult>

export const EXTRACTION_TOOL: ToolDefinition = {
  name: 'save_profile_updates',
  description: 'Record what the conversation reveals about the person that is new to their profile.',
  input_schema: {
    type: 'object',
    properties: {
      skills_mentioned: {
        type: 'array',
        items: { type: 'string' },
        description: 'Short names of skills the person showed or mentioned',
      },
      career_interests: {
        type: 'array',
        items: { type: 'string' },
        description: 'Areas of AI safety the person is interested in',
      },
      career_goals: { type: 'string', description: 'Their career goals, in a sentence or two' },
      background_summary: { type: 'string', description: 'A short summary of their background' },
      seeking: { type: 'string', description: 'What role, collaboration or support they seek' },
    },
    required: ['skills_mentioned', 'career_interests'],
  },
}

export const NO_EXTRACTION = 'The assistant did not return any profile updates. Please try again.'

function malformed(detail: string): ConvexError<string> {
  return new ConvexError(`The assistant's profile updates were malformed (${detail}). Please try again.`)
}

/** At a character boundary, and never with half a character even if the model sent one. */
function clip(text: string, limit: number): string {
  return clipText(toWellFormedText(text), limit)
}

function readList(input: Record<string, unknown>, key: string): string[] {
  const value = input[key]
  if (value === undefined) throw malformed(`${key} is missing`)
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw malformed(`${key} must be a list of text`)
  }
  return value
}

function readText(input: Record<string, unknown>, key: string): string | undefined {
  const value = input[key]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'string') throw malformed(`${key} must be text`)
  return value
}

/** Trimmed, non-empty, clipped, without case-insensitive repeats or what the profile has. */
function cleanList(items: string[], itemLimit: number, maxItems: number, existing: string[] = []) {
  return newUniqueItems(existing, items, itemLimit).slice(0, maxItems)
}

function cleanText(text: string | undefined, limit: number): string | undefined {
  const cleaned = text === undefined ? '' : clip(text.trim(), limit)
  return cleaned ? cleaned : undefined
}

/**
 * Turns the model's raw tool input into a result the review screen can trust, or throws a
 * clear error: never a half-typed result.
 */
export function parseExtraction(
  raw: unknown,
  existing: { skills?: string[]; aiSafetyInterests?: string[] },
): ExtractionResult {
  if (raw === undefined) throw new ConvexError(NO_EXTRACTION)
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw malformed('it was not an object')
  }
  const input = raw as Record<string, unknown>
  const skills = readList(input, 'skills_mentioned')
  const interests = readList(input, 'career_interests')
  const goals = readText(input, 'career_goals')
  const background = readText(input, 'background_summary')
  const seeking = readText(input, 'seeking')

  const result: ExtractionResult = {
    skills_mentioned: cleanList(skills, FIELD_LIMITS.skillName, LIST_LIMITS.skills, existing.skills),
    career_interests: cleanList(
      interests,
      FIELD_LIMITS.interestName,
      LIST_LIMITS.aiSafetyInterests,
      existing.aiSafetyInterests,
    ),
  }
  const texts = {
    career_goals: cleanText(goals, FIELD_LIMITS.careerGoals),
    background_summary: cleanText(background, FIELD_LIMITS.enrichmentSummary),
    seeking: cleanText(seeking, FIELD_LIMITS.seeking),
  }
  for (const [key, value] of Object.entries(texts)) {
    if (value !== undefined) result[key as keyof typeof texts] = value
  }
  return result
}
