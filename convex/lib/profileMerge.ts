// How what a conversation adds is composed with what a profile already holds: the same rules
// for extraction (which returns whole values) and applyExtraction (which accepts either).
import { newUniqueItems } from './lists'
import { cutToLength, hasVisibleText } from './text'

/** What separates the current text of a field from what a conversation adds to it. */
export const PARAGRAPH_BREAK = '\n\n'

/**
 * The list a profile should hold once `additions` are accepted, and the items that are new:
 * every current item kept, then new items (trimmed, no case-insensitive repeats) while the list
 * has room. New items past `maxItems` are dropped.
 */
export function mergeList(
  current: readonly string[] | undefined,
  additions: readonly string[],
  limits: { maxItems: number; itemLength: number },
): { whole: string[]; added: string[] } {
  const kept = [...(current ?? [])]
  const room = Math.max(0, limits.maxItems - kept.length)
  const added = newUniqueItems(kept, additions, limits.itemLength).slice(0, room)
  return { whole: [...kept, ...added], added }
}

/**
 * The text a field should hold once `addition` is accepted: the current text whole, then the
 * addition as a new paragraph, shortened (at a character boundary) to fit `limit`. Undefined
 * when there is nothing to add or no room for any of it.
 */
export function appendParagraph(
  current: string | undefined,
  addition: string | undefined,
  limit: number,
): { whole: string; added: string } | undefined {
  const trimmedAddition = addition?.trim() ?? ''
  if (!hasVisibleText(trimmedAddition)) return undefined
  const base = current?.trim() ? current : ''
  const separator = base ? PARAGRAPH_BREAK : ''
  const added = cutToLength(trimmedAddition, limit - base.length - separator.length).trimEnd()
  if (!added) return undefined
  return { whole: `${base}${separator}${added}`, added }
}

/**
 * A text accepted on a review screen may be the whole value (it starts with the current text)
 * or only the new part, which is appended as a new paragraph; either way the field ends up the
 * same. Nothing is cut here: a value over the field's limit is refused by the caller's check.
 */
export function acceptText(current: string | undefined, accepted: string | undefined): string | undefined {
  if (accepted === undefined) return undefined
  if (!current?.trim() || accepted.startsWith(current)) return accepted
  const addition = accepted.trim()
  return addition ? `${current}${PARAGRAPH_BREAK}${addition}` : current
}
