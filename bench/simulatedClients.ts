// The subscribed client of each design, simulated: after every committed transaction the
// benchmark calls `refresh(writes)`, which re-runs the client's subscribed queries and counts a
// push (the JSON of the result) for each one whose result changed. A query subscribed with new
// arguments (a cursor that moved) sends its first result too, so that counts as a push.
// `prime()` subscribes before the turn; those first results are not counted.
//
// Like Convex, which re-runs only the subscriptions whose reads a commit touched, a query is
// re-run only after a commit that wrote a table it reads (BENCH_CHECK_READS=1 re-runs the
// others too and fails if one of them changed). The first text counts as visible as soon as
// the query that carries it has been re-run.
import type { CommittedWrite } from '../tests/support/commitWatcher'

/** Which of the client's queries sent a result: the chat's message list, or the live reply. */
export type PushKind = 'chat' | 'live'
export type Push = { kind: PushKind; bytes: number }

export interface SimulatedClient {
  prime(): Promise<void>
  refresh(writes: CommittedWrite[]): Promise<void>
  readonly pushes: Push[]
  /** performance.now() when the reply's first text was first in what the client had. */
  readonly firstTextAt: number | undefined
}

const bytesOf = (json: string) => Buffer.byteLength(json, 'utf8')
const checkReads = process.env.BENCH_CHECK_READS === '1'

/** Which committed writes a query reads: by component ('' is the app) and table. */
export type ReadSet = (write: CommittedWrite) => boolean
export const tablesOf =
  (component: string, tables?: string[]): ReadSet =>
  (write) =>
    write.component === component && (tables === undefined || tables.includes(write.table))

/** One subscription: a query with fixed arguments and the last result the client holds. */
class Subscription<T> {
  value: T | undefined
  private last: string | undefined
  constructor(
    private readonly client: BaseClient,
    private readonly kind: PushKind,
    private readonly reads: ReadSet,
    private readonly run: () => Promise<T>,
  ) {}

  /**
   * Re-runs the query (a new subscription always; otherwise when `writes` touch what it reads)
   * and records a push, unless priming, when its result changed.
   */
  async poll(writes: CommittedWrite[] | null): Promise<boolean> {
    const touched = this.last === undefined || writes === null || writes.some(this.reads)
    if (!touched && !checkReads) return false
    const value = await this.run()
    const json = JSON.stringify(value)
    if (json === this.last) return false
    if (!touched) throw new Error(`A query changed after a commit that wrote nothing it reads: ${json.slice(0, 200)}`)
    this.last = json
    this.value = value
    if (!this.client.priming) this.client.pushes.push({ kind: this.kind, bytes: bytesOf(json) })
    this.client.noteVisibility()
    return true
  }
}

abstract class BaseClient implements SimulatedClient {
  readonly pushes: Push[] = []
  firstTextAt: number | undefined
  priming = true

  protected subscribe<T>(kind: PushKind, reads: ReadSet, run: () => Promise<T>) {
    return new Subscription<T>(this, kind, reads, run)
  }

  async prime() {
    await this.refreshAll(null)
    this.priming = false
  }

  async refresh(writes: CommittedWrite[]) {
    await this.refreshAll(writes)
  }

  noteVisibility() {
    if (!this.priming && this.firstTextAt === undefined && this.seesReplyText()) this.firstTextAt = performance.now()
  }

  /** `writes` is null when priming: every query runs. */
  protected abstract refreshAll(writes: CommittedWrite[] | null): Promise<void>
  protected abstract seesReplyText(): boolean
}

type Message = { _id: string; role: string; content: string }

/** What this backend's chat queries read (besides the caller's identity). */
const CHAT_READS = tablesOf('', ['enrichmentMessages', 'profiles', 'careerActions', 'users', 'authSessions'])
const LIVE_READS: ReadSet = (write) => CHAT_READS(write) || tablesOf('', ['liveReplyChunks'])(write)

/** A chat query's result: the whole chat (getMessagesPublic), or one page of it (listMessages). */
export type ChatResult = Message[] | { page: Message[] }
const messagesIn = (result: ChatResult | undefined): Message[] =>
  result === undefined ? [] : Array.isArray(result) ? result : result.page

