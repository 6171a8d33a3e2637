// The export file: what each stored document becomes in it (ISO dates, no internal fields),
// and how the pages read by convex/accountExport.ts are put together into one document.
import { v, type Infer } from 'convex/values'
import type { Doc } from '../../_generated/dataModel'
import { EMAIL_RECORD_DAYS } from './email'
import { actionStatus, actionType, editableProfileFields, messageRole, messageStatus, usageChat } from '../../schema'

/** Bumped when the file's shape changes, so a reader can tell old files from new. */
export const EXPORT_FORMAT_VERSION = 1

/** How long the download link works once the file is ready. */
export const EXPORT_LINK_LIFETIME_MS = 15 * 60 * 1000

/** Rows per page an export reads; pages are also cut at PAGE_BYTES, whichever comes first. */
export const EXPORT_PAGE_ROWS = 1000
export const EXPORT_PAGE_BYTES = 4 * 1024 * 1024

const iso = (ms: number) => new Date(ms).toISOString()
const isoIfSet = (ms: number | undefined) => (ms === undefined ? undefined : iso(ms))

export const exportedAccount = v.object({
  id: v.string(),
  email: v.optional(v.string()),
  name: v.optional(v.string()),
  emailVerifiedAt: v.optional(v.string()),
  phone: v.optional(v.string()),
  createdAt: v.string(),
})

export const exportedProfile = v.object({
  id: v.string(),
  ...editableProfileFields,
  createdAt: v.string(),
  updatedAt: v.string(),
})

export const exportedAction = v.object({
  id: v.string(),
  type: actionType,
  title: v.string(),
  description: v.string(),
  rationale: v.string(),
  profileBasis: v.optional(v.array(v.string())),
  status: actionStatus,
  generatedAt: v.string(),
  startedAt: v.optional(v.string()),
  completedAt: v.optional(v.string()),
  modelVersion: v.string(),
  completionConversationStarted: v.optional(v.boolean()),
})

export const exportedMessage = v.object({
  id: v.string(),
  role: messageRole,
  content: v.string(),
  /** The career action a debrief message belongs to; absent in the general chat. */
  actionId: v.optional(v.string()),
  status: v.optional(messageStatus),
  createdAt: v.string(),
})

export const exportedUsage = v.object({
  chat: usageChat,
  actionId: v.optional(v.string()),
  model: v.string(),
  inputTokens: v.number(),
  outputTokens: v.number(),
  succeeded: v.boolean(),
  createdAt: v.string(),
})

export type ExportedAccount = Infer<typeof exportedAccount>
export type ExportedProfile = Infer<typeof exportedProfile>
export type ExportedAction = Infer<typeof exportedAction>
export type ExportedMessage = Infer<typeof exportedMessage>
export type ExportedUsage = Infer<typeof exportedUsage>

export function exportAccount(user: Doc<'users'>): ExportedAccount {
  return withoutUndefined({
    id: user._id,
    email: user.email,
    name: user.name,
    emailVerifiedAt: isoIfSet(user.emailVerificationTime),
    phone: user.phone,
    createdAt: iso(user._creationTime),
  })
}

export function exportProfile(profile: Doc<'profiles'>): ExportedProfile {
  const fields = Object.fromEntries(
    Object.keys(editableProfileFields).map((key) => [key, profile[key as keyof typeof editableProfileFields]]),
  )
  return withoutUndefined({
    id: profile._id,
    ...fields,
    createdAt: iso(profile.createdAt),
    updatedAt: iso(profile.updatedAt),
  })
}

export function exportAction(action: Doc<'careerActions'>): ExportedAction {
  return withoutUndefined({
    id: action._id,
    type: action.type,
    title: action.title,
    description: action.description,
    rationale: action.rationale,
    profileBasis: action.profileBasis,
    status: action.status,
    generatedAt: iso(action.generatedAt),
    startedAt: isoIfSet(action.startedAt),
    completedAt: isoIfSet(action.completedAt),
    modelVersion: action.modelVersion,
    completionConversationStarted: action.completionConversationStarted,
  })
}

export function exportMessage(message: Doc<'enrichmentMessages'>): ExportedMessage {
  return withoutUndefined({
    id: message._id,
    role: message.role,
    content: message.content,
    actionId: message.actionId,
    status: message.status,
    createdAt: iso(message.createdAt),
  })
}

export function exportUsage(row: Doc<'modelUsage'>): ExportedUsage {
  return withoutUndefined({
    chat: row.chat,
    actionId: row.actionId,
    model: row.model,
    inputTokens: row.inputTokens,
    outputTokens: row.outputTokens,
    succeeded: row.succeeded,
    createdAt: iso(row.createdAt),
  })
}

