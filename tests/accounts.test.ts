// Accounts through the real `auth:signIn` action, with emails going to the local fake of
// Resend's API: sign-up and verification, sign-in, reset, and every way we know to guess,
// squat or enumerate an account.
import { afterEach, describe, expect, test, vi } from 'vitest'
import { Scrypt } from 'lucia'
import { api, internal } from '../convex/_generated/api'
import type { Id } from '../convex/_generated/dataModel'
import type { AccountLimitedError } from '../convex/authAttempts'
import { INVALID_CODE, INVALID_CREDENTIALS } from '../convex/lib/account/passwordProvider'
import { INVALID_EMAIL } from '../convex/lib/account/email'
import {
  clientWithToken,
  idsOf,
  passwordStep,
  signInClient,
  signUpAndVerify,
  useAuthFlow,
  type SignInParams,
} from './support/authBackend'
import { convexErrorOf, expectConvexError, setupBackend, type Backend } from './support/backend'
import { captureConsole } from './support/consoleLog'

// What @convex-dev/auth itself logs (console.warn) when a code step fails: for a code entered for
// an address that has none, with the library's stack (its "Error:" line is kept here), and once
// its wrong-code throttle is reached.
const CODE_FOR_ANOTHER_ADDRESS_WARNING =
  "Verification code failed the provider's `authorize` check Error: Short verification code requires a matching `email` in params of `signIn`."
const CODE_THROTTLE_WARNING = 'Too many failed attempts to verify code for this email'

const emails = useAuthFlow()

const ADA = 'ada@example.org'
const ADA_PASSWORD = 'purple-otter-skates-42'
const OTHER_PASSWORD = 'violet-heron-dances-17'
const MINUTE = 60_000

afterEach(() => {
  vi.useRealTimers()
})

/** Moves the fake clock (see useAuthFlow) without running what is scheduled meanwhile. */
function moveClockForward(ms: number) {
  vi.setSystemTime(Date.now() + ms)
}

async function accountState(t: Backend, email: string) {
  return await t.run(async (ctx) => {
    const accounts = await ctx.db
      .query('authAccounts')
      .withIndex('providerAndAccountId', (q) => q.eq('provider', 'password').eq('providerAccountId', email))
      .collect()
    const account = accounts[0]
    const users = await ctx.db.query('users').collect()
    const sessions = account
      ? await ctx.db.query('authSessions').withIndex('userId', (q) => q.eq('userId', account.userId)).collect()
      : []
    return { accounts, account, users, sessions }
  })
}

async function everySession(t: Backend) {
  return await t.run(async (ctx) => ctx.db.query('authSessions').collect())
}

function step(t: Backend, params: SignInParams) {
  return passwordStep(t, params)
}

