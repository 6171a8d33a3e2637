// A session padded with refresh tokens still ends at once. Every refresh leaves one more
// refresh token behind; someone holding a session can refresh it thousands of times. A
// password reset, a sign-out and an account deletion must still end that session in their own
// transaction, under Convex's per-transaction limits, and its refresh tokens go in bounded
// batches afterwards. Everything runs through the real `auth:signIn` / `auth:signOut` actions.
import { afterEach, expect, test, vi } from 'vitest'
import { api } from '../convex/_generated/api'
import type { Id } from '../convex/_generated/dataModel'
import {
  clientWithToken,
  idsOf,
  passwordStep,
  signInClient,
  signOut,
  signUpAndVerify,
  useAuthFlow,
} from './support/authBackend'
import { SESSIONS_ENDED_AT_ONCE } from '../convex/lib/account/sessions'
import { CONVEX_TRANSACTION_LIMITS, convexErrorOf, makeProfile, setupBackend, type Backend } from './support/backend'

const emails = useAuthFlow()

afterEach(() => {
  vi.useRealTimers()
})

const ADA = 'ada@example.org'
const PASSWORD = 'purple-otter-skates-42'
const NEW_PASSWORD = 'violet-heron-dances-17'
const PADDING = 10_000
const DAY = 24 * 60 * 60 * 1000

type Tokens = { token: string; refreshToken: string }

/**
 * What `PADDING` refreshes leave behind: a chain of used refresh tokens, stored as the library
 * stores them (written directly, a few thousand per transaction, to keep the test quick), and
 * then one real refresh through `auth:signIn`, whose token is the one a client holds.
 */
async function padWithRefreshTokens(t: Backend, tokens: Tokens): Promise<Tokens> {
  const sessionId = idsOf(tokens.token).sessionId as Id<'authSessions'>
  for (let written = 0; written < PADDING; written += 2_000) {
    await t.run(async (ctx) => {
      let parent: Id<'authRefreshTokens'> | undefined
      for (let i = 0; i < 2_000; i++) {
        parent = await ctx.db.insert('authRefreshTokens', {
          sessionId,
          expirationTime: Date.now() + 30 * DAY,
          firstUsedTime: Date.now() - DAY,
          ...(parent && { parentRefreshTokenId: parent }),
        })
      }
    })
  }
  const refreshed = await refresh(t, tokens.refreshToken)
  if (!refreshed) throw new Error('the padded session did not refresh')
  expect(await refreshTokensOf(t, sessionId)).toBeGreaterThan(PADDING)
  return refreshed
}

/** A client's refresh, as ConvexAuthProvider sends it. */
async function refresh(t: Backend, refreshToken: string): Promise<Tokens | null> {
  const result = (await t.action(api.auth.signIn, { refreshToken })) as { tokens?: Tokens | null }
  return result.tokens ?? null
}

async function refreshTokensOf(t: Backend, sessionId: Id<'authSessions'>): Promise<number> {
  return await t.run(
    async (ctx) =>
      (
        await ctx.db
          .query('authRefreshTokens')
          .withIndex('sessionId', (q) => q.eq('sessionId', sessionId))
          .take(PADDING + 10)
      ).length,
  )
}

async function sessionExists(t: Backend, token: string): Promise<boolean> {
  const sessionId = idsOf(token).sessionId as Id<'authSessions'>
  return (await t.run(async (ctx) => ctx.db.get('authSessions', sessionId))) !== null
}

function limitedBackend() {
  return setupBackend(undefined, CONVEX_TRANSACTION_LIMITS)
}

test('a password reset ends a session padded with 10,000 refresh tokens at once, and its tokens go after', async () => {
  const t = limitedBackend()
  // The padded session: someone else's, signed in with the password they learnt.
  const first = await signUpAndVerify(t, emails(), ADA, PASSWORD)
  const padded = await padWithRefreshTokens(t, first)
  const intruder = clientWithToken(t, padded.token)
  expect(await intruder.query(api.auth.isAuthenticated, {})).toBe(true)

  await passwordStep(t, { flow: 'reset', email: ADA })
  await emails().deliver(t)
  const code = emails().latestCode(ADA)
  const { tokens } = await passwordStep(t, { flow: 'reset-verification', email: ADA, code, newPassword: NEW_PASSWORD })

  // The reset answered with the owner's new session, and the padded one is gone already.
  expect(tokens).toBeTruthy()
  expect(await sessionExists(t, padded.token)).toBe(false)
  expect(await intruder.query(api.auth.isAuthenticated, {})).toBe(false)
  // A refresh the intruder's client had in flight gets no new tokens.
  expect(await refresh(t, padded.refreshToken)).toBeNull()
  // The owner's new session and new password work; the old password does not.
  expect(await clientWithToken(t, tokens!.token).query(api.auth.isAuthenticated, {})).toBe(true)
  await signInClient(t, ADA, NEW_PASSWORD)
  await convexErrorOf(passwordStep(t, { flow: 'signIn', email: ADA, password: PASSWORD }))

  await t.finishAllScheduledFunctions(vi.runAllTimers)
  expect(await refreshTokensOf(t, idsOf(padded.token).sessionId as Id<'authSessions'>)).toBe(0)
  expect(await refresh(t, padded.refreshToken)).toBeNull()
})

