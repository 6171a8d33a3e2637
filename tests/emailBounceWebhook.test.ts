// Resend's delivery webhook through the real HTTP route: a signed bounce or spam report marks the
// address, and the next step that would email it says plainly that email there does not arrive,
// the same answer with or without an account (it is about the address). A forged webhook, or
// one without the secret configured, changes nothing.
import { createHmac } from 'node:crypto'
import { expect, test, vi } from 'vitest'
import { internal } from '../convex/_generated/api'
import { EMAIL_UNDELIVERABLE, type UndeliverableEmailError } from '../convex/authAttempts'
import { passwordStep, signInClient, signUpAndVerify, TEST_WEBHOOK_SECRET, useAuthFlow } from './support/authBackend'
import { convexErrorOf, setupBackend, type Backend } from './support/backend'

const emails = useAuthFlow()

const ADA = 'ada@example.org'
const ADA_PASSWORD = 'purple-otter-skates-42'
const NOBODY = 'nobody@example.org'
const UNDELIVERABLE: UndeliverableEmailError = { code: 'EMAIL_UNDELIVERABLE', message: EMAIL_UNDELIVERABLE }

/** A Resend (svix) webhook request for `body`, signed with `secret` as Resend signs it. */
function signedWebhook(body: string, secret = TEST_WEBHOOK_SECRET) {
  const id = `msg_${Math.random().toString(36).slice(2)}`
  const timestamp = String(Math.floor(Date.now() / 1000))
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64')
  const signature = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')
  return {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'svix-id': id, 'svix-timestamp': timestamp, 'svix-signature': `v1,${signature}` },
    body,
  }
}

/** The event Resend posts about the email the fake recorded. */
function eventAbout(email: { id: string; to: string[]; from: string; subject: string }, type: string, extra = {}) {
  const at = new Date().toISOString()
  return JSON.stringify({
    type,
    created_at: at,
    data: { created_at: at, email_id: email.id, from: email.from, to: email.to, subject: email.subject, ...extra },
  })
}

const PERMANENT_BOUNCE = { bounce: { message: 'The mailbox does not exist', subType: 'General', type: 'Permanent' } }

async function deliveryProblems(t: Backend) {
  return await t.run((ctx) => ctx.db.query('emailDeliveryProblems').collect())
}

test('a bounce marks the address: sign-up, reset and an unverified sign-in are told email there does not arrive', async () => {
  const t = setupBackend()
  await passwordStep(t, { flow: 'signUp', email: ADA, password: ADA_PASSWORD })
  await passwordStep(t, { flow: 'reset', email: NOBODY })
  await emails().deliver(t)
  const [toAda] = emails().sentTo(ADA)
  const [toNobody] = emails().sentTo(NOBODY)

  for (const email of [toAda, toNobody]) {
    const response = await t.fetch('/resend-webhook', signedWebhook(eventAbout(email, 'email.bounced', PERMANENT_BOUNCE)))
    expect(response.status).toBe(201)
  }
  await emails().deliver(t) // the component hands the event to onEmailEvent through its callback pool
  expect((await deliveryProblems(t)).map(({ address, problem }) => ({ address, problem }))).toEqual([
    { address: ADA, problem: 'bounced' },
    { address: NOBODY, problem: 'bounced' },
  ])

  emails().reset()
  // An address with an (unverified) account and one without get the same plain answer.
  for (const address of [ADA, NOBODY]) {
    expect(await convexErrorOf(passwordStep(t, { flow: 'signUp', email: address, password: ADA_PASSWORD }))).toEqual(UNDELIVERABLE)
    expect(await convexErrorOf(passwordStep(t, { flow: 'reset', email: address }))).toEqual(UNDELIVERABLE)
  }
  // A sign-in that would send a new code says so too; a wrong password is still just wrong.
  expect(await convexErrorOf(passwordStep(t, { flow: 'signIn', email: ADA, password: ADA_PASSWORD }))).toEqual(UNDELIVERABLE)
  expect(await convexErrorOf(passwordStep(t, { flow: 'signIn', email: ADA, password: 'not-the-password-99' }))).toBe(
    'That email address and password do not match an account.',
  )
  await emails().deliver(t)
  expect(emails().emails).toEqual([])

  // The mark lasts a week; the hourly cleanup then removes it and email is tried again.
  vi.setSystemTime(Date.now() + 7 * 24 * 60 * 60 * 1000 + 1)
  expect(await passwordStep(t, { flow: 'reset', email: NOBODY })).toEqual({ tokens: null })
  await t.mutation(internal.accountEmails.removeOldEmails, {})
  expect(await deliveryProblems(t)).toEqual([])
})