/** This backend, document mode: the frontend's chat query, where the reply grows. */
export class DocumentModeClient extends BaseClient {
  private readonly chat: Subscription<ChatResult>
  private known = new Set<string>()

  constructor(readChat: () => Promise<ChatResult>) {
    super()
    this.chat = this.subscribe('chat', CHAT_READS, readChat)
  }

  async prime() {
    await super.prime()
    this.known = new Set(messagesIn(this.chat.value).map((message) => message._id))
  }

  protected async refreshAll(writes: CommittedWrite[] | null) {
    await this.chat.poll(writes)
  }

  protected seesReplyText() {
    return messagesIn(this.chat.value).some(
      (message) => message.role === 'assistant' && !this.known.has(message._id) && message.content.length > 0,
    )
  }
}

type LiveReply = { replyId: string; text: string; cursor: number; status: string } | null

/**
 * This backend, delta mode, as docs/api.md tells a frontend to use it: the chat query (the whole
 * chat, or listMessages' newest page), and getLiveReply from cursor to cursor, appending each
 * result's text.
 */
export class DeltaModeClient extends DocumentModeClient {
  private live: Subscription<LiveReply>
  private cursor: number | undefined
  private replyId: string | undefined
  text = ''

  constructor(
    readChat: () => Promise<ChatResult>,
    private readonly readLive: (cursor: number | undefined) => Promise<LiveReply>,
  ) {
    super(readChat)
    this.live = this.follow(undefined)
  }

  private follow(cursor: number | undefined) {
    this.cursor = cursor
    return this.subscribe<LiveReply>('live', LIVE_READS, () => this.readLive(cursor))
  }

  protected async refreshAll(writes: CommittedWrite[] | null) {
    // The live reply first: a commit that adds a chunk touches nothing the chat query reads.
    let changed = await this.live.poll(writes)
    while (changed) {
      const live = this.live.value
      if (live === null || live === undefined) {
        // The reply ended: forget its cursor, so the next reply is read from its start.
        this.replyId = undefined
        this.text = ''
        if (this.cursor === undefined) break
        this.live = this.follow(undefined)
      } else {
        if (live.replyId !== this.replyId) this.text = ''
        this.replyId = live.replyId
        this.text += live.text
        if (live.cursor === this.cursor) break
        this.live = this.follow(live.cursor)
      }
      changed = await this.live.poll(writes)
    }
    await super.refreshAll(writes)
  }

  protected seesReplyText() {
    return this.text.length > 0 || super.seesReplyText()
  }
}

type StreamDelta = { streamId: string; start: number; end: number; parts: unknown[] }
type AgentPage = {
  page: { id?: string; key?: string; role: string; text?: string }[]
  streams?: { kind: 'list'; messages: { streamId: string }[] } | { kind: 'deltas'; deltas: StreamDelta[] }
}
type AgentArgs = {
  paginationOpts: { numItems: number; cursor: string | null }
  streamArgs?: { kind: 'list'; startOrder: number } | { kind: 'deltas'; cursors: { streamId: string; cursor: number }[] }
}

/** Everything the agent's query reads lives in its component. */
const AGENT_READS = tablesOf('agent')

const partHasText = (part: unknown) => {
  const { delta, text } = part as { delta?: unknown; text?: unknown }
  return (typeof delta === 'string' && delta.length > 0) || (typeof text === 'string' && text.length > 0)
}

/**
 * @convex-dev/agent's `useUIMessages(query, { threadId }, { initialNumItems: 10, stream: true })`:
 * the first page of messages, the list of active streams, and the deltas of those streams from
 * per-stream cursors that move as deltas arrive.
 */
export class AgentClient extends BaseClient {
  private readonly messages: Subscription<AgentPage>
  private readonly streams: Subscription<AgentPage>
  private deltas: Subscription<AgentPage> | undefined
  private cursors = new Map<string, number>()
  private sawDeltaText = false
  private known = new Set<string>()

