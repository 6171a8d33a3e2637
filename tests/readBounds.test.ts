// The general chat's read at its worst: CHAT_READ_LIMIT messages, each at the longest a message
// may be, written in 3-byte UTF-8 characters. It must leave real headroom under the 8 MiB a
// transaction may read, not the 10% it had at 500 messages.
import { expect, test } from 'vitest'
import { api } from '../convex/_generated/api'
import { CHAT_READ_LIMIT } from '../convex/enrichment/chats'
import { FIELD_LIMITS } from '../convex/lib/limits'
import { CONVEX_TRANSACTION_LIMITS, makeUser, MiB, seedMessages, setupBackend } from './support/backend'

test('the worst-case general chat reads in under half of 8 MiB', async () => {
  // Reads past 4 MiB fail, as a deployment's would past 8 MiB.
  const t = setupBackend(undefined, { ...CONVEX_TRANSACTION_LIMITS, bytesRead: 4 * MiB })
  const { as, profileId } = await makeUser(t, { name: 'Ada' })
  // '€' is three bytes in UTF-8, one UTF-16 unit: the heaviest text a 5,000-character limit allows.
  const heaviest = '€'.repeat(FIELD_LIMITS.chatMessage)
  for (let seeded = 0; seeded < 600; seeded += 100) {
    await seedMessages(
      t,
      profileId,
      Array.from({ length: 100 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: heaviest }) as const),
      1_000 + seeded,
    )
  }
  const messages = await as.query(api.enrichment.queries.getMessagesPublic, { profileId })
  expect(messages).toHaveLength(CHAT_READ_LIMIT)
  expect(messages.every((message) => message.content === heaviest)).toBe(true)
})
