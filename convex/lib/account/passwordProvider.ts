// The email + password provider: @convex-dev/auth's Password flows, rebuilt on its own public
// building blocks (createAccount, signInViaProvider, modifyAccountCredentials) so that every flow answers alike for addresses with and without an
// account, and every password check is throttled per address. The codes are the library's:
// stored hashed, single-use, expiring, and wrong codes are throttled by its authRateLimits.
import { ConvexCredentials } from '@convex-dev/auth/providers/ConvexCredentials'
import { Email } from '@convex-dev/auth/providers/Email'
import {
  createAccount,
  modifyAccountCredentials,
  signInViaProvider,
  type GenericActionCtxWithAuthConfig,
} from '@convex-dev/auth/server'
import { generateRandomString, type RandomReader } from '@oslojs/crypto/random'
import { ConvexError, type Value } from 'convex/values'
import { Scrypt } from 'lucia'
import { internal } from '../../_generated/api'
import type { DataModel, Id } from '../../_generated/dataModel'
import { PASSWORD_PROVIDER_ID, type RefusingLimitName } from '../../authAttempts'
import { normalizeEmail, requireEmailSettings } from './email'
import { checkNewPassword } from './passwordRules'

type Ctx = GenericActionCtxWithAuthConfig<DataModel>
type Params = Partial<Record<string, Value | undefined>>
type SignedIn = { userId: Id<'users'>; sessionId?: Id<'authSessions'> } | null

/** One answer for an unknown address and a wrong password. */
export const INVALID_CREDENTIALS = 'That email address and password do not match an account.'
/** One answer for every failed code entry: wrong, expired, used, or for another address. */
export const INVALID_CODE =
  'That code is not right or has expired. Check the latest email we sent you, or ask for a new code.'

export const CODE_DIGITS = 8
export const CODE_LIFETIME_MINUTES = 15
/** Wrong codes per address per hour, counted by @convex-dev/auth (`authRateLimits`). */
export const CODE_ATTEMPTS_PER_HOUR = 10

const scrypt = new Scrypt()
// Same algorithm and format the Password provider has always stored, so existing hashes verify.
const passwordCrypto = {
  hashSecret: (password: string) => scrypt.hash(password),
  verifySecret: (password: string, hash: string) => scrypt.verify(hash, password),
}
/**
 * A hash of a random secret nobody kept: checked when an address has no account, so that
 * answer costs the same scrypt work as a wrong password.
 */
const DUMMY_PASSWORD_HASH =
  '569588a3b07db2fa0e66c7763adfe0a7:788ed83d20b43bdb3e0ee6a4efd0ce36f8fd0e9551da7d6ca1fc8cb8d64ca5aab65c96aa831dad4e7d94e3d6281ef2bf7f5a95fc755cb29898061ca5fc3dd682'

function requireText(value: Value | undefined, message: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new ConvexError(message)
  return value
}

/** The address and its parts, which a password should not be built from. */
function wordsOf(email: string): string[] {
  const at = email.lastIndexOf('@') // an ASCII '@': cutting there never splits a character
  const local = email.slice(0, at)
  const domain = email.slice(at + 1)
  return [email, local, domain, ...local.split(/[._+-]+/)].filter((word) => word.length > 0)
}

const randomReader: RandomReader = { read: (bytes) => crypto.getRandomValues(bytes) }

/** A code provider: the library stores the code, then its email is queued (convex/accountEmails.ts). */
function codeSender(id: string, kind: 'verificationCode' | 'passwordResetCode') {
  return Email<DataModel>({
    id,
    maxAge: CODE_LIFETIME_MINUTES * 60,
    generateVerificationToken: async () => generateRandomString(randomReader, '0123456789', CODE_DIGITS),
    // The library passes its action context second (its types leave it out).
    sendVerificationRequest: async ({ identifier, token, expires }, ctx?: unknown) => {
      await (ctx as Ctx).runMutation(internal.accountEmails.queueCodeEmail, {
        to: identifier,
        kind,
        code: token,
        expiresAt: expires.getTime(),
      })
    },
  })
}