describe('sign-up and email verification', () => {
  test('sign-up sends a code and no session; only the code (with the password) opens the account', async () => {
    const t = setupBackend()

    expect(await step(t, { flow: 'signUp', email: ADA, password: ADA_PASSWORD })).toEqual({ tokens: null })

    await emails().deliver(t)
    const [email] = emails().emails
    expect(email).toMatchObject({
      authorization: 'Bearer test-resend-key',
      from: 'AI Safety Career Coach <coach@example.test>',
      to: [ADA],
      subject: 'Your AI Safety Career Coach verification code',
    })
    expect(email.text).toMatch(/^Your code to confirm this email address for AI Safety Career Coach is \d{8}\./)
    expect(email.text).toContain('expires in 15 minutes')
    const before = await accountState(t, ADA)
    expect(before.sessions).toEqual([])
    expect(before.users).toEqual([expect.objectContaining({ email: ADA })])
    expect(before.users[0].emailVerificationTime).toBeUndefined()

    // Signing in before verifying sends a new code and still no session.
    expect(await step(t, { flow: 'signIn', email: ADA, password: ADA_PASSWORD })).toEqual({ tokens: null })
    await emails().deliver(t)
    expect(emails().sentTo(ADA)).toHaveLength(2)
    expect((await accountState(t, ADA)).sessions).toEqual([])

    const code = emails().latestCode(ADA)
    const { tokens } = await step(t, { flow: 'email-verification', email: ADA, code, password: ADA_PASSWORD })
    expect(tokens?.token).toEqual(expect.any(String))
    const after = await accountState(t, ADA)
    expect(after.sessions).toHaveLength(1)
    expect(after.users[0].emailVerificationTime).toEqual(expect.any(Number))
    expect(after.account?.emailVerified).toBe(ADA)

    const ada = clientWithToken(t, tokens!.token)
    const profileId = await ada.mutation(api.profiles.createProfile, { name: 'Ada' })
    expect(await ada.query(api.profiles.getMyProfile, {})).toMatchObject({ _id: profileId, name: 'Ada' })
    expect(idsOf(tokens!.token).userId).toBe(after.account?.userId)

    // A verified account signs in with its password at once.
    const again = await step(t, { flow: 'signIn', email: ADA, password: ADA_PASSWORD })
    expect(again.tokens?.token).toEqual(expect.any(String))
  })

  test('a code works once', async () => {
    const t = setupBackend()
    await step(t, { flow: 'signUp', email: ADA, password: ADA_PASSWORD })
    await emails().deliver(t)
    const code = emails().latestCode(ADA)
    await step(t, { flow: 'email-verification', email: ADA, code, password: ADA_PASSWORD })

    await expectConvexError(
      step(t, { flow: 'email-verification', email: ADA, code, password: ADA_PASSWORD }),
      INVALID_CODE,
    )
    expect(await t.run((ctx) => ctx.db.query('authVerificationCodes').collect())).toEqual([])
  })

  test('a wrong code, a code with the wrong password or for another address: one answer, no session', async () => {
    const warned = captureConsole('warn')
    const t = setupBackend()
    await step(t, { flow: 'signUp', email: ADA, password: ADA_PASSWORD })
    await emails().deliver(t)
    const code = emails().latestCode(ADA)
    const wrongCode = code === '00000000' ? '11111111' : '00000000'

    await expectConvexError(
      step(t, { flow: 'email-verification', email: ADA, code: wrongCode, password: ADA_PASSWORD }),
      INVALID_CODE,
    )
    await expectConvexError(
      step(t, { flow: 'email-verification', email: ADA, code, password: OTHER_PASSWORD }),
      INVALID_CODE,
    )
    await step(t, { flow: 'signUp', email: 'grace@example.org', password: OTHER_PASSWORD })
    await expectConvexError(
      step(t, { flow: 'email-verification', email: 'grace@example.org', code, password: OTHER_PASSWORD }),
      INVALID_CODE,
    )
    await expectConvexError(
      step(t, { flow: 'email-verification', email: 'nobody@example.org', code, password: ADA_PASSWORD }),
      INVALID_CODE,
    )
    expect(await everySession(t)).toEqual([])

    // None of that used up the right code.
    const { tokens } = await step(t, { flow: 'email-verification', email: ADA, code, password: ADA_PASSWORD })
    expect(tokens?.token).toEqual(expect.any(String))
    // @convex-dev/auth's own note on the code entered for an address that has no code.
    expect(warned()).toEqual([CODE_FOR_ANOTHER_ADDRESS_WARNING])
  })

  test('wrong codes are throttled: after 10 even the right code is refused, for an hour', async () => {
    const warned = captureConsole('warn')
    const t = setupBackend()
    await step(t, { flow: 'signUp', email: ADA, password: ADA_PASSWORD })
    await emails().deliver(t)
    const code = emails().latestCode(ADA)
    const wrongCode = code === '00000000' ? '11111111' : '00000000'
    for (let attempt = 0; attempt < 10; attempt++) {
      await expectConvexError(
        step(t, { flow: 'email-verification', email: ADA, code: wrongCode, password: ADA_PASSWORD }),
        INVALID_CODE,
      )
    }
    await expectConvexError(
      step(t, { flow: 'email-verification', email: ADA, code, password: ADA_PASSWORD }),
      INVALID_CODE,
    )
    expect(await everySession(t)).toEqual([])

    expect(warned()).toEqual([CODE_THROTTLE_WARNING])

    // The throttle refills (one attempt per 6 minutes); the code itself lasts 15 minutes.
    moveClockForward(7 * MINUTE)
    const { tokens } = await step(t, { flow: 'email-verification', email: ADA, code, password: ADA_PASSWORD })
    expect(tokens?.token).toEqual(expect.any(String))
  })

  test('a code expires after 15 minutes; a new sign-up sends a new one that works', async () => {
    const t = setupBackend()
    await step(t, { flow: 'signUp', email: ADA, password: ADA_PASSWORD })
    await emails().deliver(t)
    const expired = emails().latestCode(ADA)

    moveClockForward(15 * MINUTE + 1)
    await expectConvexError(
      step(t, { flow: 'email-verification', email: ADA, code: expired, password: ADA_PASSWORD }),
      INVALID_CODE,
    )
    expect(await everySession(t)).toEqual([])
    expect(await t.run((ctx) => ctx.db.query('authVerificationCodes').collect())).toEqual([])

    await step(t, { flow: 'signUp', email: ADA, password: ADA_PASSWORD })
    await emails().deliver(t)
    const fresh = emails().latestCode(ADA)
    const { tokens } = await step(t, { flow: 'email-verification', email: ADA, code: fresh, password: ADA_PASSWORD })
    expect(tokens?.token).toEqual(expect.any(String))
  })

  test('someone who registered another person’s address first cannot keep it', async () => {
    const t = setupBackend()
    const SQUATTER_PASSWORD = 'squatter-knows-this-1'
    await step(t, { flow: 'signUp', email: ADA, password: SQUATTER_PASSWORD })

    // The owner signs up as usual: a new code, tied to the owner's password.
    expect(await step(t, { flow: 'signUp', email: ADA, password: ADA_PASSWORD })).toEqual({ tokens: null })
    await emails().deliver(t)
    const code = emails().latestCode(ADA)
    // The squatter cannot redeem it with their password (and never sees it anyway).
    await expectConvexError(
      step(t, { flow: 'email-verification', email: ADA, code, password: SQUATTER_PASSWORD }),
      INVALID_CODE,
    )
    const { tokens } = await step(t, { flow: 'email-verification', email: ADA, code, password: ADA_PASSWORD })
    expect(tokens?.token).toEqual(expect.any(String))

    await expectConvexError(step(t, { flow: 'signIn', email: ADA, password: SQUATTER_PASSWORD }), INVALID_CREDENTIALS)
    expect((await accountState(t, ADA)).accounts).toHaveLength(1)
  })

  test('when the email API fails the step still succeeds, and the queue sends the code when it answers again', async () => {
    const failedAttempt = vi.spyOn(console, 'error').mockImplementation(() => {})
    const t = setupBackend()
    emails().failNext(500)
    expect(await step(t, { flow: 'signUp', email: ADA, password: ADA_PASSWORD })).toEqual({ tokens: null })

    await emails().deliver(t)
    expect(emails().requests.map((request) => request.status)).toEqual([500, 200])
    // The queue's workpool logs the failed attempt it retried.
    expect(failedAttempt.mock.calls.map(([error]) => String(error))).toEqual([
      'Error: Resend API error: {"statusCode":500,"name":"application_error","message":"Scripted application_error"}',
    ])
    const code = emails().latestCode(ADA)
    const { tokens } = await step(t, { flow: 'email-verification', email: ADA, code, password: ADA_PASSWORD })
    expect(tokens?.token).toEqual(expect.any(String))
  })
})

