import { expect, test } from 'vitest'
import { buildModelHistory, HISTORY_LIMIT, MAX_DEBRIEF_USER_TURNS } from '../convex/enrichment/history'

test('a debrief at its cap fits the history bound', () => {
  expect(HISTORY_LIMIT).toBeGreaterThanOrEqual(2 * MAX_DEBRIEF_USER_TURNS)
  const debrief = Array.from({ length: 2 * MAX_DEBRIEF_USER_TURNS }, (_, i) => ({
    role: i % 2 === 0 ? ('user' as const) : ('assistant' as const),
    content: `message ${i}`,
  }))
  expect(buildModelHistory(debrief)).toEqual(debrief)
})
