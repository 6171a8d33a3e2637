// Every way user text reaches a prompt safely: no `<` or look-alike left, half characters
// replaced, and a transcript's speaker lines made unforgeable. The prompts (./prompts) and the
// profile's rendering (./profileContext) put user text in through these functions only.
import { toWellFormedText } from '../lib/text'

/**
 * Every character that reads as `<`, so that user text in a prompt holds none and cannot open
 * or close a data tag however the tag's name or slash is spelled (Cyrillic or Greek letters,
 * a division or fraction slash, invisible characters between them). The set:
 * - `<` and every character whose compatibility form holds one: fullwidth U+FF1C, small
 *   U+FE64, and U+226E (`<` with an overlay);
 * - the confusables of `<` in Unicode's confusables.txt: U+02C2 modifier letter left
 *   arrowhead, U+1438 Canadian syllabics PA, U+16B2 runic kauna, U+2039 single left-pointing
 *   angle quotation mark, U+276E heavy left angle quotation ornament, U+1D236 Greek
 *   instrumental notation symbol-40;
 * - the single left angle brackets, which a reader takes for a tag's opening just as well:
 *   U+2329 and U+3008 (CJK), U+27E8 (mathematical), U+276C and U+2770 (ornaments), U+29FC.
 * Doubled forms (« U+00AB, 《 U+300A, ⟪ U+27EA, ≪ U+226A) read as quotation marks or a
 * double bracket, never as the one `<` of a tag, and stay: French and CJK quotations keep
 * their look.
 */
const READS_AS_LESS_THAN =
  /[<\u02C2\u1438\u16B2\u2039\u226E\u2329\u276C\u276E\u2770\u27E8\u29FC\u3008\uFE64\uFF1C\u{1D236}]/gu

/**
 * Keeps user text from opening or closing one of the prompt's data tags: every `<` becomes
 * `&lt;` and every look-alike its numeric character reference (`&#xFF1C;`), which the model
 * reads as the character it stands for but never as a tag. Every other character reaches the
 * prompt unchanged. Applying it twice changes nothing more.
 */
export function neutralizeDataTags(text: string): string {
  return text.replace(READS_AS_LESS_THAN, (char) =>
    char === '<' ? '&lt;' : `&#x${char.codePointAt(0)!.toString(16).toUpperCase()};`,
  )
}

/** A stored value as a prompt may hold it: no half characters, nothing that reads as `<`. */
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
