import { expect, test } from 'vitest'
import { api } from '../convex/_generated/api'
import { makeAction, makeUser, setupBackend, useModelServer } from './support/backend'

const server = useModelServer()

test('smoke', async () => {
  const t = setupBackend()
  const { as, profileId } = await makeUser(t, { name: 'Ada $& x' })
  const actionId = await makeAction(t, profileId, { status: 'done' })
  server().reply({ kind: 'text', text: 'Hello there, what did you learn?' })
  const r = await as.action(api.enrichment.conversation.sendCompletionMessage, { profileId, actionId, message: 'I did it' })
  expect(r.message).toBe('Hello there, what did you learn?')
  console.log(JSON.stringify(server().requests[0].body).slice(0, 3000), server().requests[0].headers.authorization)
  const msgs = await as.query(api.enrichment.queries.getCompletionMessagesPublic, { profileId, actionId })
  console.log(msgs)
})
