// The React frontend's own sequence of calls while it drives a completion debrief (docs/api.md,
// "The completion debrief, as the frontend drives it"), step by step, with its subscription read
// between and during steps.
import { expect, test } from 'vitest'
import { api } from '../convex/_generated/api'
import type { Doc, Id } from '../convex/_generated/dataModel'
import {
  makeAction,
  makeUser,
  setupBackend,
  useModelServer,
  type Backend,
  type SignedIn,
} from './support/backend'

const server = useModelServer()

const PROFILE = {
  name: 'Grace',
  skills: ['Python', 'Statistics'],
  aiSafetyInterests: ['AI governance'],
  enrichmentSummary: 'Ten years as a data scientist in retail.',
  careerGoals: 'Move into alignment research.',
  seeking: 'A research internship.',
}

const CLOSING =
  "Great — I have a good picture of what you accomplished! Let me summarize what I've learned so we can update your profile."

/** Every new item the scripted extraction proposes, with repeats of what the profile has. */
const EXTRACTED = {
  skills_mentioned: ['PyTorch', 'python', 'TransformerLens'],
  career_interests: ['mechanistic interpretability', 'ai GOVERNANCE'],
  career_goals: 'Publish an interpretability paper within a year.',
  background_summary: 'Replicated the induction heads paper on a 2-layer transformer.',
  seeking: 'A mentor in interpretability.',
}

type Message = Doc<'enrichmentMessages'>

/**
 * A subscription as the frontend holds it: `read()` re-runs the query; `during(promise)` keeps
 * re-running it every few milliseconds until the promise settles, so every state a client could
 * have been sent is seen. Every result seen is kept in `seen`.
 */
function subscribe(read: () => Promise<Message[]>) {
  const seen: Message[][] = []
  const readOnce = async () => {
    const result = await read()
    seen.push(result)
    return result
  }
  return {
    seen,
    read: readOnce,
    async during<T>(promise: Promise<T>): Promise<T> {
      let settled = false
      const polling = (async () => {
        while (!settled) {
          await readOnce()
          await new Promise((resolve) => setTimeout(resolve, 3))
        }
      })()
      try {
        return await promise
      } finally {
        settled = true
        await polling
        await readOnce()
      }
    },
  }
}

/** The review screen's "accept all": each value written as it is, mapped as docs/api.md says. */
async function acceptAll(
  as: SignedIn,
  profileId: Id<'profiles'>,
  extracted: Awaited<ReturnType<typeof extractFrom>>,
) {
  const updates: Record<string, unknown> = {}
  // A list with nothing new comes back empty: the review screen offers nothing there.
  if (extracted.skills_mentioned.length > 0) updates.skills = extracted.skills_mentioned
  if (extracted.career_interests.length > 0) updates.aiSafetyInterests = extracted.career_interests
  if (extracted.career_goals !== undefined) updates.careerGoals = extracted.career_goals
  if (extracted.background_summary !== undefined) updates.enrichmentSummary = extracted.background_summary
  if (extracted.seeking !== undefined) updates.seeking = extracted.seeking
  await as.mutation(api.profiles.updateField, { profileId, updates })
}

async function extractFrom(as: SignedIn, profileId: Id<'profiles'>, messages: Message[]) {
  server().reply({ kind: 'tool', name: 'save_profile_updates', input: EXTRACTED })
  return await as.action(api.enrichment.extraction.extractFromConversation, {
    profileId,
    messages: messages.map(({ role, content }) => ({ role, content })),
  })
}

async function profileOf(t: Backend, profileId: Id<'profiles'>) {
  return (await t.run(async (ctx) => ctx.db.get('profiles', profileId)))!
}

/** Nothing the profile held before the review is missing after it, and the new items are in. */
function expectNothingLost(after: Doc<'profiles'>) {
  for (const skill of PROFILE.skills) expect(after.skills).toContain(skill)
  for (const interest of PROFILE.aiSafetyInterests) expect(after.aiSafetyInterests).toContain(interest)
  expect(after.enrichmentSummary).toContain(PROFILE.enrichmentSummary)
  expect(after.careerGoals).toContain(PROFILE.careerGoals)
  expect(after.seeking).toContain(PROFILE.seeking)

  expect(after.skills).toEqual(['Python', 'Statistics', 'PyTorch', 'TransformerLens'])
  expect(after.aiSafetyInterests).toEqual(['AI governance', 'mechanistic interpretability'])
  expect(after.enrichmentSummary).toBe(`${PROFILE.enrichmentSummary}\n\n${EXTRACTED.background_summary}`)
  expect(after.careerGoals).toBe(`${PROFILE.careerGoals}\n\n${EXTRACTED.career_goals}`)
  expect(after.seeking).toBe(`${PROFILE.seeking}\n\n${EXTRACTED.seeking}`)
  expect(after.name).toBe(PROFILE.name)
}

