// The account emails' queue: @convex-dev/resend keeps each email in the deployment's database,
// batches them toward Resend's API, retries 429s and 5xx with back-off and records what Resend
// reports back. This file keeps what is ours: which emails are still in the queue for an
// address (queuedAccountEmails), so that a new code cancels the old code's email, a code's email
// outlives the component's own retries for as long as the code works, and a deleted account's
// queued emails are cancelled.
import { Resend, type EmailId } from '@convex-dev/resend'
import { components, internal } from '../../_generated/api'
import type { Doc, Id } from '../../_generated/dataModel'
import { env, type MutationCtx } from '../../_generated/server'
import { emailSettings, type EmailSettings, type OutgoingEmail } from './email'

export { EMAIL_RECORD_DAYS, EMAIL_RECORD_MS } from './email'

/** How often a queued email is looked at again: left the queue, failed, or its code expired. */
export const FOLLOW_UP_MS = 60_000
/** How many times a code's email is queued again after the component gave up on it. */
export const MAX_RESENDS = 3

/** The component's client, configured from this deployment's settings at call time. */
export function accountMailer(settings: EmailSettings = emailSettings()) {
  return new Resend(components.resend, {
    apiKey: settings.apiKey,
    webhookSecret: env.RESEND_WEBHOOK_SECRET ?? '',
    testMode: settings.testMode,
    onEmailEvent: internal.accountEmails.onEmailEvent,
  })
}

/** Still in the component's queue, so it can be cancelled. */
const PENDING = new Set(['waiting', 'queued'])

async function isPending(ctx: MutationCtx, mailer: Resend, emailId: string): Promise<boolean> {
  const status = await mailer.status(ctx, emailId as EmailId)
  return status !== null && PENDING.has(status.status)
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text))
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, '0')).join('')
}

/** Cancels a queued email if it has not gone out yet, and forgets it. */
async function cancelQueued(ctx: MutationCtx, mailer: Resend, row: Doc<'queuedAccountEmails'>) {
  if (await isPending(ctx, mailer, row.emailId)) await mailer.cancelEmail(ctx, row.emailId as EmailId)
  await ctx.db.delete('queuedAccountEmails', row._id)
}

async function follow(ctx: MutationCtx, rowId: Id<'queuedAccountEmails'>) {
  await ctx.scheduler.runAfter(FOLLOW_UP_MS, internal.accountEmails.followQueuedEmail, { rowId })
}

/**
 * Queues the email that carries a code, in the caller's transaction. The same code is never
 * queued twice (its idempotency key is derived from it), and the address's previous code email
 * is cancelled if it has not gone out: an account has one code at a time, and the user should
 * never receive a code that no longer works after the one that does.
 */
export async function queueCodeEmail(ctx: MutationCtx, email: OutgoingEmail, code: string, codeExpiresAt: number) {
  const settings = emailSettings()
  const mailer = accountMailer(settings)
  const key = `account-code:${await sha256Hex(`${email.to}\n${code}`)}`
  const previous = await ctx.db
    .query('queuedAccountEmails')
    .withIndex('by_address', (q) => q.eq('address', email.to).eq('kind', 'code'))
    .take(10)
  if (previous.some((row) => row.key === key)) return // a retried step: already queued
  for (const row of previous) await cancelQueued(ctx, mailer, row)
  const emailId = await mailer.sendEmail(ctx, { from: settings.from, ...email, idempotencyKey: key })
  const rowId = await ctx.db.insert('queuedAccountEmails', {
    address: email.to,
    emailId,
    kind: 'code',
    key,
    codeExpiresAt,
    resends: 0,
  })
  await follow(ctx, rowId)
}

/** Queues a note without a code (someone tried to sign up; no account for a reset). */
export async function queueNote(ctx: MutationCtx, email: OutgoingEmail) {
  const settings = emailSettings()
  const emailId = await accountMailer(settings).sendEmail(ctx, { from: settings.from, ...email })
  const rowId = await ctx.db.insert('queuedAccountEmails', { address: email.to, emailId, kind: 'note', resends: 0 })
  await follow(ctx, rowId)
}

/**
 * One look at a queued email: forgotten once it has left the queue; a code's email the
 * component gave up on (its 5 attempts span 4 to 11 minutes, with jitter) is queued again
 * while the code works; a code's email still waiting when its code expires is cancelled.
 */
export async function followQueuedEmail(ctx: MutationCtx, rowId: Id<'queuedAccountEmails'>) {
  const row = await ctx.db.get('queuedAccountEmails', rowId)
  if (!row) return
  const settings = emailSettings()
  const mailer = accountMailer(settings)
  const status = await mailer.status(ctx, row.emailId as EmailId)
  const codeWorks = row.kind === 'code' && (row.codeExpiresAt ?? 0) > Date.now()
  if (status && PENDING.has(status.status)) {
    if (row.kind === 'code' && !codeWorks) await cancelQueued(ctx, mailer, row)
    else await follow(ctx, rowId)
    return
  }
  if (status?.status === 'failed' && codeWorks && row.resends < MAX_RESENDS && settings.apiKey) {
    const sent = await mailer.get(ctx, row.emailId as EmailId)
    if (sent?.subject !== undefined && sent.text !== undefined) {
      const emailId = await mailer.sendEmail(ctx, {
        from: sent.from,
        to: sent.to,
        subject: sent.subject,
        text: sent.text,
        idempotencyKey: `${row.key}:again-${row.resends + 1}`,
      })
      console.warn(`An account code email failed after the email service's retries; queued again (${row.resends + 1} of ${MAX_RESENDS})`)
      await ctx.db.patch('queuedAccountEmails', rowId, { emailId, resends: row.resends + 1 })
      await follow(ctx, rowId)
      return
    }
  }
  if (status?.status === 'failed') {
    console.error(`An account ${row.kind} email could not be sent: ${status.errorMessage ?? 'no reason given'}`)
  }
  await ctx.db.delete('queuedAccountEmails', rowId)
}

/**
 * Cancels up to `limit` of the emails still queued for an address and forgets them (account
 * deletion); says how many it handled. Emails already sent stay in the component's records
 * until its cleanup deletes them (EMAIL_RECORD_DAYS after they were queued).
 */
export async function cancelQueuedEmailsTo(ctx: MutationCtx, address: string, limit: number): Promise<number> {
  const rows = await ctx.db
    .query('queuedAccountEmails')
    .withIndex('by_address', (q) => q.eq('address', address))
    .take(limit)
  if (rows.length === 0) return 0
  const mailer = accountMailer()
  for (const row of rows) await cancelQueued(ctx, mailer, row)
  return rows.length
}