test('signing out of a session padded with 10,000 refresh tokens ends it, and its tokens go after', async () => {
  const t = limitedBackend()
  const first = await signUpAndVerify(t, emails(), ADA, PASSWORD)
  const other = await signInClient(t, ADA, PASSWORD)
  const padded = await padWithRefreshTokens(t, first)
  const client = clientWithToken(t, padded.token)

  await signOut(client)

  expect(await sessionExists(t, padded.token)).toBe(false)
  expect(await client.query(api.auth.isAuthenticated, {})).toBe(false)
  expect(await refresh(t, padded.refreshToken)).toBeNull()
  // Only that session: the other device stays signed in.
  expect(await other.query(api.auth.isAuthenticated, {})).toBe(true)

  await t.finishAllScheduledFunctions(vi.runAllTimers)
  expect(await refreshTokensOf(t, idsOf(padded.token).sessionId as Id<'authSessions'>)).toBe(0)
})

test('deleting an account whose session is padded with 10,000 refresh tokens ends that session at once', async () => {
  const t = limitedBackend()
  const first = await signUpAndVerify(t, emails(), ADA, PASSWORD)
  const userId = idsOf(first.token).userId as Id<'users'>
  await makeProfile(t, userId, { name: 'Ada' })
  const padded = await padWithRefreshTokens(t, first)
  const ada = clientWithToken(t, padded.token)

  await ada.mutation(api.account.deleteMyData, {})

  // Gone in deleteMyData's own transaction: no refresh hands out a new token for it.
  expect(await sessionExists(t, padded.token)).toBe(false)
  expect(await refresh(t, padded.refreshToken)).toBeNull()
  expect(await ada.query(api.auth.isAuthenticated, {})).toBe(false)

  await t.finishAllScheduledFunctions(vi.runAllTimers)
  expect(await refreshTokensOf(t, idsOf(padded.token).sessionId as Id<'authSessions'>)).toBe(0)
  expect(await t.run(async (ctx) => ctx.db.get('users', userId))).toBeNull()
})

test('a reset ends every other session even when there are more than one transaction deletes, and spares later ones', async () => {
  const t = limitedBackend()
  const first = await signUpAndVerify(t, emails(), ADA, PASSWORD)
  const userId = idsOf(first.token).userId as Id<'users'>
  // A script that signed in over and over: more sessions than the reset deletes itself.
  const extra = SESSIONS_ENDED_AT_ONCE + 500
  for (let made = 0; made < extra; made += 1_000) {
    await t.run(async (ctx) => {
      for (let i = made; i < Math.min(extra, made + 1_000); i++) {
        await ctx.db.insert('authSessions', { userId, expirationTime: Date.now() + 30 * DAY })
      }
    })
  }

  await passwordStep(t, { flow: 'reset', email: ADA })
  await emails().deliver(t)
  const code = emails().latestCode(ADA)
  const { tokens } = await passwordStep(t, { flow: 'reset-verification', email: ADA, code, newPassword: NEW_PASSWORD })
  // The owner signs in on another device before the batches have run: that session stays.
  const later = await signInClient(t, ADA, NEW_PASSWORD)

  await t.finishAllScheduledFunctions(vi.runAllTimers)
  const left = await t.run((ctx) => ctx.db.query('authSessions').withIndex('userId', (q) => q.eq('userId', userId)).collect())
  expect(left.map((session) => session._id).sort()).toEqual(
    [idsOf(tokens!.token).sessionId, await sessionIdOf(later)].sort(),
  )
  expect(await sessionExists(t, first.token)).toBe(false)
  expect(await t.run((ctx) => ctx.db.query('sessionCleanups').collect())).toEqual([])
})

async function sessionIdOf(client: ReturnType<typeof clientWithToken>): Promise<string> {
  const identity = await client.run((ctx) => ctx.auth.getUserIdentity())
  return identity!.subject.split('|')[1]
}
