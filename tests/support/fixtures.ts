// convex-test setup and fixtures shared by every test file and the benchmark (no vitest here).
import rateLimiterTest from '@convex-dev/rate-limiter/test'
import shardedCounterTest from '@convex-dev/sharded-counter/test'
import { convexTest } from 'convex-test'
import { api } from '../../convex/_generated/api'
import type { Doc, Id } from '../../convex/_generated/dataModel'
import schema from '../../convex/schema'
import { registerResend } from './resendComponent'

export const convexModules = import.meta.glob('../../convex/**/*.ts')

export const MiB = 1 << 20
type TransactionLimits = { bytesRead: number; bytesWritten: number; documentsRead: number; documentsWritten: number }
/** Convex's limits for one transaction, as the developers' guide states them. */
export const CONVEX_TRANSACTION_LIMITS: TransactionLimits = {
  bytesRead: 8 * MiB,
  documentsRead: 16_384,
  documentsWritten: 8_192,
  bytesWritten: 8 * MiB,
}

/**
 * A fresh test backend; the benchmark passes instrumented modules. Given `transactionLimits`
 * (e.g. CONVEX_TRANSACTION_LIMITS), every transaction, t.run included, fails past them as a
 * deployment would; by default none are enforced.
 */
export function setupBackend(modules = convexModules, transactionLimits: TransactionLimits | false = false) {
  const t = convexTest({ schema, modules, transactionLimits })
  rateLimiterTest.register(t)
  shardedCounterTest.register(t)
  registerResend(t)
  return t
}

export type Backend = ReturnType<typeof setupBackend>
export type SignedIn = ReturnType<Backend['withIdentity']>

/** A user with a session, and a client signed in as them. */
export async function signIn(t: Backend, user: Partial<Omit<Doc<'users'>, '_id' | '_creationTime'>> = {}) {
  const { userId, sessionId } = await t.run(async (ctx) => {
    const userId = await ctx.db.insert('users', user)
    const sessionId = await ctx.db.insert('authSessions', {
      userId,
      expirationTime: Date.now() + 30 * 24 * 60 * 60 * 1000, // @convex-dev/auth's default session length
    })
    return { userId, sessionId }
  })
  return { userId, as: t.withIdentity({ subject: `${userId}|${sessionId}` }) }
}

export async function makeProfile(
  t: Backend,
  userId: Id<'users'>,
  fields: Partial<Omit<Doc<'profiles'>, '_id' | '_creationTime' | 'userId'>> = {},
): Promise<Id<'profiles'>> {
  return await t.run(async (ctx) =>
    ctx.db.insert('profiles', { createdAt: 1, updatedAt: 1, ...fields, userId }),
  )
}

export async function makeAction(
  t: Backend,
  profileId: Id<'profiles'>,
  fields: Partial<Omit<Doc<'careerActions'>, '_id' | '_creationTime' | 'profileId'>> = {},
): Promise<Id<'careerActions'>> {
  return await t.run(async (ctx) =>
    ctx.db.insert('careerActions', {
      type: 'replicate',
      title: 'Replicate the induction heads paper',
      description: 'Reproduce the main result on a small transformer.',
      rationale: 'Builds interpretability skills.',
      status: 'active',
      generatedAt: 1,
      modelVersion: 'test',
      ...fields,
      profileId,
    }),
  )
}

/** A signed-in user with a profile: the usual start of a story. */
export async function makeUser(
  t: Backend,
  profile: Parameters<typeof makeProfile>[2] = {},
) {
  const { userId, as } = await signIn(t)
  const profileId = await makeProfile(t, userId, profile)
  return { userId, as, profileId }
}

/** Stores messages directly, oldest first, one millisecond apart. */
export async function seedMessages(
  t: Backend,
  profileId: Id<'profiles'>,
  messages: { role: 'user' | 'assistant'; content: string; actionId?: Id<'careerActions'> }[],
  startAt = 1_000,
) {
  await t.run(async (ctx) => {
    for (const [index, message] of messages.entries()) {
      await ctx.db.insert('enrichmentMessages', { ...message, profileId, createdAt: startAt + index })
    }
  })
}

const APP_TABLES = [
  'users', 'profiles', 'careerActions', 'enrichmentMessages', 'modelUsage',
  'usageReportDays', 'usageReportUserDays', 'usageReportBackfill',
] as const

/** Every document of the app's tables, to prove a refused call changed nothing. */
export async function snapshotTables(t: Backend) {
  return await t.run(async (ctx) => {
    const snapshot: Record<string, unknown[]> = {}
    for (const table of APP_TABLES) snapshot[table] = await ctx.db.query(table).collect()
    return snapshot
  })
}

export async function messagesOf(t: Backend, profileId: Id<'profiles'>) {
  return await t.run(async (ctx) =>
    ctx.db
      .query('enrichmentMessages')
      .withIndex('by_profile', (q) => q.eq('profileId', profileId))
      .collect(),
  )
}

export type Chat = 'general' | 'debrief'
/**
 * A signed-in user with a profile and, for a debrief, a done action: `send` is one turn
 * (optionally with `liveReply`),
 * `read` the frontend's query of that chat, `live` its getLiveReply, `stored` its documents,
 * `seed` stores messages.
 */
export async function openChat(t: Backend, chat: Chat) {
  const user = await makeUser(t, { name: 'Ada', skills: ['Python'] })
  const actionId =
    chat === 'debrief'
      ? await makeAction(t, user.profileId, { status: 'done', completedAt: 5, completionConversationStarted: true })
      : undefined
  const send = (message: string, options: { liveReply?: 'document' | 'deltas' } = {}) =>
    actionId
      ? user.as.action(api.enrichment.conversation.sendCompletionMessage, {
          profileId: user.profileId,
          actionId,
          message,
          ...options,
        })
      : user.as.action(api.enrichment.conversation.sendMessage, { profileId: user.profileId, message, ...options })
  /** This chat's stored messages, oldest first. */
  const stored = async () =>
    (await messagesOf(t, user.profileId)).filter((message) => message.actionId === actionId)
  const seed = (messages: { role: 'user' | 'assistant'; content: string }[], startAt?: number) =>
    seedMessages(
      t,
      user.profileId,
      messages.map((message) => ({ ...message, ...(actionId && { actionId }) })),
      startAt,
    )
  const read = () =>
    actionId
      ? user.as.query(api.enrichment.queries.getCompletionMessagesPublic, { profileId: user.profileId, actionId })
      : user.as.query(api.enrichment.queries.getMessagesPublic, { profileId: user.profileId })
  /** getLiveReply for this chat. */
  const live = (cursor?: number) =>
    user.as.query(api.enrichment.queries.getLiveReply, {
      profileId: user.profileId,
      ...(actionId && { actionId }),
      ...(cursor !== undefined && { cursor }),
    })
  return { ...user, actionId, send, read, live, stored, seed }
}
