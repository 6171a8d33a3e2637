// An account email's life in the queue, through the real flows: one email per code however often
// a step is retried, a new code cancelling the old one's pending email, account deletion
// cancelling what is still queued, the hourly cleanup deleting the records after three days,
// and a deployment that cannot email saying so before it writes anything.
import { expect, test, vi } from 'vitest'
import { api, components, internal } from '../convex/_generated/api'
import { EMAIL_NOT_SENT } from '../convex/lib/account/email'
import { INVALID_CODE } from '../convex/lib/account/passwordProvider'
import { clientWithToken, passwordStep, signUpAndVerify, useAuthFlow } from './support/authBackend'
import { expectConvexError, setupBackend, type Backend } from './support/backend'

const emails = useAuthFlow()

const ADA = 'ada@example.org'
const PASSWORD = 'purple-otter-skates-42'
const DAY = 24 * 60 * 60 * 1000

async function queuedRows(t: Backend) {
  return await t.run((ctx) => ctx.db.query('queuedAccountEmails').collect())
}

async function componentEmail(t: Backend, emailId: string) {
  return await t.run((ctx) => ctx.runQuery(components.resend.lib.get, { emailId: emailId as never }))
}

test('the same code queued twice (a retried step) is one email', async () => {
  const t = setupBackend()
  const args = { to: ADA, kind: 'verificationCode' as const, code: '12345678', expiresAt: Date.now() + 15 * 60_000 }
  await t.mutation(internal.accountEmails.queueCodeEmail, args)
  await t.mutation(internal.accountEmails.queueCodeEmail, args)
  expect(await queuedRows(t)).toHaveLength(1)
  await emails().deliver(t)
  expect(emails().sentTo(ADA).map((email) => email.text.match(/\d{8}/)?.[0])).toEqual(['12345678'])
})

test('Resend answering 429 (rate limited) or 503: the queue retries, and the code arrives once', async () => {
  const failed = vi.spyOn(console, 'error').mockImplementation(() => {})
  const t = setupBackend()
  emails().failNext(429)
  emails().failNext(503)
  expect(await passwordStep(t, { flow: 'signUp', email: ADA, password: PASSWORD })).toEqual({ tokens: null })
  await emails().deliver(t)
  expect(emails().requests.map((request) => request.status)).toEqual([429, 503, 200])
  expect(emails().sentTo(ADA)).toHaveLength(1)
  expect(failed.mock.calls.map(([error]) => String(error))).toEqual([
    'Error: Resend API error: {"statusCode":429,"name":"rate_limit_exceeded","message":"Scripted rate_limit_exceeded"}',
    'Error: Resend API error: {"statusCode":503,"name":"application_error","message":"Scripted application_error"}',
  ])
})

test('a second sign-up before the first email went out: only the new code is sent, and it works', async () => {
  const t = setupBackend()
  await passwordStep(t, { flow: 'signUp', email: ADA, password: PASSWORD })
  const [first] = await queuedRows(t)
  await passwordStep(t, { flow: 'signUp', email: ADA, password: PASSWORD })
  expect((await componentEmail(t, first.emailId))?.status).toBe('cancelled')

  await emails().deliver(t)
  expect(emails().sentTo(ADA)).toHaveLength(1)
  const code = emails().latestCode(ADA)
  const { tokens } = await passwordStep(t, { flow: 'email-verification', email: ADA, code, password: PASSWORD })
  expect(tokens?.token).toEqual(expect.any(String))
})

