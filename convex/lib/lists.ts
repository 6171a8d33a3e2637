import { clipText, hasVisibleText } from './text'

/**
 * The items of `additions` that `existing` lacks: trimmed, with something visible, clipped to `itemLimit`
 * (at a character boundary), without case-insensitive repeats, in their order.
 */
export function newUniqueItems(
  existing: readonly string[],
  additions: readonly string[],
  itemLimit = Infinity,
): string[] {
  const seen = new Set(existing.map((item) => item.trim().toLowerCase()))
  const added: string[] = []
  for (const item of additions) {
    const trimmed = item.trim()
    const cleaned = clipText(trimmed, itemLimit)
    const key = cleaned.toLowerCase()
    if (hasVisibleText(cleaned) && !seen.has(key)) {
      seen.add(key)
      added.push(cleaned)
    }
  }
  return added
}
