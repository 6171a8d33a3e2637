// npm run bench:signin: how long the account flows take for an address with an account and one
// without, through the real `auth:signIn` action in convex-test with the local fake email API.
// A script, not a test: it measures and asserts nothing. The two columns should match.
import batchWorkerTest from '@convex-dev/batch-worker/test'
import rateLimiterTest from '@convex-dev/rate-limiter/test'
import { convexTest } from 'convex-test'
import os from 'node:os'
import schema from '../convex/schema'
import { passwordStep, setAuthEnv, signUpAndVerify, type SignInParams } from '../tests/support/authFlow'
import { startEmailServer } from '../tests/support/emailServer'
import { convexModules, type Backend } from '../tests/support/fixtures'
import { preload } from './backend'

const ROUNDS = 12
// Each account takes 2 of each kind of attempt, within its throttles (10 password checks and
// 5 emails an hour); every unknown address is used once.
const ACCOUNTS = 6
const PASSWORD = 'purple-otter-skates-42'
const WRONG_PASSWORD = 'violet-heron-dances-17'

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}
const format = (ms: number) => `${ms.toFixed(0)} ms`

async function timed(t: Backend, params: SignInParams): Promise<number> {
  const started = performance.now()
  await passwordStep(t, params).catch(() => null)
  return performance.now() - started
}

type Pair = { name: string; known: (round: number) => SignInParams; unknown: (round: number) => SignInParams }

export async function main() {
  // Outside vitest, modules must not load mid-transaction (see preload): all are loaded first.
  const app = await preload(convexModules)
  const rateLimiter = await preload(rateLimiterTest.modules)
  const batchWorker = await preload(batchWorkerTest.modules)
  const emails = await startEmailServer()
  try {
    await setAuthEnv(emails.url)
    process.env.AUTH_LOG_LEVEL = 'ERROR'
    const t = convexTest(schema, app)
    t.registerComponent('rateLimiter', rateLimiterTest.schema, rateLimiter)
    t.registerComponent('rateLimiter/batchWorker', batchWorkerTest.schema, batchWorker)
    const accounts = Array.from({ length: ACCOUNTS }, (_, index) => `member${index}@example.org`)
    for (const email of accounts) await signUpAndVerify(t, emails, email, PASSWORD)
    const known = (round: number) => accounts[round % ACCOUNTS]
    const unknown = (round: number, flow: string) => `nobody-${flow}-${round}@example.org`

    const pairs: Pair[] = [
      {
        name: 'signIn: wrong password / unknown address',
        known: (round) => ({ flow: 'signIn', email: known(round), password: WRONG_PASSWORD }),
        unknown: (round) => ({ flow: 'signIn', email: unknown(round, 'signin'), password: WRONG_PASSWORD }),
      },
      {
        name: 'signUp: address with an account / new address',
        known: (round) => ({ flow: 'signUp', email: known(round), password: WRONG_PASSWORD }),
        unknown: (round) => ({ flow: 'signUp', email: unknown(round, 'signup'), password: WRONG_PASSWORD }),
      },
      {
        name: 'reset: address with an account / without',
        known: (round) => ({ flow: 'reset', email: known(round) }),
        unknown: (round) => ({ flow: 'reset', email: unknown(round, 'reset') }),
      },
    ]

    // One call of each kind first, so module loading and the password dictionaries are warm.
    await timed(t, { flow: 'signIn', email: 'warm-up@example.org', password: WRONG_PASSWORD })
    await timed(t, { flow: 'signUp', email: 'warm-up@example.org', password: WRONG_PASSWORD })

    const rows: string[] = []
    for (const pair of pairs) {
      const knownTimes: number[] = []
      const unknownTimes: number[] = []
      // Interleaved, so drift on a shared machine hits both columns alike.
      for (let round = 0; round < ROUNDS; round++) {
        knownTimes.push(await timed(t, pair.known(round)))
        unknownTimes.push(await timed(t, pair.unknown(round)))
      }
      const ratio = median(knownTimes) / median(unknownTimes)
      rows.push(
        `| ${pair.name} | ${format(median(knownTimes))} | ${format(median(unknownTimes))} | ${ratio.toFixed(2)} | ` +
          `${format(Math.min(...knownTimes))}-${format(Math.max(...knownTimes))} | ` +
          `${format(Math.min(...unknownTimes))}-${format(Math.max(...unknownTimes))} |`,
      )
    }

    const cpu = os.cpus()[0]?.model ?? 'unknown CPU'
    console.log(`Account flow timing, ${ROUNDS} interleaved calls each, medians.`)
    console.log(`Machine: ${os.cpus().length} x ${cpu}, Node ${process.version}, convex-test, local email API`)
    console.log('')
    console.log('| flow: with account / without | with account | without | ratio | range with | range without |')
    console.log('|---|---|---|---|---|---|')
    for (const row of rows) console.log(row)
  } finally {
    await emails.close()
  }
}
