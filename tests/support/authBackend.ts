// What an account test imports: the real sign-in flow, with the account emails' queue sending to
// the local fake of Resend's API, and the auth environment wired into vitest's hooks.
import { afterAll, afterEach, beforeAll, beforeEach, vi } from 'vitest'
import { setAuthEnv, type Mailbox } from './authFlow'
import { startEmailServer, type EmailServer } from './emailServer'
import type { Backend } from './fixtures'
import { routeResendTo } from './resendComponent'

export * from './authFlow'

/**
 * Lets the queue send what it holds, on the fake clock: batching, the calls to the fake API with
 * their retries, the component's callbacks, the follow-ups. The clock moves 5 s at a time, each
 * step's work finishing before the next, until no account email is left in the queue (and at
 * least 15 s, for callbacks), so it stops about a minute after the last email went out; at most
 * 20 minutes. (Jumping from timer to timer could jump past a code's 15 minutes.)
 */
export async function deliverEmails(t: Backend) {
  const started = Date.now()
  const queued = () => t.run(async (ctx) => (await ctx.db.query('queuedAccountEmails').first()) !== null)
  while (Date.now() < started + 20 * 60_000) {
    vi.advanceTimersByTime(5_000)
    await t.finishInProgressScheduledFunctions()
    if (Date.now() >= started + 15_000 && !(await queued())) return
  }
  throw new Error('account emails still queued after 20 minutes of the fake clock')
}

/** The components' routine progress lines (batches made, the workpool's reports, cleanups). */
const COMPONENT_PROGRESS = [/^Making a batch of \d+ emails$/, /^\{"component":"workpool","event":"report"/, /^Cleaned up \d+ emails$/]

const consoleOutput = { log: console.log.bind(console), info: console.info.bind(console) }

/** Leaves the components' progress lines out of the test output; every other line still shows. */
function quietComponentProgress() {
  for (const method of ['log', 'info'] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      if (typeof args[0] === 'string' && COMPONENT_PROGRESS.some((line) => line.test(args[0] as string))) return
      consoleOutput[method](...args)
    })
  }
}

/**
 * Starts the fake email API for this file, routes the component's requests to it, and runs each
 * test on a fake clock that also moves with real time (the component schedules its work on
 * timers). `emails()` gives the running server, with `deliver(t)`; its records are cleared
 * before each test.
 */
export function useAuthFlow() {
  let server: EmailServer | undefined
  let restoreFetch: (() => void) | undefined
  beforeAll(async () => {
    server = await startEmailServer()
    restoreFetch = routeResendTo(server.url)
  })
  beforeEach(async () => {
    if (!server) throw new Error('email server not started')
    server.reset()
    quietComponentProgress()
    vi.useFakeTimers({
      toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
      shouldAdvanceTime: true,
    })
    await setAuthEnv()
  })
  afterEach(() => {
    vi.useRealTimers()
    // Each test's console spies start empty (spying again would return the same spy).
    vi.restoreAllMocks()
  })
  afterAll(async () => {
    restoreFetch?.()
    await server?.close()
  })
  return (): Mailbox => {
    if (!server) throw new Error('email server not started')
    return Object.assign(server, { deliver: (t: Backend) => deliverEmails(t) })
  }
}
