// Sign-out ends access at once: an account signed in through the real flow signs out (or has its
// session deleted), and every public function then treats its still-unexpired token as signed
// out. Reads return their empty value, writes and actions throw, nothing changes, no model call.
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { api } from '../convex/_generated/api'
import type { Id } from '../convex/_generated/dataModel'
import {
  clientWithToken,
  idsOf,
  signInClient,
  signUpAndVerify,
  type SignedInClient,
} from './support/authBackend'
import { useAuthFlow } from './support/authBackend'
import {
  convexModules,
  expectConvexError,
  makeAction,
  makeProfile,
  seedMessages,
  setupBackend,
  snapshotTables,
  useModelServer,
  type Backend,
} from './support/backend'

const model = useModelServer()
const emails = useAuthFlow()

const ADA = 'ada@example.org'
const ADA_PASSWORD = 'purple-otter-skates-42'

type World = {
  profileId: Id<'profiles'>
  actions: Record<'active' | 'saved' | 'inProgress' | 'done', Id<'careerActions'>>
}

type Call = (client: SignedInClient, world: World) => Promise<unknown>

const FORBIDDEN = { code: 'FORBIDDEN', message: 'Only the operators of this deployment can see usage reports.' }

/** The result of a call, or the data of the ConvexError it was refused with. */
async function refusal(call: Promise<unknown>): Promise<unknown> {
  return await call.catch((error: unknown) => (error as { data: unknown }).data)
}

/** Every public query, and the empty value it gives a signed-out caller. */
const READS: Record<string, { call: Call; signedOut: unknown }> = {
  'profiles:getMyProfile': { call: (c) => c.query(api.profiles.getMyProfile, {}), signedOut: null },
  'careerActions/queries:getMyActions': {
    call: (c) => c.query(api.careerActions.queries.getMyActions, {}),
    signedOut: null,
  },
  'enrichment/queries:getMessagesPublic': {
    call: (c, w) => c.query(api.enrichment.queries.getMessagesPublic, { profileId: w.profileId }),
    signedOut: [],
  },
  'enrichment/queries:getCompletionMessagesPublic': {
    call: (c, w) =>
      c.query(api.enrichment.queries.getCompletionMessagesPublic, { profileId: w.profileId, actionId: w.actions.done }),
    signedOut: [],
  },
  'enrichment/queries:listMessages': {
    call: (c, w) =>
      c.query(api.enrichment.queries.listMessages, {
        profileId: w.profileId,
        actionId: w.actions.done,
        paginationOpts: { numItems: 10, cursor: null },
      }),
    signedOut: { page: [], isDone: true, continueCursor: '' },
  },
  'enrichment/queries:getLiveReply': {
    call: (c, w) => c.query(api.enrichment.queries.getLiveReply, { profileId: w.profileId }),
    signedOut: null,
  },
  'auth:isAuthenticated': { call: (c) => c.query(api.auth.isAuthenticated, {}), signedOut: false },
  // Operators' reads refuse instead of returning empty (Ada is an operator in these tests).
  'admin:usageReport': {
    call: (c) => refusal(c.query(api.admin.usageReport, { from: 0, to: 86_400_000, granularity: 'day' })),
    signedOut: FORBIDDEN,
  },
  'admin:topUsers': { call: (c) => refusal(c.query(api.admin.topUsers, { day: '2026-11-23' })), signedOut: FORBIDDEN },
}

/** Every public mutation and action, each with arguments it would accept from the owner. */
const WRITES: Record<string, Call> = {
  'profiles:createProfile': (c) => c.mutation(api.profiles.createProfile, { name: 'Someone else' }),
  'profiles:updateField': (c, w) =>
    c.mutation(api.profiles.updateField, { profileId: w.profileId, updates: { name: 'Changed' } }),
  'profiles:applyExtraction': (c, w) =>
    c.mutation(api.profiles.applyExtraction, { profileId: w.profileId, accepted: { skills_mentioned: ['Rust'] } }),
  'careerActions/mutations:saveAction': (c, w) => c.mutation(api.careerActions.mutations.saveAction, { actionId: w.actions.active }),
  'careerActions/mutations:dismissAction': (c, w) =>
    c.mutation(api.careerActions.mutations.dismissAction, { actionId: w.actions.active }),
  'careerActions/mutations:startAction': (c, w) => c.mutation(api.careerActions.mutations.startAction, { actionId: w.actions.saved }),
  'careerActions/mutations:completeAction': (c, w) =>
    c.mutation(api.careerActions.mutations.completeAction, { actionId: w.actions.inProgress }),
  'careerActions/mutations:unsaveAction': (c, w) => c.mutation(api.careerActions.mutations.unsaveAction, { actionId: w.actions.saved }),
  'careerActions/mutations:cancelAction': (c, w) =>
    c.mutation(api.careerActions.mutations.cancelAction, { actionId: w.actions.inProgress }),
  'careerActions/mutations:markCompletionStarted': (c, w) =>
    c.mutation(api.careerActions.mutations.markCompletionStarted, { actionId: w.actions.done }),
  'enrichment/conversation:sendMessage': (c, w) =>
    c.action(api.enrichment.conversation.sendMessage, { profileId: w.profileId, message: 'Hello' }),
  'enrichment/conversation:sendCompletionMessage': (c, w) =>
    c.action(api.enrichment.conversation.sendCompletionMessage, {
      profileId: w.profileId,
      actionId: w.actions.done,
      message: 'I finished it',
    }),
  'account:deleteMyData': (c) => c.mutation(api.account.deleteMyData, {}),
  'account:exportMyData': (c) => c.action(api.account.exportMyData, {}),
  'enrichment/extraction:extractFromConversation': (c, w) =>
    c.action(api.enrichment.extraction.extractFromConversation, {
      profileId: w.profileId,
      messages: [{ role: 'user', content: 'I know Python' }],
    }),
}

