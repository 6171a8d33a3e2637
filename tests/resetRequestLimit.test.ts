// The reset throttle counts reset requests and nothing else: 5 in a row, then one every 6
// minutes, with the same answer for an address with an account and one without; and whenever it
// refuses, the latest reset email's code still works (the refill is shorter than a code's life).
import { expect, test, vi } from 'vitest'
import type { AccountLimitedError } from '../convex/authAttempts'
import { passwordStep, signUpAndVerify, useAuthFlow } from './support/authBackend'
import { convexErrorOf, setupBackend } from './support/backend'

const emails = useAuthFlow()

const ADA = 'ada@example.org'
const ADA_PASSWORD = 'purple-otter-skates-42'
const NEW_PASSWORD = 'violet-heron-dances-17'
const MINUTE = 60_000

test('five reset requests in a row, then a refusal that says the latest code still works', async () => {
  const t = setupBackend()
  await signUpAndVerify(t, emails(), ADA, ADA_PASSWORD)
  for (const address of [ADA, 'nobody@example.org']) {
    for (let request = 0; request < 5; request++) {
      expect(await passwordStep(t, { flow: 'reset', email: address })).toEqual({ tokens: null })
    }
  }
  const known = await convexErrorOf<AccountLimitedError>(passwordStep(t, { flow: 'reset', email: ADA }))
  const unknown = await convexErrorOf<AccountLimitedError>(passwordStep(t, { flow: 'reset', email: 'nobody@example.org' }))
  expect({ ...known, retryAfterMs: 0 }).toEqual({ ...unknown, retryAfterMs: 0 })
  expect(known).toMatchObject({ code: 'RATE_LIMITED', limit: 'resetEmails' })
  expect(known.message).toMatch(
    /^Too many password reset emails have been sent to this address\. Try again in \d+ minutes?\. A code from the last 15 minutes still works: use the latest email\.$/,
  )

  // The latest code works, as the refusal says.
  await emails().deliver(t)
  const code = emails().latestCode(ADA)
  const { tokens } = await passwordStep(t, { flow: 'reset-verification', email: ADA, code, newPassword: NEW_PASSWORD })
  expect(tokens?.token).toEqual(expect.any(String))

  // One more every six minutes.
  vi.setSystemTime(Date.now() + 6 * MINUTE + 1_000)
  expect(await passwordStep(t, { flow: 'reset', email: ADA })).toEqual({ tokens: null })
})

test('sign-ups, however many, leave the reset allowance whole', async () => {
  const t = setupBackend()
  await signUpAndVerify(t, emails(), ADA, ADA_PASSWORD)
  // The sign-up throttle (5 in a row) runs out; the reset one is untouched.
  for (let attempt = 0; attempt < 4; attempt++) {
    await passwordStep(t, { flow: 'signUp', email: ADA, password: `stranger-guess-${attempt}-xyzzy` })
  }
  expect(await convexErrorOf(passwordStep(t, { flow: 'signUp', email: ADA, password: 'stranger-guess-9-xyzzy' }))).toMatchObject({
    code: 'RATE_LIMITED',
    limit: 'accountEmails',
  })
  for (let request = 0; request < 5; request++) {
    expect(await passwordStep(t, { flow: 'reset', email: ADA })).toEqual({ tokens: null })
  }
})
