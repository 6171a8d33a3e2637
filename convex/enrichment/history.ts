import type { ModelMessage } from '../ai/claude'
import { toWellFormedText } from '../lib/text'
import { promptSafe } from './promptEscaping'

/** Most messages sent to the model in one request (the newest; older ones are dropped). */
export const HISTORY_LIMIT = 40

/** A debrief is short by design: after this many user messages it refuses more. */
export const MAX_DEBRIEF_USER_TURNS = 10

/** Documents a debrief turn reads: the capped debrief plus room for failed partial replies. */
export const DEBRIEF_READ_LIMIT = 100

// A whole debrief at its cap (alternating turns) must fit the history bound, so it is never cut.
if (HISTORY_LIMIT < 2 * MAX_DEBRIEF_USER_TURNS) {
  throw new Error('HISTORY_LIMIT must hold a whole debrief at MAX_DEBRIEF_USER_TURNS')
}

type StoredMessage = { role: 'user' | 'assistant'; content: string; status?: 'streaming' | 'failed' }

/**
 * Finished messages only (a reply still streaming or failed is never used), consecutive
 * same-role messages joined into one turn. A half character stored before input was checked
 * becomes U+FFFD, so an old message cannot make every later request fail.
 */
export function finishedTurns(messages: StoredMessage[]): ModelMessage[] {
  const turns: ModelMessage[] = []
  for (const message of messages) {
    if (message.status !== undefined) continue
    const content = toWellFormedText(message.content)
    const previous = turns.at(-1)
    if (previous && previous.role === message.role) {
      previous.content = `${previous.content}\n\n${content}`
    } else {
      turns.push({ role: message.role, content })
    }
  }
  return turns
}

/**
 * The chat request history: finished turns, the newest HISTORY_LIMIT, starting with a user
 * turn, each escaped like every other text a prompt holds (no `<` or look-alike; replies too,
 * since they may quote the user).
 */
export function buildModelHistory(messages: StoredMessage[]): ModelMessage[] {
  const newest = finishedTurns(messages).slice(-HISTORY_LIMIT)
  const firstUser = newest.findIndex((turn) => turn.role === 'user')
  if (firstUser === -1) return []
  return newest.slice(firstUser).map((turn) => ({ role: turn.role, content: promptSafe(turn.content) }))
}