test('a spam report marks the address too; a verified account still signs in with its password', async () => {
  const t = setupBackend()
  await signUpAndVerify(t, emails(), ADA, ADA_PASSWORD)
  const [toAda] = emails().sentTo(ADA)
  const response = await t.fetch('/resend-webhook', signedWebhook(eventAbout(toAda, 'email.complained')))
  expect(response.status).toBe(201)
  await emails().deliver(t)
  expect((await deliveryProblems(t)).map(({ problem }) => problem)).toEqual(['complained'])

  expect(await convexErrorOf(passwordStep(t, { flow: 'reset', email: ADA }))).toEqual(UNDELIVERABLE)
  // Signing in needs no email.
  await signInClient(t, ADA, ADA_PASSWORD)
})

test('a temporary bounce marks nothing', async () => {
  const t = setupBackend()
  await passwordStep(t, { flow: 'signUp', email: ADA, password: ADA_PASSWORD })
  await emails().deliver(t)
  const [toAda] = emails().sentTo(ADA)
  const transient = { bounce: { message: 'Mailbox full', subType: 'MailboxFull', type: 'Transient' } }
  await t.fetch('/resend-webhook', signedWebhook(eventAbout(toAda, 'email.bounced', transient)))
  await emails().deliver(t)
  expect(await deliveryProblems(t)).toEqual([])
  expect(await passwordStep(t, { flow: 'reset', email: ADA })).toEqual({ tokens: null })
})

test('a forged webhook (wrong secret, no signature, tampered body) is refused and changes nothing', async () => {
  const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
  const t = setupBackend()
  await passwordStep(t, { flow: 'signUp', email: ADA, password: ADA_PASSWORD })
  await emails().deliver(t)
  const [toAda] = emails().sentTo(ADA)
  const body = eventAbout(toAda, 'email.bounced', PERMANENT_BOUNCE)

  const forgedSecret = `whsec_${Buffer.from('someone else entirely, 32 bytes').toString('base64')}`
  const wrongSecret = await t.fetch('/resend-webhook', signedWebhook(body, forgedSecret))
  const unsigned = await t.fetch('/resend-webhook', { method: 'POST', headers: { 'content-type': 'application/json' }, body })
  const signed = signedWebhook(body)
  const tampered = await t.fetch('/resend-webhook', { ...signed, body: body.replace(ADA, 'grace@example.org') })
  expect([wrongSecret.status, unsigned.status, tampered.status]).toEqual([401, 401, 401])
  expect(warn.mock.calls.map(([line]) => String(line))).toEqual([
    'Refused a Resend webhook: No matching signature found',
    'Refused a Resend webhook: Missing required headers',
    'Refused a Resend webhook: No matching signature found',
  ])
  await emails().deliver(t)
  expect(await deliveryProblems(t)).toEqual([])
  expect(await passwordStep(t, { flow: 'reset', email: ADA })).toEqual({ tokens: null })

  // Without the secret set, every webhook is refused, and the operator is told why.
  delete process.env.RESEND_WEBHOOK_SECRET
  const error = vi.spyOn(console, 'error').mockImplementation(() => {})
  const unconfigured = await t.fetch('/resend-webhook', signedWebhook(body))
  expect(unconfigured.status).toBe(503)
  expect(error).toHaveBeenCalledWith('RESEND_WEBHOOK_SECRET is not set on this deployment; Resend webhooks are refused')
  await emails().deliver(t)
  expect(await deliveryProblems(t)).toEqual([])
})