const verificationCodes = codeSender('password-email-verification', 'verificationCode')
const resetCodes = codeSender('password-reset', 'passwordResetCode')

/**
 * The step's throttles and the address's account. A step that emails the address checks first
 * that this deployment can email it, and that its email arrives (EMAIL_UNDELIVERABLE otherwise).
 */
async function beginAttempt(ctx: Ctx, email: string, limits: RefusingLimitName[], sendsEmail = false) {
  if (sendsEmail) requireEmailSettings(email)
  return await ctx.runMutation(internal.authAttempts.beginAccountAttempt, { email, limits, sendsEmail })
}

async function queueNote(ctx: Ctx, to: string, kind: 'signUpWithExistingAccount' | 'resetWithoutAccount') {
  await ctx.runMutation(internal.accountEmails.queueNote, { to, kind })
}

async function passwordMatches(password: string, account: { secret?: string } | null): Promise<boolean> {
  const matches = await passwordCrypto.verifySecret(password, account?.secret ?? DUMMY_PASSWORD_HASH)
  return matches && account?.secret !== undefined
}

/** A code step of the library; any failure there is the one INVALID_CODE answer. */
async function redeemCode(ctx: Ctx, provider: typeof verificationCodes, email: string, code: string) {
  try {
    return await signInViaProvider(ctx, provider, { params: { email, code } })
  } catch {
    // The library has logged why (wrong, expired, used, throttled, another address).
    return null
  }
}

/**
 * signUp: never signs anyone in. A new address gets an account and a verification code; an
 * unclaimed account (never verified, never signed in, holding nothing: an abandoned sign-up)
 * gets this password and a new code (whoever enters the code must also give this password); a
 * claimed account (verified, or ever signed in, or holding data) keeps its password and its
 * address gets a note that someone tried (at most one an hour). Each answers `{ tokens: null }`
 * after the same work: one scrypt and one queueing transaction; whether an account is claimed
 * is read for every account.
 */
async function signUp(ctx: Ctx, params: Params): Promise<SignedIn> {
  const email = normalizeEmail(params.email)
  const password = requireText(params.password, 'Choose a password.')
  checkNewPassword(password, wordsOf(email))
  const account = await beginAttempt(ctx, email, ['passwordAttempts', 'accountEmails'], true)
  if (account === null) {
    const created = await createAccount(ctx, {
      provider: PASSWORD_PROVIDER_ID,
      account: { id: email, secret: password },
      profile: { email },
      shouldLinkViaEmail: true,
    })
    await signInViaProvider(ctx, verificationCodes, { accountId: created.account._id, params: { email } })
  } else if (!account.claimed) {
    await modifyAccountCredentials(ctx, { provider: PASSWORD_PROVIDER_ID, account: { id: email, secret: password } })
    await signInViaProvider(ctx, verificationCodes, { accountId: account.accountId, params: { email } })
  } else {
    await passwordCrypto.hashSecret(password)
    // At most one note an hour: a stranger's sign-ups neither flood the owner nor use the
    // allowance the owner's reset emails need.
    await queueNote(ctx, email, 'signUpWithExistingAccount')
  }
  return null
}

/** signIn: a verified account with its password gets a session; unverified, a new code. */
async function signIn(ctx: Ctx, params: Params): Promise<SignedIn> {
  const email = normalizeEmail(params.email)
  const password = requireText(params.password, 'Enter your password.')
  const account = await beginAttempt(ctx, email, ['passwordAttempts'])
  // Hashed before anything else is looked at, so an unknown address costs the same work.
  const matches = await passwordMatches(password, account)
  if (!account || !matches) throw new ConvexError(INVALID_CREDENTIALS)
  await ctx.runMutation(internal.authAttempts.clearPasswordAttempts, { email })
  if (!account.emailVerified) {
    await beginAttempt(ctx, email, ['accountEmails'], true)
    await signInViaProvider(ctx, verificationCodes, { accountId: account.accountId, params: { email } })
    return null
  }
  return { userId: account.userId }
}

