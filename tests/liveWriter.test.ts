// The live writers on their own, with fake timers: what they write, when, and in what order.
import { afterEach, expect, test, vi } from 'vitest'
import { createChunkWriter, createReplyFlusher } from '../convex/enrichment/liveWriter'
import { captureConsole } from './support/consoleLog'

afterEach(() => {
  vi.useRealTimers()
  vi.restoreAllMocks()
})

test('the flusher writes the first text at once, then at most once an interval, the latest text only', async () => {
  vi.useFakeTimers()
  const writes: string[] = []
  const flusher = createReplyFlusher(async (content) => void writes.push(content), 250)
  flusher.push('Hel')
  await vi.advanceTimersByTimeAsync(0)
  expect(writes).toEqual(['Hel'])
  flusher.push('Hello')
  flusher.push('Hello, wor')
  await vi.advanceTimersByTimeAsync(100)
  expect(writes).toEqual(['Hel'])
  await vi.advanceTimersByTimeAsync(150)
  expect(writes).toEqual(['Hel', 'Hello, wor'])
  await flusher.drain()
})

test('the flusher writes nothing after drain, and skips a text already written', async () => {
  vi.useFakeTimers()
  const writes: string[] = []
  const flusher = createReplyFlusher(async (content) => void writes.push(content), 250)
  flusher.push('Same')
  await vi.advanceTimersByTimeAsync(0)
  flusher.push('Same')
  await vi.advanceTimersByTimeAsync(300)
  expect(writes).toEqual(['Same'])
  flusher.push('Pending')
  await flusher.drain()
  flusher.push('After drain')
  await vi.advanceTimersByTimeAsync(1_000)
  expect(writes).toEqual(['Same'])
})

test('a failed flush is logged and the next one still writes', async () => {
  vi.useFakeTimers()
  const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
  const writes: string[] = []
  let fail = true
  const flusher = createReplyFlusher(async (content) => {
    if (fail) {
      fail = false
      throw new Error('transient')
    }
    writes.push(content)
  }, 250)
  flusher.push('First')
  await vi.advanceTimersByTimeAsync(0)
  flusher.push('First and second')
  await vi.advanceTimersByTimeAsync(250)
  expect(writes).toEqual(['First and second'])
  expect(warn).toHaveBeenCalledWith('Reply flush failed', expect.any(Error))
  await flusher.drain()
})

test('chunks hold only what is new, numbered from 0, the first at once', async () => {
  vi.useFakeTimers()
  const chunks: { seq: number; text: string }[] = []
  const writer = createChunkWriter(async (chunk) => void chunks.push(chunk), 250)
  writer.push('Con')
  await vi.advanceTimersByTimeAsync(0)
  writer.push('Congrat')
  writer.push('Congratulations')
  await vi.advanceTimersByTimeAsync(250)
  writer.push('Congratulations!')
  await vi.advanceTimersByTimeAsync(250)
  expect(chunks).toEqual([
    { seq: 0, text: 'Con' },
    { seq: 1, text: 'gratulations' },
    { seq: 2, text: '!' },
  ])
  await writer.drain()
})

test.each([
  ['U+D800 (the first high surrogate)', '\ud800\udc00'],
  ['U+DBFF (the last high surrogate)', '\udbff\udfff'],
  ['an emoji', '😀'],
])('a chunk never ends between the halves of %s', async (_name, pair) => {
  vi.useFakeTimers()
  const chunks: string[] = []
  const writer = createChunkWriter(async (chunk) => void chunks.push(chunk.text), 250)
  // The stream has delivered only the high half so far.
  writer.push(`ab${pair[0]}`)
  await vi.advanceTimersByTimeAsync(0)
  writer.push(`ab${pair}cd`)
  await vi.advanceTimersByTimeAsync(250)
  expect(chunks).toEqual(['ab', `${pair}cd`])
  for (const chunk of chunks) expect(chunk.isWellFormed()).toBe(true)
  await writer.drain()
})