describe('sign-up with an address that already has an account', () => {
  test('never returns a session, whatever the password, and answers as for a new address', async () => {
    const t = setupBackend()
    await signUpAndVerify(t, emails(), ADA, ADA_PASSWORD)
    const sessionsBefore = await everySession(t)
    emails().reset()

    const wrongGuess = await step(t, { flow: 'signUp', email: ADA, password: OTHER_PASSWORD })
    const rightGuess = await step(t, { flow: 'signUp', email: ADA, password: ADA_PASSWORD })
    const newAddress = await step(t, { flow: 'signUp', email: 'grace@example.org', password: OTHER_PASSWORD })
    expect(wrongGuess).toEqual({ tokens: null })
    expect(rightGuess).toEqual(newAddress)
    expect(wrongGuess).toEqual(newAddress)
    expect(await everySession(t)).toEqual(sessionsBefore)

    // The owner hears about it (once an hour at most), without a code that could open anything.
    await emails().deliver(t)
    const toAda = emails().sentTo(ADA)
    expect(toAda).toHaveLength(1)
    for (const email of toAda) {
      expect(email.subject).toBe('Someone tried to sign up to AI Safety Career Coach with your email')
      expect(email.text).toContain('Nobody was signed in.')
      expect(email.text).not.toMatch(/\d{8}/)
    }
    // The guessed password was not stored: the owner's still works, the guess does not.
    await expectConvexError(step(t, { flow: 'signIn', email: ADA, password: OTHER_PASSWORD }), INVALID_CREDENTIALS)
    await signInClient(t, ADA, ADA_PASSWORD)
  })

  test('sign-up attempts count against the same throttle as failed sign-ins', async () => {
    const t = setupBackend()
    await signUpAndVerify(t, emails(), ADA, ADA_PASSWORD)
    // Four sign-ups (the first also sends the owner a note) and six sign-ins.
    for (let attempt = 0; attempt < 4; attempt++) {
      expect(await step(t, { flow: 'signUp', email: ADA, password: `guess-number-${attempt}-xyzzy` })).toEqual({
        tokens: null,
      })
    }
    for (let attempt = 0; attempt < 6; attempt++) {
      await expectConvexError(
        step(t, { flow: 'signIn', email: ADA, password: `another-guess-${attempt}-xyzzy` }),
        INVALID_CREDENTIALS,
      )
    }
    // Ten attempts in all: even the right password is refused now.
    const refused = await convexErrorOf<AccountLimitedError>(
      step(t, { flow: 'signIn', email: ADA, password: ADA_PASSWORD }),
    )
    expect(refused).toMatchObject({ code: 'RATE_LIMITED', limit: 'passwordAttempts' })
    expect(refused.message).toMatch(/^Too many attempts for this email address\. Try again in \d+ minutes?\./)
  })
})

