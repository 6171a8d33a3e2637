// A fake of Resend's batch API on 127.0.0.1, as @convex-dev/resend uses it: POST /emails/batch
// with a JSON array of emails and an Idempotency-Key header, answered `{ data: [{ id }, ...] }`.
// Like Resend it answers a repeated key with the first answer and sends nothing again, and it
// can refuse: 429 with `retry-after` past a request rate, 5xx for a share of requests or while
// "down". It records every email it accepted, so tests read the codes from what it recorded.
// (Fetch for Resend's host is routed here: see resendComponent.ts.)
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

export type RecordedEmail = {
  /** The id this fake gave the email, as Resend's webhook events name it. */
  id: string
  authorization: string | undefined
  idempotencyKey: string | undefined
  from: string
  to: string[]
  subject: string
  text: string
}

export type RecordedRequest = { status: number; emails: number; idempotencyKey: string | undefined }

export type EmailServerBehaviour = {
  /** Requests accepted per second of the clock (`now`); past that, 429 with `retry-after`. */
  requestsPerSecond?: number
  /** The share of requests answered 500, picked by a seeded generator so runs repeat. */
  failureShare?: number
  /** While true, every request is answered 503. */
  down?: boolean
}

export type EmailServer = {
  url: string
  emails: RecordedEmail[]
  requests: RecordedRequest[]
  /** The emails sent to `address`, oldest first. */
  sentTo: (address: string) => RecordedEmail[]
  /** The code in the newest email to `address`; fails the test when there is none. */
  latestCode: (address: string) => string
  /** The next request is answered with this status. */
  failNext: (status: number) => void
  behave: (behaviour: EmailServerBehaviour) => void
  reset: () => void
  close: () => Promise<void>
}

/** `now` is the clock the rate is counted by (the tests' fake clock, by default Date.now). */
export async function startEmailServer(now: () => number = () => Date.now()): Promise<EmailServer> {
  const emails: RecordedEmail[] = []
  const requests: RecordedRequest[] = []
  const failures: number[] = []
  const answered = new Map<string, string>()
  let behaviour: EmailServerBehaviour = {}
  let windowStart = 0
  let inWindow = 0
  let seed = 1

  /** A small seeded generator (xorshift), so "10% fail" fails the same requests every run. */
  const random = () => {
    seed ^= seed << 13
    seed ^= seed >>> 17
    seed ^= seed << 5
    return (seed >>> 0) / 2 ** 32
  }

  const refuse = (status: number, name: string, headers: Record<string, string> = {}) => ({
    status,
    headers,
    body: JSON.stringify({ statusCode: status, name, message: `Scripted ${name}` }),
  })

  function answer(method: string | undefined, url: string | undefined, key: string | undefined, raw: string, authorization: string | undefined) {
    if (method !== 'POST' || url !== '/emails/batch') return refuse(404, 'not_found')
    const scripted = failures.shift()
    if (scripted === 429) return refuse(429, 'rate_limit_exceeded', { 'retry-after': '1' })
    if (scripted !== undefined) return refuse(scripted, 'application_error')
    if (behaviour.down) return refuse(503, 'service_unavailable')
    if (behaviour.requestsPerSecond !== undefined) {
      const second = Math.floor(now() / 1000)
      if (second !== windowStart) {
        windowStart = second
        inWindow = 0
      }
      if (inWindow >= behaviour.requestsPerSecond) return refuse(429, 'rate_limit_exceeded', { 'retry-after': '1' })
      inWindow += 1
    }
    if (behaviour.failureShare && random() < behaviour.failureShare) return refuse(500, 'internal_server_error')
    const earlier = key === undefined ? undefined : answered.get(key)
    if (earlier !== undefined) return { status: 200, headers: {}, body: earlier }
    const batch = JSON.parse(raw) as Omit<RecordedEmail, 'id' | 'authorization' | 'idempotencyKey'>[]
    const ids = batch.map((email) => {
      const id = `fake_${emails.length + 1}`
      emails.push({ id, authorization, idempotencyKey: key, ...email })
      return { id }
    })
    const body = JSON.stringify({ data: ids })
    if (key !== undefined) answered.set(key, body)
    return { status: 200, headers: {}, body }
  }

  const server = createServer((req, res) => {
    let raw = ''
    req.on('data', (chunk) => (raw += chunk))
    req.on('end', () => {
      const key = req.headers['idempotency-key']
      const idempotencyKey = Array.isArray(key) ? key[0] : key
      const reply = answer(req.method, req.url, idempotencyKey, raw, req.headers.authorization)
      if (req.url === '/emails/batch') {
        const count = reply.status === 200 ? (JSON.parse(raw) as unknown[]).length : 0
        requests.push({ status: reply.status, emails: count, idempotencyKey })
      }
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers })
      res.end(reply.body)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const sentTo = (address: string) => emails.filter((email) => email.to.includes(address))
  return {
    url: `http://127.0.0.1:${port}`,
    emails,
    requests,
    sentTo,
    latestCode(address) {
      const code = sentTo(address).at(-1)?.text.match(/\b(\d{8})\b/)?.[1]
      if (!code) throw new Error(`no email with a code was sent to ${address}`)
      return code
    },
    failNext: (status) => void failures.push(status),
    behave: (next) => {
      behaviour = { ...behaviour, ...next }
    },
    reset() {
      emails.length = 0
      requests.length = 0
      failures.length = 0
      answered.clear()
      behaviour = {}
      seed = 1
    },
    close: () => new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  }
}