/** The sign-in flow itself: signing in or out is what a signed-out caller may still do. */
const SIGN_IN_FLOW = ['auth:signIn', 'auth:signOut']

async function publicFunctionNames(): Promise<string[]> {
  const names: string[] = []
  for (const [path, load] of Object.entries(convexModules)) {
    const moduleName = path.replace(/^.*\/convex\//, '').replace(/\.ts$/, '')
    // Not function modules: generated code, the schema and the deployment's config files.
    if (moduleName.startsWith('_generated') || moduleName === 'schema' || moduleName.endsWith('.config')) continue
    const exports = (await load()) as Record<string, { isPublic?: boolean }>
    for (const [name, value] of Object.entries(exports)) {
      if (value?.isPublic) names.push(`${moduleName}:${name}`)
    }
  }
  return names.sort()
}

/** A verified account with a profile, an action in each status, and both chats. */
async function signedInOwner(t: Backend) {
  const tokens = await signUpAndVerify(t, emails(), ADA, ADA_PASSWORD)
  const client = clientWithToken(t, tokens.token)
  const userId = idsOf(tokens.token).userId as Id<'users'>
  const profileId = await makeProfile(t, userId, { name: 'Ada', skills: ['Python'] })
  const actions = {
    active: await makeAction(t, profileId, { status: 'active' }),
    saved: await makeAction(t, profileId, { status: 'saved' }),
    inProgress: await makeAction(t, profileId, { status: 'in_progress', startedAt: 2 }),
    done: await makeAction(t, profileId, { status: 'done', completedAt: 3, completionConversationStarted: true }),
  }
  await seedMessages(t, profileId, [
    { role: 'user', content: 'I know Python' },
    { role: 'assistant', content: 'Tell me more' },
    { role: 'user', content: 'I replicated it', actionId: actions.done },
    { role: 'assistant', content: 'Well done', actionId: actions.done },
  ])
  // A reply being written in delta mode, so getLiveReply has something to show its owner.
  await t.run(async (ctx) => {
    const replyId = await ctx.db.insert('enrichmentMessages', {
      profileId, role: 'assistant', content: '', status: 'streaming', createdAt: Date.now(),
    })
    await ctx.db.insert('liveReplyChunks', { replyId, seq: 0, text: 'Half a rep' })
  })
  return { client, tokens, world: { profileId, actions } }
}

describe('sign-out ends access at once', () => {
  beforeEach(() => {
    process.env.ADMIN_EMAILS = ADA
  })
  afterEach(() => {
    delete process.env.ADMIN_EMAILS
  })

  test('the tables below cover every public function', async () => {
    const covered = [...Object.keys(READS), ...Object.keys(WRITES), ...SIGN_IN_FLOW].sort()
    expect(await publicFunctionNames()).toEqual(covered)
  })

  const endings = {
    'signing out': async (t: Backend, client: SignedInClient) => {
      await client.action(api.auth.signOut, {})
    },
    'the session being deleted': async (t: Backend, _client: SignedInClient, token: string) => {
      const sessionId = idsOf(token).sessionId as Id<'authSessions'>
      await t.run((ctx) => ctx.db.delete('authSessions', sessionId))
    },
  }

  for (const [ending, end] of Object.entries(endings)) {
    test(`after ${ending}, the same token reads as signed out everywhere`, async () => {
      const t = setupBackend()
      const { client, tokens, world } = await signedInOwner(t)
      const otherDevice = await signInClient(t, ADA, ADA_PASSWORD)

      for (const [name, read] of Object.entries(READS)) {
        expect(await read.call(client, world), name).not.toEqual(read.signedOut)
      }
      await end(t, client, tokens.token)
      const before = await snapshotTables(t)

      for (const [name, read] of Object.entries(READS)) {
        expect(await read.call(client, world), name).toEqual(read.signedOut)
        // The account's other session is untouched.
        expect(await read.call(otherDevice, world), name).not.toEqual(read.signedOut)
      }
      for (const [name, write] of Object.entries(WRITES)) {
        await expectConvexError(write(client, world), 'Not authenticated').catch((error: unknown) => {
          throw new Error(`${name}: ${String(error)}`)
        })
      }
      expect(await snapshotTables(t)).toEqual(before)
      expect(model().requests).toEqual([])
    })
  }
})