describe('sign-in', () => {
  test('an unknown address and a wrong password get the same answer, and are throttled alike', async () => {
    const t = setupBackend()
    await signUpAndVerify(t, emails(), ADA, ADA_PASSWORD)

    const unknown = await convexErrorOf(step(t, { flow: 'signIn', email: 'nobody@example.org', password: ADA_PASSWORD }))
    const wrong = await convexErrorOf(step(t, { flow: 'signIn', email: ADA, password: OTHER_PASSWORD }))
    expect(unknown).toBe(INVALID_CREDENTIALS)
    expect(wrong).toBe(unknown)

    for (let attempt = 1; attempt < 10; attempt++) {
      await step(t, { flow: 'signIn', email: 'nobody@example.org', password: OTHER_PASSWORD }).catch(() => null)
      await step(t, { flow: 'signIn', email: ADA, password: OTHER_PASSWORD }).catch(() => null)
    }
    const unknownLimited = await convexErrorOf<AccountLimitedError>(
      step(t, { flow: 'signIn', email: 'nobody@example.org', password: OTHER_PASSWORD }),
    )
    const knownLimited = await convexErrorOf<AccountLimitedError>(
      step(t, { flow: 'signIn', email: ADA, password: OTHER_PASSWORD }),
    )
    expect({ ...knownLimited, retryAfterMs: 0 }).toEqual({ ...unknownLimited, retryAfterMs: 0 })
    expect(knownLimited.message).toContain('If you have forgotten your password, reset it.')
  })

  test('case and space variants of an address are one account', async () => {
    const t = setupBackend()
    await step(t, { flow: 'signUp', email: '  Ada@Example.ORG ', password: ADA_PASSWORD })
    await emails().deliver(t)
    expect(emails().emails.map((email) => email.to)).toEqual([[ADA]])
    const code = emails().latestCode(ADA)
    await step(t, { flow: 'email-verification', email: 'ADA@example.org', code, password: ADA_PASSWORD })

    const first = await signInClient(t, ' ada@EXAMPLE.org', ADA_PASSWORD)
    const second = await signInClient(t, 'ADA@EXAMPLE.ORG  ', ADA_PASSWORD)
    await first.mutation(api.profiles.createProfile, { name: 'Ada' })
    expect(await second.query(api.profiles.getMyProfile, {})).toMatchObject({ name: 'Ada' })

    expect(await step(t, { flow: 'signUp', email: 'ada@example.org', password: OTHER_PASSWORD })).toEqual({
      tokens: null,
    })
    const state = await accountState(t, ADA)
    expect(state.accounts).toHaveLength(1)
    expect(state.users).toHaveLength(1)
    expect(state.users[0].email).toBe(ADA)
  })

  test('a malformed address is refused with one clear message', async () => {
    const t = setupBackend()
    for (const email of ['', 'ada', 'ada@', '@example.org', 'ada @example.org']) {
      await expectConvexError(step(t, { flow: 'signUp', email, password: ADA_PASSWORD }), INVALID_EMAIL)
      await expectConvexError(step(t, { flow: 'signIn', email, password: ADA_PASSWORD }), INVALID_EMAIL)
    }
    await expectConvexError(
      t.action(api.auth.signIn, { provider: 'password', params: { flow: 'signIn', email: 42, password: 'x' } }),
      INVALID_EMAIL,
    )
    await expectConvexError(
      step(t, { flow: 'constructor', email: ADA, password: ADA_PASSWORD }),
      'Unknown sign-in step: `flow` must be "signUp", "signIn", "email-verification", "reset" or "reset-verification".',
    )
    await emails().deliver(t)
    expect(emails().emails).toEqual([])
  })
})

