// A sign-up never takes over a claimed account. Accounts made before email verification
// existed are unverified, yet their owners signed in and keep data there: a sign-up with such
// an address answers and emails exactly as for a verified account and keeps the owner's
// password. Only an abandoned sign-up (unverified, never signed in, holding nothing) gets the
// new password and a new code. Everything through the real `auth:signIn` flows.
import { Scrypt } from 'lucia'
import { expect, test } from 'vitest'
import { api, internal } from '../convex/_generated/api'
import type { Id } from '../convex/_generated/dataModel'
import { INVALID_CREDENTIALS } from '../convex/lib/account/passwordProvider'
import {
  clientWithToken,
  passwordStep,
  signInClient,
  signOut,
  signUpAndVerify,
  useAuthFlow,
} from './support/authBackend'
import { expectConvexError, makeProfile, setupBackend, type Backend } from './support/backend'

const emails = useAuthFlow()

const ADA = 'ada@example.org'
const BEA = 'bea@example.org'
const ADA_PASSWORD = 'purple-otter-skates-42'
const STRANGER_PASSWORD = 'violet-heron-dances-17'

/** An account as the backend stored it before email verification existed: a password, no verified address. */
async function accountFromBeforeVerification(t: Backend, email: string) {
  const secret = await new Scrypt().hash(ADA_PASSWORD)
  return await t.run(async (ctx) => {
    const userId = await ctx.db.insert('users', { email })
    const accountId = await ctx.db.insert('authAccounts', {
      userId,
      provider: 'password',
      providerAccountId: email,
      secret,
    })
    return { userId, accountId }
  })
}

/** A sign-in as the backend made it then: the library's own session, with tokens. */
async function oldStyleSignIn(t: Backend, userId: Id<'users'>) {
  const { tokens } = (await t.mutation(internal.auth.store, {
    args: { type: 'signIn', userId, generateTokens: true },
  })) as { tokens: { token: string } }
  return clientWithToken(t, tokens.token)
}

async function storedSecret(t: Backend, accountId: Id<'authAccounts'>) {
  return await t.run(async (ctx) => (await ctx.db.get('authAccounts', accountId))?.secret)
}

/**
 * A stranger signs up with `email`, and Bea (verified) gets the same attempt: the answers and
 * the emails must be the same but for the address. Returns what the owner was sent.
 */
async function expectAnsweredAsVerified(t: Backend, email: string) {
  await signUpAndVerify(t, emails(), BEA, ADA_PASSWORD)
  emails().reset()
  const toClaimed = await passwordStep(t, { flow: 'signUp', email, password: STRANGER_PASSWORD })
  const toVerified = await passwordStep(t, { flow: 'signUp', email: BEA, password: STRANGER_PASSWORD })
  expect(toClaimed).toEqual(toVerified)
  await emails().deliver(t)
  const [sentToOwner] = emails().sentTo(email)
  const [sentToBea] = emails().sentTo(BEA)
  expect(emails().sentTo(email)).toHaveLength(1)
  expect({ subject: sentToOwner.subject, text: sentToOwner.text }).toEqual({ subject: sentToBea.subject, text: sentToBea.text })
  expect(sentToOwner.subject).toBe('Someone tried to sign up to AI Safety Career Coach with your email')
  expect(sentToOwner.text).not.toMatch(/\d{8}/)
}

/** The owner's password still stands and the stranger's opens nothing. */
async function expectPasswordKept(t: Backend, email: string, accountId: Id<'authAccounts'>, secretBefore: unknown) {
  expect(await storedSecret(t, accountId)).toBe(secretBefore)
  await expectConvexError(passwordStep(t, { flow: 'signIn', email, password: STRANGER_PASSWORD }), INVALID_CREDENTIALS)
  // The owner's password is right: as an unverified account, it is sent a code to confirm the address.
  expect(await passwordStep(t, { flow: 'signIn', email, password: ADA_PASSWORD })).toEqual({ tokens: null })
}

test('an unverified account that signed in once and has signed out since is claimed', async () => {
  const t = setupBackend()
  const { userId, accountId } = await accountFromBeforeVerification(t, ADA)
  const ada = await oldStyleSignIn(t, userId)
  await signOut(ada)
  expect(await t.run((ctx) => ctx.db.query('authSessions').collect())).toEqual([])
  const secretBefore = await storedSecret(t, accountId)

  await expectAnsweredAsVerified(t, ADA)
  await expectPasswordKept(t, ADA, accountId, secretBefore)
})

test('an unverified account that is signed in is claimed', async () => {
  const t = setupBackend()
  const { userId, accountId } = await accountFromBeforeVerification(t, ADA)
  const ada = await oldStyleSignIn(t, userId)
  const secretBefore = await storedSecret(t, accountId)

  await expectAnsweredAsVerified(t, ADA)
  await expectPasswordKept(t, ADA, accountId, secretBefore)
  expect(await ada.query(api.auth.isAuthenticated, {})).toBe(true)
})

test('an unverified account that holds a profile is claimed, though no session of it is left', async () => {
  const t = setupBackend()
  const { userId, accountId } = await accountFromBeforeVerification(t, ADA)
  await makeProfile(t, userId, { name: 'Ada' })
  const secretBefore = await storedSecret(t, accountId)

  await expectAnsweredAsVerified(t, ADA)
  await expectPasswordKept(t, ADA, accountId, secretBefore)
})

test('an abandoned sign-up (never signed in, holding nothing) still takes the new password and a new code', async () => {
  const t = setupBackend()
  await passwordStep(t, { flow: 'signUp', email: ADA, password: ADA_PASSWORD })
  emails().reset()

  expect(await passwordStep(t, { flow: 'signUp', email: ADA, password: STRANGER_PASSWORD })).toEqual({ tokens: null })

  // The newest sign-up's password, with the code from the address, opens the account.
  await expectConvexError(passwordStep(t, { flow: 'signIn', email: ADA, password: ADA_PASSWORD }), INVALID_CREDENTIALS)
  await emails().deliver(t)
  const code = emails().latestCode(ADA)
  const { tokens } = await passwordStep(t, { flow: 'email-verification', email: ADA, code, password: STRANGER_PASSWORD })
  expect(await clientWithToken(t, tokens!.token).query(api.auth.isAuthenticated, {})).toBe(true)
  await signInClient(t, ADA, STRANGER_PASSWORD)
})
