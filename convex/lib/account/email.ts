// Email addresses, the account emails' wording, and the deployment's email settings. The emails
// themselves are queued and sent by the @convex-dev/resend component (see emailQueue.ts).
import { ConvexError, type Value } from 'convex/values'
import { env } from '../../_generated/server'

/** Resend's shared test sender; a deployment sets AUTH_EMAIL_FROM to an address on its own domain. */
const DEFAULT_EMAIL_FROM = 'AI Safety Career Coach <onboarding@resend.dev>'

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

/** The email queue's records (address, subject, text with the code) are deleted after this. */
export const EMAIL_RECORD_DAYS = 3
export const EMAIL_RECORD_MS = EMAIL_RECORD_DAYS * 24 * 60 * 60 * 1000

/** Resend's test addresses, the only ones its test mode accepts (delivered@, bounced@, complained@resend.dev). */
const RESEND_TEST_ADDRESS = /^(delivered|bounced|complained)(\+[a-zA-Z0-9_-]*)?@resend\.dev$/

export type EmailSettings = { apiKey: string; from: string; testMode: boolean }

/**
 * How this deployment sends account emails. Test mode (the component's default) is off only
 * when AUTH_EMAIL_TEST_MODE is exactly "false"; any value other than "true" or "false" keeps
 * it on and says so in the logs.
 */
export function emailSettings(): EmailSettings {
  const mode = env.AUTH_EMAIL_TEST_MODE?.trim()
  if (mode !== undefined && mode !== '' && mode !== 'true' && mode !== 'false') {
    console.error(`AUTH_EMAIL_TEST_MODE is "${mode}"; it must be "true" or "false". Test mode stays on.`)
  }
  return {
    apiKey: env.AUTH_RESEND_KEY ?? '',
    from: env.AUTH_EMAIL_FROM || DEFAULT_EMAIL_FROM,
    testMode: mode !== 'false',
  }
}

/**
 * The settings to email `to` with, or the plain "could not send" error when this deployment
 * cannot (an operator's mistake, logged for them): checked before a step writes anything.
 */
export function requireEmailSettings(to: string): EmailSettings {
  const settings = emailSettings()
  if (!settings.apiKey) {
    console.error('AUTH_RESEND_KEY is not set on this deployment; account emails cannot be sent')
    throw new ConvexError(EMAIL_NOT_SENT)
  }
  if (settings.testMode && !RESEND_TEST_ADDRESS.test(to)) {
    console.error(
      'Account emails are in test mode, which only sends to Resend\'s test addresses: set ' +
        'AUTH_EMAIL_TEST_MODE=false on this deployment to email real addresses',
    )
    throw new ConvexError(EMAIL_NOT_SENT)
  }
  return settings
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