describe('password rules', () => {
  test('weak passwords are refused with a message saying why, and nothing is stored or sent', async () => {
    const t = setupBackend()
    const refusals: Record<string, string> = {
      password: 'Your password is too short: use at least 10 characters (this one has 8).',
      '12345678': 'Your password is too short: use at least 10 characters (this one has 8).',
      '        ': 'Your password is too short: use at least 10 characters (this one has 8).',
      password12: 'Your password is too easy to guess. This is a commonly used password. Add more words that are less common.',
      '1234567890':
        'Your password is too easy to guess. This is a frequently used password. Add more words that are less common.',
      '          ':
        'Your password is too easy to guess. Repeated characters like "aaa" are easy to guess. Add more words that are less common. Avoid repeated words and characters.',
      'ada@example.org1':
        'Your password is too easy to guess. There should not be any personal or page related data. Add more words that are less common.',
    }
    for (const [password, message] of Object.entries(refusals)) {
      await expectConvexError(step(t, { flow: 'signUp', email: ADA, password }), message)
    }
    // Length is counted in characters, not UTF-16 units: 9 emoji are too short.
    await expectConvexError(
      step(t, { flow: 'signUp', email: ADA, password: '🦊🦊🦊🦊🦊🦊🦊🦊🦊' }),
      'Your password is too short: use at least 10 characters (this one has 9).',
    )
    expect((await accountState(t, ADA)).users).toEqual([])
    await emails().deliver(t)
    expect(emails().emails).toEqual([])
  })

  test('a reset refuses a weak new password the same way, and keeps the old one', async () => {
    const t = setupBackend()
    await signUpAndVerify(t, emails(), ADA, ADA_PASSWORD)
    await step(t, { flow: 'reset', email: ADA })
    await emails().deliver(t)
    const code = emails().latestCode(ADA)
    await expectConvexError(
      step(t, { flow: 'reset-verification', email: ADA, code, newPassword: '1234567890' }),
      'Your password is too easy to guess. This is a frequently used password. Add more words that are less common.',
    )
    await signInClient(t, ADA, ADA_PASSWORD)
    // The code was not spent on the refused password.
    const { tokens } = await step(t, { flow: 'reset-verification', email: ADA, code, newPassword: OTHER_PASSWORD })
    expect(tokens?.token).toEqual(expect.any(String))
  })
})