test('a failed chunk write is retried, same number and text, before any later chunk', async () => {
  vi.useFakeTimers()
  const warned = captureConsole('warn')
  const attempts: { seq: number; text: string }[] = []
  const written: { seq: number; text: string }[] = []
  let failures = 1
  const writer = createChunkWriter(async (chunk) => {
    attempts.push(chunk)
    if (failures > 0) {
      failures -= 1
      throw new Error('transient')
    }
    written.push(chunk)
  }, 250)
  writer.push('One')
  await vi.advanceTimersByTimeAsync(0)
  writer.push('One two')
  await vi.advanceTimersByTimeAsync(250)
  expect(attempts).toEqual([{ seq: 0, text: 'One' }, { seq: 0, text: 'One' }, { seq: 1, text: ' two' }])
  expect(written).toEqual([{ seq: 0, text: 'One' }, { seq: 1, text: ' two' }])
  await writer.drain()
  expect(warned()).toEqual(['Reply chunk write failed Error: transient'])
})

test('one chunk is written at a time, and nothing after drain', async () => {
  vi.useFakeTimers()
  let inFlight = 0
  let most = 0
  const written: string[] = []
  const writer = createChunkWriter(async (chunk) => {
    inFlight += 1
    most = Math.max(most, inFlight)
    await new Promise((resolve) => setTimeout(resolve, 400))
    written.push(chunk.text)
    inFlight -= 1
  }, 100)
  writer.push('a')
  await vi.advanceTimersByTimeAsync(0)
  writer.push('ab')
  await vi.advanceTimersByTimeAsync(100)
  writer.push('abc')
  await vi.advanceTimersByTimeAsync(100)
  await vi.advanceTimersByTimeAsync(1_000)
  expect(most).toBe(1)
  expect(written).toEqual(['a', 'b', 'c'])
  const drained = writer.drain()
  writer.push('abcd')
  await vi.advanceTimersByTimeAsync(1_000)
  await drained
  expect(written).toEqual(['a', 'b', 'c'])
})

test('a chunk that ends on a whole pair keeps the pair whole (its low half is not taken for a high one)', async () => {
  vi.useFakeTimers()
  const chunks: string[] = []
  const writer = createChunkWriter(async (chunk) => void chunks.push(chunk.text), 250)
  writer.push('ab😀')
  await vi.advanceTimersByTimeAsync(0)
  writer.push('ab😀\uE000')
  await vi.advanceTimersByTimeAsync(250)
  expect(chunks).toEqual(['ab😀', '\uE000'])
  await writer.drain()
})

test('a cut with nothing new writes no chunk', async () => {
  vi.useFakeTimers()
  const chunks: { seq: number; text: string }[] = []
  const writer = createChunkWriter(async (chunk) => void chunks.push(chunk), 250)
  writer.push('abc')
  await vi.advanceTimersByTimeAsync(0)
  writer.push('abc')
  await vi.advanceTimersByTimeAsync(250)
  writer.push('abcd')
  await vi.advanceTimersByTimeAsync(500)
  expect(chunks).toEqual([{ seq: 0, text: 'abc' }, { seq: 1, text: 'd' }])
  await writer.drain()
})

test('a chunk write that keeps failing is tried once per cut, logged, and never spins', async () => {
  vi.useFakeTimers()
  const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
  let attempts = 0
  const writer = createChunkWriter(async () => {
    attempts += 1
    throw new Error('down')
  }, 250)
  writer.push('a')
  await vi.advanceTimersByTimeAsync(0)
  expect(attempts).toBe(1)
  writer.push('ab')
  await vi.advanceTimersByTimeAsync(250)
  expect(attempts).toBe(2)
  expect(warn).toHaveBeenCalledWith('Reply chunk write failed', expect.any(Error))
  await writer.drain()
})
