// The real sign-in flow in convex-test (no vitest here, so the timing script can use it too):
// the deployment's auth environment, the `auth:signIn` / `auth:signOut` calls, and a client
// signed in with the token a flow returned.
import { decodeJwt, exportJWK, exportPKCS8, generateKeyPair } from 'jose'
import { api } from '../../convex/_generated/api'
import type { EmailServer } from './emailServer'
import type { Backend } from './fixtures'

/** The fake email API, and the way to let the component's queue send what it holds. */
export type Mailbox = EmailServer & { deliver: (t: Backend) => Promise<void> }

export const TEST_SITE_URL = 'http://localhost:5173'
export const TEST_EMAIL_FROM = 'AI Safety Career Coach <coach@example.test>'
export const TEST_RESEND_KEY = 'test-resend-key'
/** Resend's webhook secrets are `whsec_` and base64 bytes. */
export const TEST_WEBHOOK_SECRET = `whsec_${btoa('test webhook secret, 32 bytes long')}`

let keys: Promise<{ privateKey: string; jwks: string }> | undefined

/** One RS256 key pair per process, made and written as `npx @convex-dev/auth` does. */
function authKeys() {
  keys ??= (async () => {
    const pair = await generateKeyPair('RS256', { extractable: true })
    const privateKey = (await exportPKCS8(pair.privateKey)).trimEnd().replace(/\n/g, ' ')
    const jwks = JSON.stringify({ keys: [{ use: 'sig', ...(await exportJWK(pair.publicKey)) }] })
    return { privateKey, jwks }
  })()
  return keys
}

/** The environment a deployment sets once (email goes to the local fake: see resendComponent.ts). */
export async function setAuthEnv() {
  const { privateKey, jwks } = await authKeys()
  process.env.JWT_PRIVATE_KEY = privateKey
  process.env.JWKS = jwks
  process.env.CONVEX_SITE_URL = 'https://test-deployment.convex.site'
  process.env.SITE_URL = TEST_SITE_URL
  process.env.AUTH_RESEND_KEY = TEST_RESEND_KEY
  process.env.AUTH_EMAIL_FROM = TEST_EMAIL_FROM
  process.env.AUTH_EMAIL_TEST_MODE = 'false'
  process.env.RESEND_WEBHOOK_SECRET = TEST_WEBHOOK_SECRET
  // The library logs every auth:store call at INFO; warnings and errors still show.
  process.env.AUTH_LOG_LEVEL = 'WARN'
}

export type SignInParams = Record<string, string>
export type SignInResult = { tokens?: { token: string; refreshToken: string } | null; started?: boolean }

/** `signIn('password', params)` as the frontend's `useAuthActions` sends it. */
export async function passwordStep(t: Backend, params: SignInParams): Promise<SignInResult> {
  return (await t.action(api.auth.signIn, { provider: 'password', params })) as SignInResult
}

/**
 * A client that sends `token`. convex-test does not check JWTs, so the token's subject (the
 * `userId|sessionId` a deployment would read from it) is handed to it directly.
 */
export function clientWithToken(t: Backend, token: string) {
  const { sub } = decodeJwt(token)
  if (!sub) throw new Error('token has no subject')
  return t.withIdentity({ subject: sub })
}

export type SignedInClient = ReturnType<typeof clientWithToken>

/** The ids a token's subject names. */
export function idsOf(token: string) {
  const [userId, sessionId] = (decodeJwt(token).sub ?? '').split('|')
  return { userId, sessionId }
}

export async function signOut(client: SignedInClient) {
  await client.action(api.auth.signOut, {})
}

/** Sign-up, then the code from the email: the tokens of a verified account's first session. */
export async function signUpAndVerify(t: Backend, emails: Mailbox, email: string, password: string) {
  await passwordStep(t, { flow: 'signUp', email, password })
  await emails.deliver(t)
  const code = emails.latestCode(email)
  const { tokens } = await passwordStep(t, { flow: 'email-verification', email, code, password })
  if (!tokens) throw new Error(`verification of ${email} returned no session`)
  return tokens
}

/** A password sign-in that must succeed: a client holding its token. */
export async function signInClient(t: Backend, email: string, password: string) {
  const { tokens } = await passwordStep(t, { flow: 'signIn', email, password })
  if (!tokens) throw new Error(`sign-in of ${email} returned no session`)
  return clientWithToken(t, tokens.token)
}