describe('password reset', () => {
  test('a known and an unknown address get the same answer; each gets an email saying what it is for', async () => {
    const t = setupBackend()
    await signUpAndVerify(t, emails(), ADA, ADA_PASSWORD)
    emails().reset()

    const known = await step(t, { flow: 'reset', email: ' ADA@example.org' })
    const unknown = await step(t, { flow: 'reset', email: 'nobody@example.org' })
    expect(known).toEqual({ tokens: null })
    expect(unknown).toEqual(known)

    await emails().deliver(t)
    const [toAda] = emails().sentTo(ADA)
    expect(toAda.subject).toBe('Your AI Safety Career Coach password reset code')
    expect(toAda.text).toMatch(/^Your code to set a new password for AI Safety Career Coach is \d{8}\./)
    const [toNobody] = emails().sentTo('nobody@example.org')
    expect(toNobody.subject).toBe('Password reset for AI Safety Career Coach')
    expect(toNobody.text).toContain('there is no account with it')
  })

  test('the code sets a new password, ends every other session and lifts the sign-in throttle', async () => {
    const t = setupBackend()
    const firstTokens = await signUpAndVerify(t, emails(), ADA, ADA_PASSWORD)
    const laptop = clientWithToken(t, firstTokens.token)
    const phone = await signInClient(t, ADA, ADA_PASSWORD)
    await laptop.mutation(api.profiles.createProfile, { name: 'Ada' })

    // Someone guesses until the owner is locked out.
    for (let attempt = 0; attempt < 10; attempt++) {
      await expectConvexError(
        step(t, { flow: 'signIn', email: ADA, password: `guess-${attempt}-xyzzy-plugh` }),
        INVALID_CREDENTIALS,
      )
    }
    expect(await convexErrorOf(step(t, { flow: 'signIn', email: ADA, password: ADA_PASSWORD }))).toMatchObject({
      code: 'RATE_LIMITED',
    })

    await step(t, { flow: 'reset', email: ADA })
    await emails().deliver(t)
    const code = emails().latestCode(ADA)
    const wrongCode = code === '00000000' ? '11111111' : '00000000'
    await expectConvexError(
      step(t, { flow: 'reset-verification', email: ADA, code: wrongCode, newPassword: OTHER_PASSWORD }),
      INVALID_CODE,
    )
    const { tokens } = await step(t, { flow: 'reset-verification', email: ADA, code, newPassword: OTHER_PASSWORD })
    expect(tokens?.token).toEqual(expect.any(String))

    // Only the new session is left; the others read as signed out at once.
    const state = await accountState(t, ADA)
    expect(state.sessions.map((session) => session._id)).toEqual([idsOf(tokens!.token).sessionId])
    expect(await laptop.query(api.profiles.getMyProfile, {})).toBeNull()
    await expectConvexError(phone.mutation(api.profiles.createProfile, { name: 'Phone' }), 'Not authenticated')
    expect(await clientWithToken(t, tokens!.token).query(api.profiles.getMyProfile, {})).toMatchObject({ name: 'Ada' })

    // Throttle lifted; the old password is gone; the code worked once.
    await signInClient(t, ADA, OTHER_PASSWORD)
    await expectConvexError(step(t, { flow: 'signIn', email: ADA, password: ADA_PASSWORD }), INVALID_CREDENTIALS)
    await expectConvexError(
      step(t, { flow: 'reset-verification', email: ADA, code, newPassword: 'yet-another-good-passphrase' }),
      INVALID_CODE,
    )
  })

  test('an expired reset code, a code for another address and an unknown address all get the code answer', async () => {
    const warned = captureConsole('warn')
    const t = setupBackend()
    await signUpAndVerify(t, emails(), ADA, ADA_PASSWORD)
    await step(t, { flow: 'reset', email: ADA })
    await emails().deliver(t)
    const code = emails().latestCode(ADA)

    await expectConvexError(
      step(t, { flow: 'reset-verification', email: 'nobody@example.org', code, newPassword: OTHER_PASSWORD }),
      INVALID_CODE,
    )
    moveClockForward(15 * MINUTE + 1)
    await expectConvexError(
      step(t, { flow: 'reset-verification', email: ADA, code, newPassword: OTHER_PASSWORD }),
      INVALID_CODE,
    )
    await signInClient(t, ADA, ADA_PASSWORD)
    expect(warned()).toEqual([CODE_FOR_ANOTHER_ADDRESS_WARNING])
  })

  test('wrong reset codes are throttled like verification codes', async () => {
    const warned = captureConsole('warn')
    const t = setupBackend()
    await signUpAndVerify(t, emails(), ADA, ADA_PASSWORD)
    await step(t, { flow: 'reset', email: ADA })
    await emails().deliver(t)
    const code = emails().latestCode(ADA)
    const wrongCode = code === '00000000' ? '11111111' : '00000000'
    for (let attempt = 0; attempt < 10; attempt++) {
      await expectConvexError(
        step(t, { flow: 'reset-verification', email: ADA, code: wrongCode, newPassword: OTHER_PASSWORD }),
        INVALID_CODE,
      )
    }
    await expectConvexError(
      step(t, { flow: 'reset-verification', email: ADA, code, newPassword: OTHER_PASSWORD }),
      INVALID_CODE,
    )
    await signInClient(t, ADA, ADA_PASSWORD)
    expect(warned()).toEqual([CODE_THROTTLE_WARNING])
  })

  test('a reset verifies an address someone else had registered, and the squatter’s password stops working', async () => {
    const t = setupBackend()
    await step(t, { flow: 'signUp', email: ADA, password: 'squatter-knows-this-1' })
    await step(t, { flow: 'reset', email: ADA })
    await emails().deliver(t)
    const code = emails().latestCode(ADA)
    const { tokens } = await step(t, { flow: 'reset-verification', email: ADA, code, newPassword: ADA_PASSWORD })
    expect(tokens?.token).toEqual(expect.any(String))
    expect((await accountState(t, ADA)).users[0].emailVerificationTime).toEqual(expect.any(Number))
    await expectConvexError(
      step(t, { flow: 'signIn', email: ADA, password: 'squatter-knows-this-1' }),
      INVALID_CREDENTIALS,
    )
  })
})

