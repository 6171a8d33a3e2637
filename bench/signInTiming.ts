// npm run bench:signin: how long the account flows take for an address with an account and one
// without, through the real `auth:signIn` action in convex-test, the emails queued in
// @convex-dev/resend and sent to the local fake of Resend's API; and the queueing itself, for
// each kind of email a step queues. A script, not a test: it measures and asserts nothing. The
// columns should match.
import batchWorkerTest from '@convex-dev/batch-worker/test'
import rateLimiterTest from '@convex-dev/rate-limiter/test'
import { convexTest } from 'convex-test'
import os from 'node:os'
import { internal } from '../convex/_generated/api'
import schema from '../convex/schema'
import { passwordStep, setAuthEnv, signUpAndVerify, type Mailbox, type SignInParams } from '../tests/support/authFlow'
import { startEmailServer, type EmailServer } from '../tests/support/emailServer'
import { convexModules, type Backend } from '../tests/support/fixtures'
import { RESEND_COMPONENTS, registerResend, routeResendTo } from '../tests/support/resendComponent'
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
const format = (ms: number) => `${ms.toFixed(ms < 10 ? 1 : 0)} ms`

async function timed(t: Backend, params: SignInParams): Promise<number> {
  const started = performance.now()
  await passwordStep(t, params).catch(() => null)
  return performance.now() - started
}

type Pair = { name: string; known: (round: number) => SignInParams; unknown: (round: number) => SignInParams }

/** Real timers here: the queue sends on its own schedule (its first batch after a second). */
function mailbox(server: EmailServer): Mailbox {
  return Object.assign(server, {
    async deliver(t: Backend) {
      const before = server.emails.length
      const deadline = performance.now() + 30_000
      while (server.emails.length === before) {
        if (performance.now() > deadline) throw new Error('no email arrived within 30 s')
        await t.finishInProgressScheduledFunctions()
        await new Promise((resolve) => setTimeout(resolve, 25))
      }
    },
  })
}

/** One queueing transaction: what a step does after it stored the code, or instead of a code. */
async function timedQueue(t: Backend, queue: () => Promise<unknown>): Promise<number> {
  const started = performance.now()
  await queue()
  return performance.now() - started
}

export async function main() {
  // Outside vitest, modules must not load mid-transaction (see preload): all are loaded first.
  const app = await preload(convexModules)
  const rateLimiter = await preload(rateLimiterTest.modules)
  const batchWorker = await preload(batchWorkerTest.modules)
  const resendModules = new Map<string, Awaited<ReturnType<typeof preload>>>()
  for (const registration of RESEND_COMPONENTS) {
    resendModules.set(registration.path, await preload(registration.modules))
  }
  const server = await startEmailServer()
  const emails = mailbox(server)
  const restoreFetch = routeResendTo(server.url)
  const chatter = console.info
  // The components' progress lines (batches, workpool reports) would bury the table.
  console.info = () => {}
  const log = console.log
  console.log = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].startsWith('Making a batch')) return
    log(...args)
  }
  try {
    await setAuthEnv()
    process.env.AUTH_LOG_LEVEL = 'ERROR'
    const t = convexTest(schema, app)
    t.registerComponent('rateLimiter', rateLimiterTest.schema, rateLimiter)
    t.registerComponent('rateLimiter/batchWorker', batchWorkerTest.schema, batchWorker)
    registerResend(t, (registration) => resendModules.get(registration.path)!)
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

    // The queueing alone: each kind of email a step queues, in the transaction that queues it.
    const queueRows: string[] = []
    const queueKinds: [string, (round: number) => Promise<unknown>][] = [
      [
        'a code (sign-up, sign-in, reset with an account)',
        (round) =>
          t.mutation(internal.accountEmails.queueCodeEmail, {
            to: `queue-code-${round}@example.org`,
            kind: 'verificationCode',
            code: String(10_000_000 + round),
            expiresAt: Date.now() + 15 * 60_000,
          }),
      ],
      [
        'the "someone tried to sign up" note',
        (round) => t.mutation(internal.accountEmails.queueNote, { to: `queue-note-${round}@example.org`, kind: 'signUpWithExistingAccount' }),
      ],
      [
        'the note, its hourly allowance spent (not queued)',
        () => t.mutation(internal.accountEmails.queueNote, { to: 'queue-note-0@example.org', kind: 'signUpWithExistingAccount' }),
      ],
      [
        'the "no account" reset note',
        (round) => t.mutation(internal.accountEmails.queueNote, { to: `queue-reset-${round}@example.org`, kind: 'resetWithoutAccount' }),
      ],
    ]
    const queueTimes = queueKinds.map((): number[] => [])
    for (let round = 0; round < ROUNDS; round++) {
      for (const [index, [, queue]] of queueKinds.entries()) queueTimes[index].push(await timedQueue(t, () => queue(round)))
    }
    for (const [index, [name]] of queueKinds.entries()) {
      const times = queueTimes[index]
      queueRows.push(`| ${name} | ${format(median(times))} | ${format(Math.min(...times))}-${format(Math.max(...times))} |`)
    }

    const cpu = os.cpus()[0]?.model ?? 'unknown CPU'
    console.log(`Account flow timing, ${ROUNDS} interleaved calls each, medians.`)
    console.log(`Machine: ${os.cpus().length} x ${cpu}, Node ${process.version}, convex-test, emails queued (sent by the queue to a local fake API)`)
    console.log('')
    console.log('| flow: with account / without | with account | without | ratio | range with | range without |')
    console.log('|---|---|---|---|---|---|')
    for (const row of rows) console.log(row)
    console.log('')
    console.log(`Queueing one email (the transaction a step runs for it), ${ROUNDS} calls each, medians.`)
    console.log('')
    console.log('| what the step queues | median | range |')
    console.log('|---|---|---|')
    for (const row of queueRows) console.log(row)
  } finally {
    console.info = chatter
    console.log = log
    // The queue's follow-ups stay scheduled for minutes (and would reach the real host once
    // fetch is restored): end here, with the fake and the routing still in place.
    setTimeout(() => {
      restoreFetch()
      process.exit(0)
    }, 500).unref()
  }
}
