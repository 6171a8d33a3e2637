// Email addresses and the only code that sends email: account emails through Resend's HTTP
// API (POST {EMAIL_API_BASE_URL}/emails), configured at call time so tests use a local fake.
import { ConvexError, type Value } from 'convex/values'
import { env } from '../../_generated/server'

const DEFAULT_EMAIL_API_BASE_URL = 'https://api.resend.com'
/** Resend's shared test sender; a deployment sets AUTH_EMAIL_FROM to an address on its own domain. */
const DEFAULT_EMAIL_FROM = 'AI Safety Career Coach <onboarding@resend.dev>'
const SEND_TIMEOUT_MS = 15_000

export const INVALID_EMAIL = 'Enter a valid email address.'
const EMAIL_MAX_CHARS = 254

/** The comparable form of an address: trimmed, lower-cased and in one Unicode form. */
export function emailKey(raw: string): string {
  return raw.normalize('NFC').trim().toLowerCase()
}

/** An address as every account lookup and write keys it (see emailKey), or a clear error. */
export function normalizeEmail(raw: Value | undefined): string {
  if (typeof raw !== 'string') throw new ConvexError(INVALID_EMAIL)
  const email = emailKey(raw)
  const at = email.lastIndexOf('@')
  if (email.length > EMAIL_MAX_CHARS || at < 1 || at === email.length - 1 || /\s/.test(email)) {
    throw new ConvexError(INVALID_EMAIL)
  }
  return email
}

export const EMAIL_NOT_SENT = 'We could not send the email just now. Please try again in a few minutes.'

export type OutgoingEmail = { to: string; subject: string; text: string }

export async function sendEmail(email: OutgoingEmail): Promise<void> {
  const apiKey = env.AUTH_RESEND_KEY
  if (!apiKey) {
    // An operator's mistake, not the user's: say so in the logs, show the user the plain message.
    console.error('AUTH_RESEND_KEY is not set on this deployment; account emails cannot be sent')
    throw new ConvexError(EMAIL_NOT_SENT)
  }
  const baseUrl = (env.EMAIL_API_BASE_URL || DEFAULT_EMAIL_API_BASE_URL).replace(/\/+$/, '')
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(), SEND_TIMEOUT_MS)
  let response: Response
  try {
    response = await fetch(`${baseUrl}/emails`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${apiKey}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        from: env.AUTH_EMAIL_FROM || DEFAULT_EMAIL_FROM,
        to: [email.to],
        subject: email.subject,
        text: email.text,
      }),
      signal: controller.signal,
    })
  } catch (error) {
    console.error('Email API unreachable', error)
    throw new ConvexError(EMAIL_NOT_SENT)
  } finally {
    clearTimeout(timer)
  }
  if (!response.ok) {
    console.error('Email API refused the email', response.status, await response.text().catch(() => ''))
    throw new ConvexError(EMAIL_NOT_SENT)
  }
}

const APP_NAME = 'AI Safety Career Coach'

function minutesUntil(expires: Date): number {
  return Math.max(1, Math.round((expires.getTime() - Date.now()) / 60_000))
}

/** The emails the account flows send: plain text, short, each saying what its code is for. */
export const accountEmails = {
  verificationCode: (to: string, code: string, expires: Date): OutgoingEmail => ({
    to,
    subject: `Your ${APP_NAME} verification code`,
    text:
      `Your code to confirm this email address for ${APP_NAME} is ${code}.\n\n` +
      `It works once and expires in ${minutesUntil(expires)} minutes. ` +
      `If you did not sign up, ignore this email.`,
  }),
  passwordResetCode: (to: string, code: string, expires: Date): OutgoingEmail => ({
    to,
    subject: `Your ${APP_NAME} password reset code`,
    text:
      `Your code to set a new password for ${APP_NAME} is ${code}.\n\n` +
      `It works once and expires in ${minutesUntil(expires)} minutes. Setting a new password ` +
      `signs you out everywhere else. If you did not ask for this, ignore this email: ` +
      `your password has not changed.`,
  }),
  signUpWithExistingAccount: (to: string): OutgoingEmail => ({
    to,
    subject: `Someone tried to sign up to ${APP_NAME} with your email`,
    text:
      `Someone tried to create a ${APP_NAME} account with this email address, which already ` +
      `has one. Nobody was signed in.\n\n` +
      `If it was you, sign in with your password, or choose "Forgot password" to set a new one. ` +
      `If it was not you, you can ignore this email.`,
  }),
  resetWithoutAccount: (to: string): OutgoingEmail => ({
    to,
    subject: `Password reset for ${APP_NAME}`,
    text:
      `Someone asked to reset the ${APP_NAME} password for this email address, but there is no ` +
      `account with it.\n\n` +
      `If it was you, you may have signed up with another address, or you can sign up with this ` +
      `one. If it was not you, you can ignore this email.`,
  }),
}