/** Leaves out keys whose value is undefined, so the JSON has no `null` stand-ins. */
function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as T
}

/** The file's shape, for readers (the tests); the file is written by ExportFile below. */
export type ExportDocument = {
  version: number
  exportedAt: string
  account: ExportedAccount
  profile: ExportedProfile | null
  careerActions: ExportedAction[]
  chats: {
    general: ExportedMessage[]
    debriefs: { actionId: string; actionTitle: string | null; messages: ExportedMessage[] }[]
  }
  modelUsage: ExportedUsage[]
  /** What happens to the account emails sent to the address (they are not in the file). */
  emailRecords: ExportedEmailRecords
}

export type ExportedEmailRecords = { keptForDays: number; note: string }

/** The export's statement about account emails: the queue's records of them, and how long they last. */
export function emailRecordsNote(keptForDays: number): ExportedEmailRecords {
  return {
    keptForDays,
    note:
      `The account emails sent to your address (codes, notices) are kept by the email queue for at most ` +
      `${keptForDays} days after they were queued, then deleted; they are not in this file. Deleting ` +
      `your account cancels the ones not yet sent.`,
  }
}

/**
 * The export file, written page by page. Each item becomes its JSON text as it arrives and
 * the page's objects are dropped, so the action holds about the file's size once, not the
 * parsed documents too: the file is one JSON document with one item per line.
 */
export class ExportFile {
  private readonly actions: string[] = []
  private readonly actionTitles = new Map<string, string>()
  private readonly general: string[] = []
  /** Debrief messages by action, in the order each debrief first appears. */
  private readonly debriefs = new Map<string, string[]>()
  private readonly usage: string[] = []

  addActions(page: ExportedAction[]) {
    for (const action of page) {
      this.actions.push(JSON.stringify(action))
      this.actionTitles.set(action.id, action.title)
    }
  }

  /** Messages of both chats, oldest first; each goes to its own chat. */
  addMessages(page: ExportedMessage[]) {
    for (const message of page) {
      const text = JSON.stringify(message)
      if (message.actionId === undefined) this.general.push(text)
      else {
        const debrief = this.debriefs.get(message.actionId)
        if (debrief) debrief.push(text)
        else this.debriefs.set(message.actionId, [text])
      }
    }
  }

  addUsage(page: ExportedUsage[]) {
    for (const row of page) this.usage.push(JSON.stringify(row))
  }

  /** The whole file, as many small parts: no single string the size of the file is made. */
  toBlob(head: { exportedAt: number; account: ExportedAccount; profile: ExportedProfile | null }): Blob {
    const parts: string[] = [
      '{\n',
      `"version": ${EXPORT_FORMAT_VERSION},\n`,
      `"exportedAt": ${JSON.stringify(iso(head.exportedAt))},\n`,
      `"account": ${JSON.stringify(head.account)},\n`,
      `"profile": ${JSON.stringify(head.profile)},\n`,
      '"careerActions": ',
      ...jsonArray(this.actions),
      ',\n"chats": {\n"general": ',
      ...jsonArray(this.general),
      ',\n"debriefs": ',
      ...jsonArray(
        [...this.debriefs].map(([actionId, messages]) => {
          const title = JSON.stringify(this.actionTitles.get(actionId) ?? null)
          return [`{"actionId": ${JSON.stringify(actionId)}, "actionTitle": ${title}, "messages": `, ...jsonArray(messages), '}']
        }),
      ),
      '\n},\n"modelUsage": ',
      ...jsonArray(this.usage),
      `,\n"emailRecords": ${JSON.stringify(emailRecordsNote(EMAIL_RECORD_DAYS))}`,
      '\n}\n',
    ]
    return new Blob(parts, { type: 'application/json' })
  }
}

/** A JSON array of items already written as JSON (a string, or parts of one), one per line. */
function jsonArray(items: (string | string[])[]): string[] {
  if (items.length === 0) return ['[]']
  const parts = ['[\n']
  items.forEach((item, index) => {
    if (index > 0) parts.push(',\n')
    if (typeof item === 'string') parts.push(item)
    else parts.push(...item)
  })
  parts.push('\n]')
  return parts
}

/** Hands each page of a paged read to `onPage`, one page (one transaction) at a time. */
export async function forEachPage<T>(
  readPage: (cursor: string | null) => Promise<{ page: T[]; isDone: boolean; continueCursor: string }>,
  onPage: (page: T[]) => void,
): Promise<void> {
  let cursor: string | null = null
  for (;;) {
    const { page, isDone, continueCursor } = await readPage(cursor)
    onPage(page)
    if (isDone) return
    cursor = continueCursor
  }
}
