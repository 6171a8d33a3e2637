// The account emails' queue when Resend is slow or down, through the real `auth:signIn` flow:
// a burst of sign-ups against a fake that allows 2 requests a second and fails 10% of them, and
// ten minutes of outage. Every step answers at once; every code arrives, once, while it works.
import { expect, test, vi } from 'vitest'
import { components } from '../convex/_generated/api'
import { passwordStep, useAuthFlow } from './support/authBackend'
import { setupBackend, type Backend } from './support/backend'

const emails = useAuthFlow()

const PASSWORD = 'purple-otter-skates-42'
const MINUTE = 60_000

async function sha256Hex(text: string) {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text))
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, '0')).join('')
}

/** The hashed code stored for each address's account (the library keeps one per account). */
async function storedCodes(t: Backend) {
  const rows = await t.run((ctx) => ctx.db.query('authVerificationCodes').collect())
  return new Map(rows.map((row) => [row.emailVerified, row.code]))
}

async function queuedRows(t: Backend) {
  return await t.run((ctx) => ctx.db.query('queuedAccountEmails').collect())
}

/** The component's failed attempts, which the workpool logs one by one. */
function captureFailedAttempts() {
  return vi.spyOn(console, 'error').mockImplementation(() => {})
}

function attemptErrors(spy: ReturnType<typeof captureFailedAttempts>) {
  return spy.mock.calls.map(([error]) => (error instanceof Error ? error.message : String(error)))
}

test('a burst of 200 sign-ups: every step answers, every account gets exactly one email with its code, the queue drains', async () => {
  const failed = captureFailedAttempts()
  const t = setupBackend()
  emails().behave({ requestsPerSecond: 2, failureShare: 0.1 })
  const addresses = Array.from({ length: 200 }, (_, index) => `member${index}@example.org`)

  // Twenty at a time, as a class told to sign up together would.
  const answers: unknown[] = []
  for (let start = 0; start < addresses.length; start += 20) {
    const wave = addresses.slice(start, start + 20)
    answers.push(...(await Promise.all(wave.map((email) => passwordStep(t, { flow: 'signUp', email, password: PASSWORD })))))
  }
  expect(answers).toEqual(addresses.map(() => ({ tokens: null })))

  await emails().deliver(t)

  const codes = await storedCodes(t)
  for (const address of addresses) {
    const received = emails().sentTo(address)
    expect(received, address).toHaveLength(1)
    expect(received[0].subject).toBe('Your AI Safety Career Coach verification code')
    // The emailed code is the one stored for the account (the library stores its SHA-256).
    expect(await sha256Hex(emails().latestCode(address))).toBe(codes.get(address))
  }
  expect(emails().emails).toHaveLength(200)
  expect(await queuedRows(t)).toEqual([])
  // The fake did refuse: retried failures, sent once each (Resend's idempotency keys held).
  const statuses = emails().requests.map((request) => request.status)
  expect(statuses.filter((status) => status === 500).length).toBeGreaterThan(0)
  expect(attemptErrors(failed).every((message) => message.startsWith('Resend API error:'))).toBe(true)
  expect(attemptErrors(failed).length).toBe(statuses.filter((status) => status !== 200).length)
  // A sample of the codes works through the real flow.
  for (const address of addresses.slice(0, 3)) {
    const code = emails().latestCode(address)
    const { tokens } = await passwordStep(t, { flow: 'email-verification', email: address, code, password: PASSWORD })
    expect(tokens?.token).toEqual(expect.any(String))
  }
}, 600_000)

test('Resend down for ten minutes: the codes arrive after it comes back, while they still work', async () => {
  const failed = captureFailedAttempts()
  const warned = vi.spyOn(console, 'warn').mockImplementation(() => {})
  const t = setupBackend()
  const addresses = ['ada@example.org', 'grace@example.org', 'alan@example.org']
  emails().behave({ down: true })
  const signedUpAt = Date.now()
  for (const email of addresses) {
    expect(await passwordStep(t, { flow: 'signUp', email, password: PASSWORD })).toEqual({ tokens: null })
  }

  // Ten minutes of the queue trying: about as long as the component's own five attempts last
  // (30 s back-off, doubling, each wait 0.5 to 1.5 times that: 4 to 11 minutes in all).
  while (Date.now() < signedUpAt + 10 * MINUTE) {
    vi.advanceTimersByTime(5_000)
    await t.finishInProgressScheduledFunctions()
  }
  expect(emails().emails).toEqual([])

  emails().behave({ down: false })
  // Resend is back: the clock runs until every code has arrived, at most to the codes' expiry.
  const arrived = () => addresses.every((email) => emails().sentTo(email).length > 0)
  while (!arrived() && Date.now() < signedUpAt + 15 * MINUTE) {
    vi.advanceTimersByTime(5_000)
    await t.finishInProgressScheduledFunctions()
  }
  expect(arrived()).toBe(true)
  // Still inside the 15 minutes: the code works.
  const code = emails().latestCode(addresses[0])
  const { tokens } = await passwordStep(t, { flow: 'email-verification', email: addresses[0], code, password: PASSWORD })
  expect(tokens?.token).toEqual(expect.any(String))

  await emails().deliver(t)
  for (const email of addresses) expect(emails().sentTo(email), email).toHaveLength(1)
  expect(await queuedRows(t)).toEqual([])
  expect(attemptErrors(failed).every((message) => message.startsWith('Resend API error:'))).toBe(true)
  // Where the component's attempts ran out first, the email was queued again.
  for (const [line] of warned.mock.calls) {
    expect(String(line)).toMatch(/^An account code email failed after the email service's retries; queued again \(\d of 3\)$/)
  }
}, 120_000)

test('a code whose email is still queued when the code expires is never sent', async () => {
  const failed = captureFailedAttempts()
  vi.spyOn(console, 'warn').mockImplementation(() => {})
  const log = vi.spyOn(console, 'log').mockImplementation(() => {})
  const t = setupBackend()
  emails().behave({ down: true })
  const signedUpAt = Date.now()
  await passwordStep(t, { flow: 'signUp', email: 'ada@example.org', password: PASSWORD })
  let lastEmailId: string | undefined
  while (Date.now() < signedUpAt + 16 * MINUTE) {
    lastEmailId = (await queuedRows(t))[0]?.emailId ?? lastEmailId
    vi.advanceTimersByTime(5_000)
    await t.finishInProgressScheduledFunctions()
  }
  emails().behave({ down: false })
  await emails().deliver(t)
  expect(emails().emails).toEqual([])
  expect(await queuedRows(t)).toEqual([])
  // Cancelled by the follow-up while it waited for a retry, or given up when its retries ran
  // out after the code expired: no stale code either way.
  const last = await t.run((ctx) => ctx.runQuery(components.resend.lib.getStatus, { emailId: lastEmailId as never }))
  expect(['cancelled', 'failed']).toContain(last?.status)
  expect(attemptErrors(failed).length).toBeGreaterThan(0)
  const expectedLogs = ['Making a batch of 1 emails', 'No emails to send in batch. All were cancelled or failed.']
  for (const [line] of log.mock.calls) expect(expectedLogs).toContain(line)
}, 120_000)
