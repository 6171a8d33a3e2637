// Every way user text reaches a prompt safely: data tags neutralized, half characters
// replaced, and a transcript's speaker lines made unforgeable. The prompts (./prompts) and the
// profile's rendering (./profileContext) put user text in through these functions only.
import { toWellFormedText } from '../lib/text'

// Matched on a folded copy of the text (see foldForMatch), so look-alikes match too: fullwidth
// or small `＜`, `／`, `＿`, letters in other case or width, spaces or hyphens between words.
const DATA_TAG_START = /<\s*\/?\s*(?:profile[\s_-]*data|completed[\s_-]*action|conversation)/g

// Removed from the folded copy: invisible code points (zero-width spaces and joiners, soft
// hyphen, bidi controls, word joiner, BOM, variation selectors...) and combining marks, so
// that none of them can split a tag name, or hide a `<` under an overlay such as U+0338.
const IGNORED_IN_MATCH = /[\p{Default_Ignorable_Code_Point}\p{Cf}\p{M}]/gu

/**
 * The text folded for matching, one code point at a time (compatibility decomposition, lower
 * case, the ignored code points removed), with the index in `text` of the code point that
 * each folded unit came from.
 */
function foldForMatch(text: string): { folded: string; origin: number[] } {
  let folded = ''
  const origin: number[] = []
  // Texts repeat their characters; normalizing each distinct one once keeps long texts fast.
  const foldedChars = new Map<string, string>()
  let index = 0
  for (const char of text) {
    let part = char.charCodeAt(0) < 0x80 ? char.toLowerCase() : foldedChars.get(char)
    if (part === undefined) {
      part = char.normalize('NFKD').toLowerCase().normalize('NFKD').replace(IGNORED_IN_MATCH, '')
      foldedChars.set(char, part)
    }
    for (let i = 0; i < part.length; i++) origin.push(index)
    folded += part
    index += char.length
  }
  return { folded, origin }
}

/**
 * Keeps user text from opening or closing one of the prompt's data tags: the character that
 * would open such a tag (`<` or a look-alike) is written `&lt;`. Matching ignores invisible
 * characters and compares after Unicode compatibility folding (NFKC's decomposition); every
 * other character reaches the prompt unchanged.
 */
export function neutralizeDataTags(text: string): string {
  // Fast path: nothing that folds to `<` (only `<`, U+226E, U+FE64 and U+FF1C do).
  if (!/[<\u226e\ufe64\uff1c]/.test(text)) return text
  const { folded, origin } = foldForMatch(text)
  const opening = new Set<number>()
  for (const match of folded.matchAll(DATA_TAG_START)) opening.add(origin[match.index])
  if (opening.size === 0) return text
  let escaped = ''
  let index = 0
  for (const char of text) {
    escaped += opening.has(index) ? '&lt;' : char
    index += char.length
  }
  return escaped
}

/** A stored value as a prompt may hold it: no half characters, no data tags. */
export function promptSafe(text: string): string {
  return neutralizeDataTags(toWellFormedText(text))
}

// Every way a text can start a new line, so no message can start a line of its own.
const LINE_BREAK = /\r\n|[\n\r\v\f\u0085\u2028\u2029]/

/**
 * The transcript as sent: each message opens with a `User:` or `Coach:` line and each of its
 * further lines starts with `| `, so a message cannot forge the other speaker's line; data tags
 * are escaped and half characters replaced.
 */
export function renderTranscript(messages: { role: 'user' | 'assistant'; content: string }[]): string {
  return messages
    .map((message) => {
      const [first, ...rest] = promptSafe(message.content).split(LINE_BREAK)
      const speaker = message.role === 'user' ? 'User' : 'Coach'
      return [`${speaker}: ${first}`, ...rest.map((text) => `| ${text}`)].join('\n')
    })
    .join('\n\n')
}
