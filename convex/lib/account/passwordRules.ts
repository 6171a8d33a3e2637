// What a new password must be: long enough, and not one that is common or easily guessed, as
// judged by zxcvbn-ts (a maintained strength estimator with its own common-password lists).
import { ZxcvbnFactory } from '@zxcvbn-ts/core'
import { adjacencyGraphs, dictionary as commonDictionary } from '@zxcvbn-ts/language-common'
import { dictionary as englishDictionary, translations } from '@zxcvbn-ts/language-en'
import { ConvexError } from 'convex/values'

export const PASSWORD_MIN_CHARS = 10
// Past this the estimator's work grows for no gain; long passphrases fit comfortably.
export const PASSWORD_MAX_CHARS = 200
/** zxcvbn's 0-4 scale: 3 is "safely unguessable" against a throttled online attack and more. */
export const PASSWORD_MIN_SCORE = 3

let estimator: ZxcvbnFactory | undefined

// Built on first use, not at import: the dictionaries take a moment to rank, and only the
// sign-up and reset flows need them.
function passwordEstimator(): ZxcvbnFactory {
  estimator ??= new ZxcvbnFactory({
    translations,
    graphs: adjacencyGraphs,
    dictionary: { ...commonDictionary, ...englishDictionary },
  })
  return estimator
}

/**
 * Throws a ConvexError saying why, when `password` may not be used. `relatedWords` (the
 * email address and its parts) count as easy to guess too.
 */
export function checkNewPassword(password: string, relatedWords: string[] = []): void {
  const length = [...password].length
  if (length < PASSWORD_MIN_CHARS) {
    throw new ConvexError(
      `Your password is too short: use at least ${PASSWORD_MIN_CHARS} characters (this one has ${length}).`,
    )
  }
  if (length > PASSWORD_MAX_CHARS) {
    throw new ConvexError(`Your password is too long: use at most ${PASSWORD_MAX_CHARS} characters.`)
  }
  const result = passwordEstimator().check(password, relatedWords)
  if (result.score >= PASSWORD_MIN_SCORE) return
  const reasons = [result.feedback.warning, ...result.feedback.suggestions].filter(
    (text): text is string => Boolean(text),
  )
  const why = reasons.length > 0 ? reasons.join(' ') : 'Add another word or two; uncommon words are better.'
  throw new ConvexError(`Your password is too easy to guess. ${why}`)
}