  constructor(private readonly list: (args: AgentArgs) => Promise<AgentPage>) {
    super()
    this.messages = this.subscribe('chat', AGENT_READS, () => list({ paginationOpts: { numItems: 10, cursor: null } }))
    this.streams = this.subscribe('live', AGENT_READS, () =>
      list({ paginationOpts: { numItems: 0, cursor: null }, streamArgs: { kind: 'list', startOrder: 0 } }),
    )
  }

  async prime() {
    await super.prime()
    this.known = new Set((this.messages.value?.page ?? []).map((message) => message.key ?? message.id ?? ''))
  }

  private subscribeDeltas(streamIds: string[]) {
    const cursors = streamIds.map((streamId) => ({ streamId, cursor: this.cursors.get(streamId) ?? 0 }))
    return this.subscribe<AgentPage>('live', AGENT_READS, () =>
      this.list({ paginationOpts: { numItems: 0, cursor: null }, streamArgs: { kind: 'deltas', cursors } }),
    )
  }

  protected async refreshAll(writes: CommittedWrite[] | null) {
    await this.streams.poll(writes)
    const listed = this.streams.value?.streams
    const streamIds = listed?.kind === 'list' ? listed.messages.map((message) => message.streamId) : []
    if (streamIds.length === 0) {
      this.deltas = undefined
    } else {
      await this.refreshDeltas(streamIds, writes)
    }
    await this.messages.poll(writes)
  }

  private async refreshDeltas(streamIds: string[], writes: CommittedWrite[] | null) {
    const key = JSON.stringify(streamIds)
    if (!this.deltas || this.deltasKey !== key) {
      this.deltas = this.subscribeDeltas(streamIds)
      this.deltasKey = key
    }
    let changed = await this.deltas.poll(writes)
    while (changed) {
      const result = this.deltas.value?.streams
      const deltas = result?.kind === 'deltas' ? result.deltas : []
      let moved = false
      for (const delta of deltas) {
        if (delta.parts.some(partHasText)) this.sawDeltaText = true
        if (delta.end > (this.cursors.get(delta.streamId) ?? 0)) {
          this.cursors.set(delta.streamId, delta.end)
          moved = true
        }
      }
      if (!moved) return
      this.deltas = this.subscribeDeltas(streamIds)
      changed = await this.deltas.poll(writes)
    }
  }

  private deltasKey = ''

  protected seesReplyText() {
    if (this.sawDeltaText) return true
    return (this.messages.value?.page ?? []).some(
      (message) =>
        message.role === 'assistant' && !this.known.has(message.key ?? message.id ?? '') && (message.text ?? '').length > 0,
    )
  }
}

type PromptRow = { _id: string; responseStreamId: string }
type StreamBody = { text: string; status: string }

/**
 * @convex-dev/persistent-text-streaming as read by a client that did not start the stream:
 * the list of messages, and `useStream(getChatBody, url, false, streamId)` for each, which
 * subscribes to the stream's body. A finished stream's body cannot change, so it is not re-run.
 */
export class TextStreamingOtherClient extends BaseClient {
  private readonly list: Subscription<PromptRow[]>
  private readonly bodies = new Map<string, Subscription<StreamBody>>()
  private known = new Set<string>()

  constructor(
    listMessages: () => Promise<PromptRow[]>,
    private readonly getChatBody: (streamId: string) => Promise<StreamBody>,
  ) {
    super()
    this.list = this.subscribe('chat', tablesOf('', ['userMessages']), listMessages)
  }

  async prime() {
    await super.prime()
    this.known = new Set(this.bodies.keys())
  }

  protected async refreshAll(writes: CommittedWrite[] | null) {
    await this.list.poll(writes)
    for (const row of this.list.value ?? []) {
      let body = this.bodies.get(row.responseStreamId)
      if (!body) {
        body = this.subscribe('live', tablesOf('persistentTextStreaming'), () => this.getChatBody(row.responseStreamId))
        this.bodies.set(row.responseStreamId, body)
      } else if (body.value?.status === 'done') {
        continue
      }
      await body.poll(writes)
    }
  }

  protected seesReplyText() {
    for (const [streamId, body] of this.bodies) {
      if (!this.known.has(streamId) && (body.value?.text ?? '').length > 0) return true
    }
    return false
  }
}
