// Issue 21, finding 4: a stranger who knows only an address cannot keep its owner from getting
// a reset code. Sign-ups with a verified address send the owner at most one "someone tried" note
// an hour, counted apart from the reset emails, so the owner's reset request still gets a code.
import { expect, test } from 'vitest'
import { passwordStep, signInClient, signUpAndVerify, useAuthFlow } from './support/authBackend'
import { setupBackend } from './support/backend'

const emails = useAuthFlow()

const ADA = 'ada@example.org'
const ADA_PASSWORD = 'purple-otter-skates-42'
const NEW_PASSWORD = 'violet-heron-dances-17'
const NOTE_SUBJECT = 'Someone tried to sign up to AI Safety Career Coach with your email'
const RESET_SUBJECT = 'Your AI Safety Career Coach password reset code'

test('a stranger’s repeated sign-ups with a verified address leave the owner’s reset code alone', async () => {
  const t = setupBackend()
  await signUpAndVerify(t, emails(), ADA, ADA_PASSWORD)
  emails().reset()

  // Four sign-ups in a row: with the owner's own sign-up, enough before the fix to empty the
  // address's email throttle (5 in a row), and well under the password throttle (10).
  for (let attempt = 0; attempt < 4; attempt++) {
    expect(await passwordStep(t, { flow: 'signUp', email: ADA, password: `stranger-guess-${attempt}-xyzzy` })).toEqual({
      tokens: null,
    })
  }

  // The owner asks for a reset code and gets one, which works.
  expect(await passwordStep(t, { flow: 'reset', email: ADA })).toEqual({ tokens: null })
  await emails().deliver(t)
  // The owner heard about the sign-ups once, not four times, and got the code.
  expect(emails().sentTo(ADA).map((email) => email.subject)).toEqual([NOTE_SUBJECT, RESET_SUBJECT])
  const code = emails().latestCode(ADA)
  const { tokens } = await passwordStep(t, { flow: 'reset-verification', email: ADA, code, newPassword: NEW_PASSWORD })
  expect(tokens?.token).toEqual(expect.any(String))
  await signInClient(t, ADA, NEW_PASSWORD)
})