function expectNoEmptyBubble(seen: Message[][]) {
  const empty = seen.flat().filter((message) => message.role === 'assistant' && message.content.trim() === '')
  expect(empty).toEqual([])
}

/** Replies that stream slowly enough for the subscription to see them being written. */
function slowReply(text: string) {
  return { kind: 'text' as const, text, firstTokenDelayMs: 40, chunkIntervalMs: 25 }
}

test('a debrief as the frontend drives it loses nothing, opens once, and never shows an empty bubble', async () => {
  const t = setupBackend()
  const { as, profileId } = await makeUser(t, PROFILE)
  const actionId = await makeAction(t, profileId, { status: 'in_progress', startedAt: 10 })
  const subscription = subscribe(() =>
    as.query(api.enrichment.queries.getCompletionMessagesPublic, { actionId, profileId }),
  )
  const actionContext = {
    title: 'Replicate the induction heads paper',
    description: 'Reproduce the main result on a small transformer.',
    type: 'replicate',
  }
  const send = (message: string, opening = false) =>
    subscription.during(
      as.action(api.enrichment.conversation.sendCompletionMessage, {
        profileId,
        actionId,
        message,
        ...(opening && { actionContext }),
      }),
    )
  const opening = `I just completed this action: ${actionContext.title}`

  expect(await subscription.read()).toEqual([])
  await as.mutation(api.careerActions.mutations.completeAction, { actionId })
  await subscription.read()
  await as.mutation(api.careerActions.mutations.markCompletionStarted, { actionId })
  await subscription.read()

  server().reply(
    slowReply('Congratulations! What was the hardest part?'),
    slowReply('What did you learn along the way?'),
    slowReply(CLOSING),
  )
  const first = await send(opening, true)
  expect(first).toEqual({ message: 'Congratulations! What was the hardest part?', shouldExtract: false })
  await send('Getting attention patterns to show up; I learned TransformerLens.')
  const last = await send('I want to do more mechanistic interpretability.')
  expect(last).toEqual({ message: CLOSING, shouldExtract: true })
  // The subscription saw the replies being written (text growing), never an empty one.
  expect(subscription.seen.some((result) => result.some((message) => message.status === 'streaming'))).toBe(true)
  expectNoEmptyBubble(subscription.seen)

  const chat = await subscription.read()
  expect(chat.map((message) => message.role)).toEqual(['user', 'assistant', 'user', 'assistant', 'user', 'assistant'])
  const extracted = await extractFrom(as, profileId, chat)
  await acceptAll(as, profileId, extracted)
  expectNothingLost(await profileOf(t, profileId))

  // The user opens the debrief again: the frontend sends its opening message again.
  const requestsBefore = server().requests.length
  const again = await send(opening, true)
  expect(again).toEqual({ message: CLOSING, shouldExtract: true })
  expect(server().requests).toHaveLength(requestsBefore)
  const after = await subscription.read()
  expect(after.filter((message) => message.content === opening)).toHaveLength(1)
  expect(after).toHaveLength(6)
  expectNoEmptyBubble(subscription.seen)
})

