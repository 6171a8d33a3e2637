import type { Doc } from '../_generated/dataModel'

/** Upper bound on the profile text put into any prompt. */
export const PROFILE_CONTEXT_MAX_CHARS = 12_000

const DATA_TAGS = ['profile_data', 'completed_action', 'conversation']
const TAG_OPENING = new RegExp(`<(?=\\s*/?\\s*(?:${DATA_TAGS.join('|')})\\b)`, 'gi')

/**
 * Keeps user text from opening or closing one of the prompt's data tags: only the `<` of
 * such a tag is written as `&lt;`; every other character reaches the prompt unchanged.
 */
export function neutralizeDataTags(text: string): string {
  return text.replace(TAG_OPENING, () => '&lt;')
}

function line(label: string, value: string | undefined): string | null {
  return value && value.trim() ? `${label}: ${value}` : null
}

function list(label: string, values: string[] | undefined): string | null {
  return values && values.length > 0 ? `${label}: ${values.join(', ')}` : null
}

/** Most characters of one work description shown in a prompt; the profile keeps it whole. */
export const WORK_DESCRIPTION_PROMPT_CHARS = 600

function clip(text: string, limit: number): string {
  return text.length > limit ? `${text.slice(0, limit)}…` : text
}

/**
 * The profile as plain text for a prompt: tag-safe and at most PROFILE_CONTEXT_MAX_CHARS.
 * Short facts and lists come first and the long free texts last, so that if a full profile
 * must be cut, what is cut is the end of the background summary.
 */
export function buildProfileContext(profile: Doc<'profiles'>): string {
  const education = (profile.education ?? []).map((entry) => {
    const what = [entry.degree, entry.field].filter(Boolean).join(' in ')
    const years = [entry.startYear, entry.current ? 'present' : entry.endYear]
      .filter((year) => year !== undefined)
      .join('-')
    return `- ${[what, entry.institution].filter(Boolean).join(', ')}${years ? ` (${years})` : ''}`
  })
  const work = (profile.workHistory ?? []).map((entry) => {
    const dates = [entry.startDate, entry.current ? 'present' : entry.endDate]
      .filter(Boolean)
      .join(' to ')
    const head = `- ${entry.title} at ${entry.organization}${dates ? ` (${dates})` : ''}`
    return entry.description
      ? `${head}: ${clip(entry.description, WORK_DESCRIPTION_PROMPT_CHARS)}`
      : head
  })
  const parts = [
    line('Name', profile.name),
    line('Pronouns', profile.pronouns),
    line('Location', profile.location),
    line('Headline', profile.headline),
    list('Skills', profile.skills),
    list('AI safety interests', profile.aiSafetyInterests),
    line('Career goals', profile.careerGoals),
    line('Seeking', profile.seeking),
    education.length > 0 ? `Education:\n${education.join('\n')}` : null,
    work.length > 0 ? `Work history:\n${work.join('\n')}` : null,
    line('Background summary', profile.enrichmentSummary),
  ].filter((part): part is string => part !== null)

  const text = parts.length > 0 ? parts.join('\n') : 'No profile information yet.'
  const bounded =
    text.length > PROFILE_CONTEXT_MAX_CHARS
      ? `${text.slice(0, PROFILE_CONTEXT_MAX_CHARS)}\n[profile truncated]`
      : text
  return neutralizeDataTags(bounded)
}
