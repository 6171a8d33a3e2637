// What an account test imports: the real sign-in flow, with the fake email API and the auth
// environment wired into vitest's hooks.
import { afterAll, beforeAll, beforeEach } from 'vitest'
import { setAuthEnv } from './authFlow'
import { startEmailServer, type EmailServer } from './emailServer'

export * from './authFlow'

/**
 * Starts the fake email API for this file and sets the auth environment before each test.
 * `emails()` gives the running server; its recorded emails are cleared before each test.
 */
export function useAuthFlow() {
  let server: EmailServer | undefined
  beforeAll(async () => {
    server = await startEmailServer()
  })
  beforeEach(async () => {
    if (!server) throw new Error('email server not started')
    server.reset()
    await setAuthEnv(server.url)
  })
  afterAll(async () => {
    await server?.close()
  })
  return () => {
    if (!server) throw new Error('email server not started')
    return server
  }
}