test('the opening sent again while its reply is still being written stores nothing and waits for nothing', async () => {
  const t = setupBackend()
  const { as, profileId } = await makeUser(t, PROFILE)
  const actionId = await makeAction(t, profileId, { status: 'done', completedAt: 5, completionConversationStarted: true })
  const openingArgs = {
    profileId,
    actionId,
    message: 'I just completed this action: Replicate',
    actionContext: { title: 'Replicate', description: 'Replicate it', type: 'replicate' },
  }
  server().reply({ kind: 'text', text: 'Congratulations!', firstTokenDelayMs: 150 })
  const firstMount = as.action(api.enrichment.conversation.sendCompletionMessage, openingArgs)
  // Wait until the first opening is stored, then mount again.
  for (let i = 0; i < 100; i++) {
    const stored = await t.run(async (ctx) => ctx.db.query('enrichmentMessages').collect())
    if (stored.some((message) => message.role === 'user')) break
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  const secondMount = await as.action(api.enrichment.conversation.sendCompletionMessage, openingArgs)
  expect(secondMount).toEqual({ message: '', shouldExtract: false })
  expect(await firstMount).toEqual({ message: 'Congratulations!', shouldExtract: false })

  expect(server().requests).toHaveLength(1)
  const chat = await as.query(api.enrichment.queries.getCompletionMessagesPublic, { actionId, profileId })
  expect(chat.map(({ role, content }) => ({ role, content }))).toEqual([
    { role: 'user', content: openingArgs.message },
    { role: 'assistant', content: 'Congratulations!' },
  ])
})

test('a later message without actionContext is a normal turn even after the opening', async () => {
  const t = setupBackend()
  const { as, profileId } = await makeUser(t, PROFILE)
  const actionId = await makeAction(t, profileId, { status: 'done', completedAt: 5 })
  server().reply({ kind: 'text', text: 'Well done!' }, { kind: 'text', text: 'Tell me more.' })
  const send = (message: string, opening: boolean) =>
    as.action(api.enrichment.conversation.sendCompletionMessage, {
      profileId,
      actionId,
      message,
      ...(opening && { actionContext: { title: 'T', description: 'D', type: 'replicate' } }),
    })
  await send('I did it', true)
  expect(await send('It was hard', false)).toEqual({ message: 'Tell me more.', shouldExtract: false })
  expect(server().requests).toHaveLength(2)
})

test('the general chat as the frontend drives it loses nothing and never shows an empty bubble', async () => {
  const t = setupBackend()
  const { as, profileId } = await makeUser(t, PROFILE)
  const subscription = subscribe(() => as.query(api.enrichment.queries.getMessagesPublic, { profileId }))
  const send = (message: string) =>
    subscription.during(as.action(api.enrichment.conversation.sendMessage, { profileId, message }))

  expect(await subscription.read()).toEqual([])
  server().reply(
    slowReply('Hi Grace! What are you working on now?'),
    slowReply('Interesting. What draws you to interpretability?'),
    slowReply("Thanks! Let me summarize what I've learned and update your profile."),
  )
  await send('Hi, I want to move into AI safety.')
  await send('I replicated the induction heads paper with PyTorch and TransformerLens.')
  const last = await send('I want to publish interpretability work and find a mentor.')
  expect(last.shouldExtract).toBe(true)
  expectNoEmptyBubble(subscription.seen)

  const chat = await subscription.read()
  expect(chat).toHaveLength(6)
  const extracted = await extractFrom(as, profileId, chat)
  await acceptAll(as, profileId, extracted)
  expectNothingLost(await profileOf(t, profileId))
})

test('rejecting one item keeps it as it was; an edited item is stored as edited', async () => {
  const t = setupBackend()
  const { as, profileId } = await makeUser(t, PROFILE)
  const chat = [
    { role: 'assistant', content: 'What have you been doing?' },
    { role: 'user', content: 'I replicated induction heads and want a mentor.' },
  ] as Message[]
  const extracted = await extractFrom(as, profileId, chat)

  // Rejected: careerGoals. Edited: the summary. Everything else accepted as returned.
  const editedSummary = `${extracted.background_summary} It took three weeks.`
  await as.mutation(api.profiles.updateField, {
    profileId,
    updates: {
      skills: extracted.skills_mentioned,
      aiSafetyInterests: extracted.career_interests,
      enrichmentSummary: editedSummary,
      seeking: extracted.seeking,
    },
  })
  const after = await profileOf(t, profileId)
  expect(after.careerGoals).toBe(PROFILE.careerGoals)
  expect(after.enrichmentSummary).toBe(editedSummary)
  expect(after.enrichmentSummary).toContain(PROFILE.enrichmentSummary)
  expect(after.skills).toEqual(['Python', 'Statistics', 'PyTorch', 'TransformerLens'])
  expect(after.seeking).toBe(`${PROFILE.seeking}\n\n${EXTRACTED.seeking}`)
})
