// The one access check (convex/lib/auth.ts): an identity counts only while its session exists,
// is unexpired, belongs to the token's user, and the account is not being deleted.
import { expect, test } from 'vitest'
import { api } from '../convex/_generated/api'
import type { Id } from '../convex/_generated/dataModel'
import { expectConvexError, makeProfile, setupBackend, signIn, type Backend, type SignedIn } from './support/backend'

async function owner(t: Backend) {
  const { userId, as } = await signIn(t)
  const profileId = await makeProfile(t, userId, { name: 'Ada' })
  return { userId, as, profileId }
}

/** Reads nothing and may write nothing: the signed-out answers. */
async function expectSignedOut(client: SignedIn, profileId: Id<'profiles'>) {
  expect(await client.query(api.profiles.getMyProfile, {})).toBeNull()
  expect(await client.query(api.enrichment.queries.getMessagesPublic, { profileId })).toEqual([])
  await expectConvexError(client.mutation(api.profiles.updateField, { profileId, updates: { name: 'X' } }), 'Not authenticated')
}

test('the session as signed in: access', async () => {
  const t = setupBackend()
  const { as } = await owner(t)
  expect(await as.query(api.profiles.getMyProfile, {})).toMatchObject({ name: 'Ada' })
})

test('a subject without a session part reads as signed out', async () => {
  const t = setupBackend()
  const { userId, profileId } = await owner(t)
  await expectSignedOut(t.withIdentity({ subject: userId }), profileId)
})

test('a session part that is not a session id reads as signed out', async () => {
  const t = setupBackend()
  const { userId, profileId } = await owner(t)
  await expectSignedOut(t.withIdentity({ subject: `${userId}|not-a-session` }), profileId)
})

test('an expired session reads as signed out', async () => {
  const t = setupBackend()
  const { userId, profileId } = await owner(t)
  const sessionId = await t.run((ctx) => ctx.db.insert('authSessions', { userId, expirationTime: Date.now() - 1 }))
  await expectSignedOut(t.withIdentity({ subject: `${userId}|${sessionId}` }), profileId)
})

test("a token naming one user with another user's session reads as signed out", async () => {
  const t = setupBackend()
  const victim = await owner(t)
  const attacker = await signIn(t)
  const attackerSession = await t.run(async (ctx) =>
    (await ctx.db.query('authSessions').withIndex('userId', (q) => q.eq('userId', attacker.userId)).first())!._id,
  )
  await expectSignedOut(t.withIdentity({ subject: `${victim.userId}|${attackerSession}` }), victim.profileId)
})

test('an account whose deletion was asked for reads as signed out, even with its session', async () => {
  const t = setupBackend()
  const { userId, as, profileId } = await owner(t)
  await t.run((ctx) => ctx.db.patch('users', userId, { deletionRequestedAt: Date.now() }))
  await expectSignedOut(as, profileId)
})
