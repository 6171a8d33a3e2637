// Texts are UTF-16: an emoji or any other character outside the Basic Multilingual Plane is two
// code units (a surrogate pair). A cut between the two leaves half a character, which the
// model's API refuses ("no low surrogate") and which no stored value should hold.

// With the `u` flag a well-formed pair is one code point, so only an unpaired half matches.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u
const LONE_SURROGATES = /[\uD800-\uDFFF]/gu

export const BROKEN_CHARACTER =
  'The text contains a broken character (half of an emoji or symbol). Remove it and try again.'

/** True when no half of a surrogate pair stands alone (String#isWellFormed, ES2024). */
export function isWellFormedText(text: string): boolean {
  return !LONE_SURROGATE.test(text)
}

/** Each unpaired surrogate replaced by U+FFFD (String#toWellFormed, ES2024). */
export function toWellFormedText(text: string): string {
  return LONE_SURROGATE.test(text) ? text.replace(LONE_SURROGATES, '\uFFFD') : text
}

function isHighSurrogate(unit: number): boolean {
  return unit >= 0xd800 && unit <= 0xdbff
}

function isLowSurrogate(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff
}

/**
 * The longest start of `text` that is at most `maxLength` UTF-16 units long (the unit every
 * length limit here counts in) and ends on a character boundary: a pair at the cut is left out
 * whole, never halved.
 */
export function cutToLength(text: string, maxLength: number): string {
  if (text.length <= maxLength) return text
  let end = Math.max(0, Math.floor(maxLength))
  if (end > 0 && isHighSurrogate(text.charCodeAt(end - 1)) && isLowSurrogate(text.charCodeAt(end))) {
    end -= 1
  }
  return text.substring(0, end)
}

/** `text` cut to `maxLength` with trailing space removed, or `text` itself when it fits. */
export function clipText(text: string, maxLength: number): string {
  return text.length > maxLength ? cutToLength(text, maxLength).trimEnd() : text
}

// What shows nothing on its own: white space, control and format characters (zero-width space
// and joiners, word joiner, BOM, soft hyphen, bidi controls, invisible operators, tags), every
// default-ignorable code point (variation selectors, Hangul fillers, CGJ, ...), combining marks
// (with no letter before them they have nothing to sit on), and the blank Braille cell U+2800,
// which is drawn as an empty space but is none of the above. Unassigned code points are not
// here: a character newer than this runtime's Unicode tables may well be visible.
const SHOWS_NOTHING = /[\p{White_Space}\p{Cc}\p{Cf}\p{Default_Ignorable_Code_Point}\p{M}\u2800]/gu

/** True when `text` has at least one character a person can see: else it counts as empty. */
export function hasVisibleText(text: string): boolean {
  return text.replace(SHOWS_NOTHING, '').length > 0
}