test('deleting the account cancels its queued emails; the cleanup deletes every record three days on', async () => {
  const t = setupBackend()
  await passwordStep(t, { flow: 'signUp', email: ADA, password: PASSWORD })
  const [verification] = await queuedRows(t)
  await emails().deliver(t)
  const code = emails().latestCode(ADA)
  const { tokens } = await passwordStep(t, { flow: 'email-verification', email: ADA, code, password: PASSWORD })
  const ada = clientWithToken(t, tokens!.token)

  // A reset code is queued; the account is deleted before it goes out.
  await passwordStep(t, { flow: 'reset', email: ADA })
  const [reset] = await queuedRows(t)
  await ada.mutation(api.account.deleteMyData, {})
  expect(await queuedRows(t)).toEqual([])
  await emails().deliver(t)
  expect(emails().sentTo(ADA).map((email) => email.subject)).toEqual(['Your AI Safety Career Coach verification code'])
  expect((await componentEmail(t, reset.emailId))?.status).toBe('cancelled')
  expect((await componentEmail(t, verification.emailId))?.status).toBe('sent')

  // The hourly job: nothing younger than three days goes; then everything does.
  await t.mutation(internal.accountEmails.removeOldEmails, {})
  expect(await componentEmail(t, verification.emailId)).not.toBeNull()
  vi.setSystemTime(Date.now() + 3 * DAY)
  await t.mutation(internal.accountEmails.removeOldEmails, {})
  await emails().deliver(t)
  expect(await componentEmail(t, verification.emailId)).toBeNull()
  expect(await componentEmail(t, reset.emailId)).toBeNull()
})

test('deletion cancels only what was queued before it: the address can sign up again at once', async () => {
  const t = setupBackend()
  const tokens = await signUpAndVerify(t, emails(), ADA, PASSWORD)
  await clientWithToken(t, tokens.token).mutation(api.account.deleteMyData, {})
  emails().reset()
  await passwordStep(t, { flow: 'signUp', email: ADA, password: 'another-long-passphrase-77' })
  await emails().deliver(t) // the deletion batches run meanwhile
  const code = emails().latestCode(ADA)
  await expectConvexError(
    passwordStep(t, { flow: 'email-verification', email: ADA, code, password: PASSWORD }),
    INVALID_CODE,
  )
  const again = await passwordStep(t, { flow: 'email-verification', email: ADA, code, password: 'another-long-passphrase-77' })
  expect(again.tokens?.token).toEqual(expect.any(String))
})

test('a deployment that cannot email says so before writing anything, and tells the operator why', async () => {
  const error = vi.spyOn(console, 'error').mockImplementation(() => {})
  const t = setupBackend()
  const users = () => t.run((ctx) => ctx.db.query('users').collect())

  delete process.env.AUTH_EMAIL_TEST_MODE // the component's default: test mode
  await expectConvexError(passwordStep(t, { flow: 'signUp', email: ADA, password: PASSWORD }), EMAIL_NOT_SENT)
  process.env.AUTH_EMAIL_TEST_MODE = 'flase'
  await expectConvexError(passwordStep(t, { flow: 'reset', email: ADA }), EMAIL_NOT_SENT)
  process.env.AUTH_EMAIL_TEST_MODE = 'false'
  delete process.env.AUTH_RESEND_KEY
  await expectConvexError(passwordStep(t, { flow: 'signUp', email: ADA, password: PASSWORD }), EMAIL_NOT_SENT)
  expect(await users()).toEqual([])
  expect(await queuedRows(t)).toEqual([])
  expect(error.mock.calls.map(([line]) => String(line))).toEqual([
    "Account emails are in test mode, which only sends to Resend's test addresses: set AUTH_EMAIL_TEST_MODE=false on this deployment to email real addresses",
    'AUTH_EMAIL_TEST_MODE is "flase"; it must be "true" or "false". Test mode stays on.',
    "Account emails are in test mode, which only sends to Resend's test addresses: set AUTH_EMAIL_TEST_MODE=false on this deployment to email real addresses",
    'AUTH_RESEND_KEY is not set on this deployment; account emails cannot be sent',
  ])

  // In test mode, Resend's test addresses are emailed.
  process.env.AUTH_RESEND_KEY = 'test-resend-key'
  process.env.AUTH_EMAIL_TEST_MODE = 'true'
  expect(await passwordStep(t, { flow: 'signUp', email: 'delivered@resend.dev', password: PASSWORD })).toEqual({ tokens: null })
  await emails().deliver(t)
  expect(emails().sentTo('delivered@resend.dev')).toHaveLength(1)
})
