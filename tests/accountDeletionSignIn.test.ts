// Deleting an account made through the real sign-in flow: nothing keyed by its email address
// (throttles, codes, accounts, sessions) is left, and the address can be used again.
import { afterEach, expect, test, vi } from 'vitest'
import { api } from '../convex/_generated/api'
import type { Id } from '../convex/_generated/dataModel'
import { clientWithToken, idsOf, passwordStep, signUpAndVerify, useAuthFlow } from './support/authBackend'
import { type Backend, convexErrorOf, makeProfile, rateLimiterRows, setupBackend, useModelServer } from './support/backend'

useModelServer()
const emails = useAuthFlow()

afterEach(() => {
  vi.useRealTimers()
})

const ADA = 'ada@example.org'
const PASSWORD = 'purple-otter-skates-42'

/** Every document of the auth tables and the app's tables that holds `needle`. */
async function documentsNaming(t: Backend, needle: string) {
  const tables = [
    'users', 'authAccounts', 'authSessions', 'authRefreshTokens', 'authVerificationCodes',
    'authVerifiers', 'authRateLimits', 'profiles', 'accountDeletions',
  ] as const
  return await t.run(async (ctx) => {
    const found: unknown[] = []
    for (const table of tables) {
      for (const doc of await ctx.db.query(table).collect()) {
        if (JSON.stringify(doc).includes(needle)) found.push({ table, doc })
      }
    }
    return found
  })
}

test('deleting a real account leaves nothing keyed by its address, and the address can sign up again', async () => {
  const t = setupBackend()
  const tokens = await signUpAndVerify(t, emails(), ADA, PASSWORD)
  const ada = clientWithToken(t, tokens.token)
  const userId = idsOf(tokens.token).userId as Id<'users'>
  await makeProfile(t, userId, { name: 'Ada' })
  // A wrong password leaves a throttle row keyed by the address.
  await convexErrorOf(passwordStep(t, { flow: 'signIn', email: ADA, password: 'wrong-password-123' }))
  expect((await rateLimiterRows(t)).some((row) => row.key === ADA)).toBe(true)

  await ada.mutation(api.account.deleteMyData, {})
  expect(await ada.query(api.profiles.getMyProfile, {})).toBeNull()
  // The deletion runs on the fake clock useAuthFlow installs.
  await t.finishAllScheduledFunctions(vi.runAllTimers)

  expect(await documentsNaming(t, ADA)).toEqual([])
  expect(await documentsNaming(t, userId)).toEqual([])
  expect((await rateLimiterRows(t)).filter((row) => row.key === ADA || row.key === userId)).toEqual([])
  // The old password opens nothing; the address signs up as a new account.
  await convexErrorOf(passwordStep(t, { flow: 'signIn', email: ADA, password: PASSWORD }))
  const again = await signUpAndVerify(t, emails(), ADA, 'another-long-passphrase-77')
  expect(idsOf(again.token).userId).not.toBe(userId)
})
