// A Resend-compatible HTTP server on 127.0.0.1: POST /emails records the email and answers as
// Resend does ({ id }). The tests read the codes from what it recorded. `failNext(status)`
// makes the next request fail, to show what a user sees when the provider is down.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

export type RecordedEmail = {
  authorization: string | undefined
  from: string
  to: string[]
  subject: string
  text: string
}

export type EmailServer = {
  url: string
  emails: RecordedEmail[]
  /** The emails sent to `address`, oldest first. */
  sentTo: (address: string) => RecordedEmail[]
  /** The code in the newest email to `address`; fails the test when there is none. */
  latestCode: (address: string) => string
  failNext: (status: number) => void
  reset: () => void
  close: () => Promise<void>
}

export async function startEmailServer(): Promise<EmailServer> {
  const emails: RecordedEmail[] = []
  const failures: number[] = []
  const server = createServer((req, res) => {
    let raw = ''
    req.on('data', (chunk) => (raw += chunk))
    req.on('end', () => {
      const failure = failures.shift()
      if (req.method !== 'POST' || req.url !== '/emails') {
        res.writeHead(404, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ statusCode: 404, name: 'not_found', message: 'Not found' }))
        return
      }
      if (failure !== undefined) {
        res.writeHead(failure, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ statusCode: failure, name: 'application_error', message: 'Scripted failure' }))
        return
      }
      const body = JSON.parse(raw) as Omit<RecordedEmail, 'authorization'>
      emails.push({ authorization: req.headers.authorization, ...body })
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ id: `email_${emails.length}` }))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const sentTo = (address: string) => emails.filter((email) => email.to.includes(address))
  return {
    url: `http://127.0.0.1:${port}`,
    emails,
    sentTo,
    latestCode(address) {
      const code = sentTo(address).at(-1)?.text.match(/\b(\d{8})\b/)?.[1]
      if (!code) throw new Error(`no email with a code was sent to ${address}`)
      return code
    },
    failNext: (status) => void failures.push(status),
    reset() {
      emails.length = 0
      failures.length = 0
    },
    close: () => new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  }
}
