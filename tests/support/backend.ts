// What a test file imports: the fixtures, the readers of stored rows, the model server wired
// into vitest's hooks, and the assertions on errors and requests that several files share.
import { ConvexError, type Value } from 'convex/values'
import type { Doc } from '../../convex/_generated/dataModel'
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest'
import { startModelServer, type ModelServer } from './modelServer'

export * from './fixtures'
export * from './storedRows'

/**
 * Starts the test model server for this file and points the SDK at it. `server()` gives the
 * running server; the script and the recorded requests are cleared before each test.
 */
export function useModelServer() {
  let server: ModelServer | undefined
  beforeAll(async () => {
    server = await startModelServer()
  })
  beforeEach(() => {
    server?.reset()
    process.env.ANTHROPIC_API_KEY = 'test-key'
    process.env.ANTHROPIC_BASE_URL = server?.url
    delete process.env.MODEL_DEADLINE_MS
    delete process.env.CHAT_STREAMING
    delete process.env.MODEL_CHAT
    delete process.env.MODEL_EXTRACTION
    delete process.env.MODEL_PRICES
  })
  afterEach(() => {
    if (server && server.pending() > 0) {
      throw new Error(`${server.pending()} scripted model replies were never requested`)
    }
  })
  afterAll(async () => {
    await server?.close()
  })
  return () => {
    if (!server) throw new Error('model server not started')
    return server
  }
}

/** The data of the ConvexError a call rejects with; fails the test if it resolves or throws anything else. */
export async function convexErrorOf<T = unknown>(promise: Promise<unknown>): Promise<T> {
  let outcome: unknown
  try {
    outcome = await promise
  } catch (error) {
    expect(error).toBeInstanceOf(ConvexError)
    return (error as ConvexError<Value>).data as T
  }
  throw new Error(`expected a ConvexError, got a result: ${JSON.stringify(outcome)}`)
}

export async function expectConvexError(promise: Promise<unknown>, message: string) {
  expect(await convexErrorOf(promise)).toBe(message)
}

/** The body a chat turn must send: the model, the reply cap, the prompt and the history. */
export function chatRequestBody(
  system: string,
  messages: { role: 'user' | 'assistant'; content: string }[],
) {
  return { model: 'claude-haiku-4-5-20251001', max_tokens: 500, system, messages, stream: true }
}

/** How many times `needle` occurs in `haystack`. */
export function occurrences(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1
}

/** Stored messages without the fields the database assigns. */
export function withoutAssignedFields(messages: Doc<'enrichmentMessages'>[]) {
  const assigned = new Set(['_id', '_creationTime', 'createdAt'])
  return messages.map((message) =>
    Object.fromEntries(Object.entries(message).filter(([key]) => !assigned.has(key))),
  )
}