describe('sessions', () => {
  test('sign-out, a deleted session and an expired one all read as signed out; other sessions go on', async () => {
    const t = setupBackend()
    const tokens = await signUpAndVerify(t, emails(), ADA, ADA_PASSWORD)
    const laptop = clientWithToken(t, tokens.token)
    const phone = await signInClient(t, ADA, ADA_PASSWORD)
    const tablet = await signInClient(t, ADA, ADA_PASSWORD)
    await laptop.mutation(api.profiles.createProfile, { name: 'Ada' })
    expect(await laptop.query(api.auth.isAuthenticated, {})).toBe(true)

    await laptop.action(api.auth.signOut, {})
    expect(await laptop.query(api.auth.isAuthenticated, {})).toBe(false)
    expect(await laptop.query(api.profiles.getMyProfile, {})).toBeNull()
    expect(await phone.query(api.profiles.getMyProfile, {})).toMatchObject({ name: 'Ada' })

    const { sessions } = await accountState(t, ADA)
    const [phoneSession, tabletSession] = sessions.map((session) => session._id as Id<'authSessions'>)
    await t.run(async (ctx) => {
      await ctx.db.delete('authSessions', phoneSession)
      await ctx.db.patch('authSessions', tabletSession, { expirationTime: Date.now() - 1 })
    })
    expect(await phone.query(api.profiles.getMyProfile, {})).toBeNull()
    expect(await tablet.query(api.profiles.getMyProfile, {})).toBeNull()
    await expectConvexError(tablet.mutation(api.profiles.createProfile, { name: 'Tablet' }), 'Not authenticated')
  })
})

describe('accounts made before addresses were normalized', () => {
  test('the migration rewrites their addresses so they can sign in, and leaves collisions alone', async () => {
    const warned = captureConsole('warn')
    const t = setupBackend()
    const secret = await new Scrypt().hash(ADA_PASSWORD)
    const seeded = await t.run(async (ctx) => {
      const seed = async (stored: string) => {
        const userId = await ctx.db.insert('users', { email: stored })
        const account = { userId, provider: 'password', providerAccountId: stored, secret, emailVerified: stored }
        return await ctx.db.insert('authAccounts', account)
      }
      return {
        ada: await seed(' Ada@Example.ORG'),
        bobUpper: await seed('Bob@Example.org'),
        bob: await seed('bob@example.org'),
      }
    })
    await expectConvexError(step(t, { flow: 'signIn', email: ADA, password: ADA_PASSWORD }), INVALID_CREDENTIALS)

    const result = await t.mutation(internal.authMigrations.normalizeAccountEmails, {})
    expect(result).toEqual({ checked: 3, normalized: 1, collisions: [seeded.bobUpper], isDone: true })
    expect(warned()).toEqual([
      `Account ${seeded.bobUpper}: bob@example.org already belongs to account ${seeded.bob}; left unchanged`,
    ])

    const ada = await signInClient(t, ADA, ADA_PASSWORD)
    expect(await ada.query(api.auth.isAuthenticated, {})).toBe(true)
    const users = await t.run((ctx) => ctx.db.query('users').collect())
    expect(users.map((user) => user.email)).toEqual([ADA, 'Bob@Example.org', 'bob@example.org'])
  })
})
