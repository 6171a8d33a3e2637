import type { Doc } from '../_generated/dataModel'
import { cutToLength, hasVisibleText } from '../lib/text'
import { promptSafe } from './promptEscaping'

/** Upper bound on the profile text put into any prompt (counted after escaping). */
export const PROFILE_CONTEXT_MAX_CHARS = 12_000

/** Most characters of one work description shown in a prompt; the profile keeps it whole. */
export const WORK_DESCRIPTION_PROMPT_CHARS = 600

/** Items each list keeps before the background summary is cut (see buildProfileContext). */
export const LIST_ITEMS_KEPT_BEFORE_SUMMARY_CUT = 5

/** Characters of the background summary kept before lists are shortened below that. */
export const SUMMARY_CHARS_KEPT_BEFORE_LISTS_EMPTIED = 1_000

/** A list in the prompt: items are dropped from its end, and a note says how many. */
type PromptList = {
  items: string[]
  kept: number
  render: (items: string[], leftOut: number) => string
}

function inlineList(label: string, values: string[] | undefined): PromptList | null {
  if (!values || values.length === 0) return null
  const items = values.map(promptSafe)
  return {
    items,
    kept: items.length,
    render: (shown, leftOut) => {
      if (shown.length === 0) return `${label}: (${leftOut} not shown)`
      return `${label}: ${shown.join(', ')}${leftOut > 0 ? ` (and ${leftOut} more)` : ''}`
    },
  }
}

function blockList(label: string, lines: string[]): PromptList | null {
  if (lines.length === 0) return null
  return {
    items: lines,
    kept: lines.length,
    render: (shown, leftOut) =>
      [`${label}:`, ...shown, ...(leftOut > 0 ? [`- (and ${leftOut} more)`] : [])].join('\n'),
  }
}

function renderList(list: PromptList): string {
  return list.render(list.items.slice(0, list.kept), list.items.length - list.kept)
}

function line(label: string, value: string | undefined): string | null {
  return value && hasVisibleText(value) ? `${label}: ${promptSafe(value)}` : null
}

function clipForPrompt(text: string, limit: number): string {
  return text.length > limit ? `${cutToLength(text, limit)}…` : text
}

function educationLines(profile: Doc<'profiles'>): string[] {
  return (profile.education ?? []).map((entry) => {
    const what = [entry.degree, entry.field].filter(Boolean).join(' in ')
    const years = [entry.startYear, entry.current ? 'present' : entry.endYear]
      .filter((year) => year !== undefined)
      .join('-')
    return promptSafe(`- ${[what, entry.institution].filter(Boolean).join(', ')}${years ? ` (${years})` : ''}`)
  })
}

function workLines(profile: Doc<'profiles'>): string[] {
  return (profile.workHistory ?? []).map((entry) => {
    const dates = [entry.startDate, entry.current ? 'present' : entry.endDate]
      .filter(Boolean)
      .join(' to ')
    const head = `- ${entry.title} at ${entry.organization}${dates ? ` (${dates})` : ''}`
    const text = entry.description
      ? `${head}: ${clipForPrompt(entry.description, WORK_DESCRIPTION_PROMPT_CHARS)}`
      : head
    return promptSafe(text)
  })
}

const SUMMARY_LABEL = 'Background summary: '
const SUMMARY_CUT_NOTE = '… [shortened]'

/**
 * The profile as plain text for a prompt: tag-safe, well-formed, at most
 * PROFILE_CONTEXT_MAX_CHARS as sent. The short facts, career goals and seeking are always kept
 * whole. When everything does not fit, lists are shortened first (items dropped from the end
 * of the longest list, down to LIST_ITEMS_KEPT_BEFORE_SUMMARY_CUT each, with a note of how many
 * were left out), then the background summary is cut (down to
 * SUMMARY_CHARS_KEPT_BEFORE_LISTS_EMPTIED), then the lists are shortened further, and only then
 * the rest of the summary goes.
 */
export function buildProfileContext(profile: Doc<'profiles'>): string {
  const facts = [
    line('Name', profile.name),
    line('Pronouns', profile.pronouns),
    line('Location', profile.location),
    line('Headline', profile.headline),
  ]
  const goals = line('Career goals', profile.careerGoals)
  const seeking = line('Seeking', profile.seeking)
  const skills = inlineList('Skills', profile.skills)
  const interests = inlineList('AI safety interests', profile.aiSafetyInterests)
  const education = blockList('Education', educationLines(profile))
  const work = blockList('Work history', workLines(profile))
  const lists = [skills, interests, education, work].filter((list): list is PromptList => list !== null)
  const summary = profile.enrichmentSummary && hasVisibleText(profile.enrichmentSummary) ? promptSafe(profile.enrichmentSummary) : null
  let summaryShown: string | null = summary === null ? null : `${SUMMARY_LABEL}${summary}`

  const assemble = () => {
    const parts = [
      ...facts,
      skills && renderList(skills),
      interests && renderList(interests),
      goals,
      seeking,
      education && renderList(education),
      work && renderList(work),
      summaryShown,
    ].filter((part): part is string => part !== null)
    return parts.length > 0 ? parts.join('\n') : 'No profile information yet.'
  }
  /** Drops the last item of the longest list that has more than `floor`; false if none has. */
  const shortenLongestList = (floor: number) => {
    let longest: PromptList | null = null
    let longestLength = -1
    for (const list of lists) {
      const length = renderList(list).length
      if (list.kept > floor && length > longestLength) {
        longest = list
        longestLength = length
      }
    }
    if (!longest) return false
    longest.kept -= 1
    return true
  }

  /** Cuts the summary to what fits, but not below `keep` characters (or its whole length). */
  const cutSummary = (keep: number) => {
    if (summary === null || summaryShown === null) return
    const room = PROFILE_CONTEXT_MAX_CHARS - (text.length - summaryShown.length)
    const target = Math.max(room - SUMMARY_LABEL.length - SUMMARY_CUT_NOTE.length, Math.min(keep, summary.length))
    if (target >= summary.length) return
    summaryShown = target > 0 ? `${SUMMARY_LABEL}${cutToLength(summary, target)}${SUMMARY_CUT_NOTE}` : null
    text = assemble()
  }

  let text = assemble()
  const over = () => text.length > PROFILE_CONTEXT_MAX_CHARS
  while (over() && shortenLongestList(LIST_ITEMS_KEPT_BEFORE_SUMMARY_CUT)) text = assemble()
  if (over()) cutSummary(SUMMARY_CHARS_KEPT_BEFORE_LISTS_EMPTIED)
  while (over() && shortenLongestList(0)) text = assemble()
  if (over()) cutSummary(0)
  // Reached only if the facts, goals and seeking alone outgrew the bound (the field limits
  // keep them near 9,000 characters), so the bound holds whatever the limits become.
  return cutToLength(text, PROFILE_CONTEXT_MAX_CHARS)
}
