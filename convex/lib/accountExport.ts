// The export file: what each stored document becomes in it (ISO dates, no internal fields),
// and how the pages read by convex/accountExport.ts are put together into one document.
import { v, type Infer } from 'convex/values'
import type { Doc } from '../_generated/dataModel'
import { actionStatus, actionType, editableProfileFields, messageRole, messageStatus, usageChat } from '../schema'

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
}

/**
 * One document from the pages: the general chat and one debrief per action, each oldest
 * first (messages arrive in the order they were written).
 */
export function buildExportDocument(parts: {
  exportedAt: number
  account: ExportedAccount
  profile: ExportedProfile | null
  careerActions: ExportedAction[]
  messages: ExportedMessage[]
  modelUsage: ExportedUsage[]
}): ExportDocument {
  const titles = new Map(parts.careerActions.map((action) => [action.id, action.title]))
  const general: ExportedMessage[] = []
  const debriefs = new Map<string, ExportedMessage[]>()
  for (const message of parts.messages) {
    if (message.actionId === undefined) general.push(message)
    else {
      const debrief = debriefs.get(message.actionId)
      if (debrief) debrief.push(message)
      else debriefs.set(message.actionId, [message])
    }
  }
  return {
    version: EXPORT_FORMAT_VERSION,
    exportedAt: iso(parts.exportedAt),
    account: parts.account,
    profile: parts.profile,
    careerActions: parts.careerActions,
    chats: {
      general,
      debriefs: [...debriefs].map(([actionId, messages]) => ({
        actionId,
        actionTitle: titles.get(actionId) ?? null,
        messages,
      })),
    },
    modelUsage: parts.modelUsage,
  }
}

/** Every item of a paged read, one page (one transaction) at a time. */
export async function readAllPages<T>(
  readPage: (cursor: string | null) => Promise<{ page: T[]; isDone: boolean; continueCursor: string }>,
): Promise<T[]> {
  const items: T[] = []
  let cursor: string | null = null
  for (;;) {
    const { page, isDone, continueCursor } = await readPage(cursor)
    items.push(...page)
    if (isDone) return items
    cursor = continueCursor
  }
}
