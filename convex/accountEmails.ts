// The account emails' functions around @convex-dev/resend's queue (lib/account/emailQueue.ts):
// queueing from the sign-in steps, following a queued email, Resend's delivery webhook, and the
// scheduled cleanup. The wording of each email is in lib/account/email.ts.
import { vOnEmailEventArgs } from '@convex-dev/resend'
import { v } from 'convex/values'
import { components, internal } from './_generated/api'
import { env, httpAction, internalMutation } from './_generated/server'
import { DELIVERY_PROBLEM_MS, PASSWORD_PROVIDER_ID, takeSignUpNoteAllowance } from './authAttempts'
import { accountEmails as compose, emailKey } from './lib/account/email'
import {
  accountMailer,
  EMAIL_RECORD_MS,
  followQueuedEmail as followOnce,
  queueCodeEmail as queueCode,
  queueNote as queueNoteEmail,
} from './lib/account/emailQueue'

/** The email that carries a code a step just stored; called right after the code is stored. */
export const queueCodeEmail = internalMutation({
  args: {
    to: v.string(),
    kind: v.union(v.literal('verificationCode'), v.literal('passwordResetCode')),
    code: v.string(),
    expiresAt: v.number(),
  },
  returns: v.null(),
  handler: async (ctx, { to, kind, code, expiresAt }) => {
    await queueCode(ctx, compose[kind](to, code, new Date(expiresAt)), code, expiresAt)
    return null
  },
})

/**
 * A note without a code. "Someone tried to sign up" goes at most once an hour per address
 * (signUpNotes); past that it is skipped, and the step's answer does not change.
 */
export const queueNote = internalMutation({
  args: { to: v.string(), kind: v.union(v.literal('signUpWithExistingAccount'), v.literal('resetWithoutAccount')) },
  returns: v.null(),
  handler: async (ctx, { to, kind }) => {
    if (kind === 'signUpWithExistingAccount' && !(await takeSignUpNoteAllowance(ctx, to))) return null
    await queueNoteEmail(ctx, compose[kind](to))
    return null
  },
})

/**
 * A reset for an address without an account runs this where a reset with one runs the
 * library's code transaction (auth:store), so both answers make the same number of round trips
 * now that no email API call hides the difference. It looks the address up, as that one does.
 */
export const matchCodeStep = internalMutation({
  args: { to: v.string() },
  returns: v.null(),
  handler: async (ctx, { to }) => {
    await ctx.db
      .query('authAccounts')
      .withIndex('providerAndAccountId', (q) => q.eq('provider', PASSWORD_PROVIDER_ID).eq('providerAccountId', to))
      .first()
    return null
  },
})

export const followQueuedEmail = internalMutation({
  args: { rowId: v.id('queuedAccountEmails') },
  returns: v.null(),
  handler: async (ctx, { rowId }) => {
    await followOnce(ctx, rowId)
    return null
  },
})

/**
 * What Resend reported about one of our emails, after the component checked the webhook's
 * signature and found the email: a bounce (other than a temporary one) or a spam report marks
 * the address, so the next step that would email it says so instead.
 */
export const onEmailEvent = internalMutation({
  args: vOnEmailEventArgs,
  returns: v.null(),
  handler: async (ctx, { event }) => {
    const problem =
      event.type === 'email.complained'
        ? 'complained'
        : event.type === 'email.bounced' && event.data.bounce.type !== 'Transient'
          ? 'bounced'
          : null
    if (!problem) return null
    const recipients = Array.isArray(event.data.to) ? event.data.to : [event.data.to]
    for (const address of recipients.slice(0, 10).map(emailKey)) {
      const existing = await ctx.db
        .query('emailDeliveryProblems')
        .withIndex('by_address', (q) => q.eq('address', address))
        .first()
      if (existing) await ctx.db.patch('emailDeliveryProblems', existing._id, { problem, recordedAt: Date.now() })
      else await ctx.db.insert('emailDeliveryProblems', { address, problem, recordedAt: Date.now() })
    }
    return null
  },
})

/**
 * Resend's delivery webhook (POST /resend-webhook). The component checks the signature with
 * RESEND_WEBHOOK_SECRET; a request that fails the check changes nothing and gets 401.
 */
export const resendWebhook = httpAction(async (ctx, request) => {
  if (!env.RESEND_WEBHOOK_SECRET) {
    console.error('RESEND_WEBHOOK_SECRET is not set on this deployment; Resend webhooks are refused')
    return new Response('Webhook not configured', { status: 503 })
  }
  try {
    return await accountMailer().handleResendEventWebhook(ctx, request)
  } catch (error) {
    if (error instanceof Error && error.name === 'WebhookVerificationError') {
      console.warn(`Refused a Resend webhook: ${error.message}`)
      return new Response('Invalid signature', { status: 401 })
    }
    throw error
  }
})

/**
 * Hourly (convex/crons.ts): the component deletes its email records (address, subject, text)
 * older than EMAIL_RECORD_DAYS, finished or not, in batches it schedules itself; and delivery
 * problems older than DELIVERY_PROBLEM_DAYS go.
 */
export const removeOldEmails = internalMutation({
  args: {},
  returns: v.null(),
  handler: async (ctx) => {
    await ctx.runMutation(components.resend.lib.cleanupOldEmails, { olderThan: EMAIL_RECORD_MS })
    await ctx.runMutation(components.resend.lib.cleanupAbandonedEmails, { olderThan: EMAIL_RECORD_MS })
    const expired = await ctx.db
      .query('emailDeliveryProblems')
      .withIndex('by_recordedAt', (q) => q.lt('recordedAt', Date.now() - DELIVERY_PROBLEM_MS))
      .take(500)
    for (const row of expired) await ctx.db.delete('emailDeliveryProblems', row._id)
    if (expired.length === 500) await ctx.scheduler.runAfter(0, internal.accountEmails.removeOldEmails, {})
    return null
  },
})