/**
 * email-verification: the code from the email and the password chosen at sign-up. The
 * password ties the code to the sign-up it answers, so someone who signed up with another
 * person's address cannot have that person verify an account whose password they know.
 */
async function verifyEmail(ctx: Ctx, params: Params): Promise<SignedIn> {
  const email = normalizeEmail(params.email)
  const code = requireText(params.code, INVALID_CODE)
  const password = requireText(params.password, 'Enter the password you chose.')
  const account = await beginAttempt(ctx, email, ['passwordAttempts'])
  const matches = await passwordMatches(password, account)
  if (!account || !matches) throw new ConvexError(INVALID_CODE)
  // The right password gives the attempt back; wrong codes have their own throttle.
  await ctx.runMutation(internal.authAttempts.clearPasswordAttempts, { email })
  const signedIn = await redeemCode(ctx, verificationCodes, email, code)
  if (!signedIn) throw new ConvexError(INVALID_CODE)
  return signedIn
}

/** reset: a code by email when the address has an account, a note saying it has none otherwise. */
async function requestReset(ctx: Ctx, params: Params): Promise<SignedIn> {
  const email = normalizeEmail(params.email)
  // Only reset requests count here, so nobody else's sign-ups can keep the owner from a code.
  const account = await beginAttempt(ctx, email, ['resetEmails'], true)
  if (account) {
    await signInViaProvider(ctx, resetCodes, { accountId: account.accountId, params: { email } })
  } else {
    // As many transactions as the code step and its queueing above.
    await ctx.runMutation(internal.accountEmails.matchCodeStep, { to: email })
    await queueNote(ctx, email, 'resetWithoutAccount')
  }
  return null
}

/**
 * reset-verification: the code and a new password. Sets the password, verifies the address,
 * ends every other session of the account and lifts its password throttle.
 */
async function resetPassword(ctx: Ctx, params: Params): Promise<SignedIn> {
  const email = normalizeEmail(params.email)
  const code = requireText(params.code, INVALID_CODE)
  const newPassword = requireText(params.newPassword, 'Choose a new password.')
  checkNewPassword(newPassword, wordsOf(email))
  const account = await beginAttempt(ctx, email, [])
  // Redeemed even without an account, so a wrong code for any address counts alike.
  const signedIn = await redeemCode(ctx, resetCodes, email, code)
  if (!signedIn || !account || signedIn.userId !== account.userId) throw new ConvexError(INVALID_CODE)
  await modifyAccountCredentials(ctx, { provider: PASSWORD_PROVIDER_ID, account: { id: email, secret: newPassword } })
  // Every other session ends in this one bounded transaction, however many refresh tokens it has.
  await ctx.runMutation(internal.sessionEnding.endOtherSessions, {
    userId: signedIn.userId,
    ...(signedIn.sessionId && { keep: signedIn.sessionId }),
  })
  await ctx.runMutation(internal.authAttempts.clearPasswordAttempts, { email })
  return signedIn
}

const FLOWS: Record<string, (ctx: Ctx, params: Params) => Promise<SignedIn>> = {
  signUp,
  signIn,
  'email-verification': verifyEmail,
  reset: requestReset,
  'reset-verification': resetPassword,
}

export const accountPassword = ConvexCredentials<DataModel>({
  id: PASSWORD_PROVIDER_ID,
  authorize: async (params, ctx) => {
    const flow = typeof params.flow === 'string' && Object.hasOwn(FLOWS, params.flow) ? FLOWS[params.flow] : undefined
    if (!flow) {
      throw new ConvexError(
        'Unknown sign-in step: `flow` must be "signUp", "signIn", "email-verification", "reset" or "reset-verification".',
      )
    }
    return await flow(ctx, params)
  },
  crypto: passwordCrypto,
  extraProviders: [verificationCodes, resetCodes],
})
