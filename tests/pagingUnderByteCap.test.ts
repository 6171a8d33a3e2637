// The export and deletion loops read pages that `maximumBytesRead` may cut short, and assume
// such a page still makes progress (at least one document) and ends with a cursor that goes
// on right after its last document. convex-test honours `maximumBytesRead` as a deployment
// does (the document that crosses the cap is returned, then the page stops), so these pin
// what the loops rely on; docs/architecture says what Convex itself guarantees.
import { expect, test } from 'vitest'
import { internal } from '../convex/_generated/api'
import type { Id } from '../convex/_generated/dataModel'
import { EXPORT_PAGE_BYTES, EXPORT_PAGE_ROWS, forEachPage } from '../convex/lib/account/exportFile'
import { makeUser, setupBackend, type Backend } from './support/backend'

/** `count` messages of `chars` 3-byte characters each, oldest first. */
async function seedLongMessages(t: Backend, profileId: Id<'profiles'>, count: number, chars: number) {
  for (let start = 0; start < count; start += 100) {
    await t.run(async (ctx) => {
      for (let index = start; index < Math.min(count, start + 100); index++) {
        const content = `${index}:${'界'.repeat(chars)}`
        await ctx.db.insert('enrichmentMessages', { profileId, role: 'user', content, createdAt: 1_000 + index })
      }
    })
  }
}

test('export pages cut by bytes are never empty and go on right after their last message', async () => {
  const t = setupBackend()
  const ada = await makeUser(t, { name: 'Ada' })
  // 600 messages of about 15 KB: 9 MB, so the 4 MiB cap cuts pages long before 1,000 rows.
  await seedLongMessages(t, ada.profileId, 600, 5_000)
  const exportId = await ada.as.mutation(internal.accountExport.beginExport, {})

  const pages: { length: number; pageStatus?: string | null }[] = []
  const contents: string[] = []
  await forEachPage(
    async (cursor) => {
      const result = await ada.as.query(internal.accountExport.readMessagesPage, { exportId, profileId: ada.profileId, cursor })
      pages.push({ length: result.page.length, pageStatus: result.pageStatus })
      return result
    },
    (page) => contents.push(...page.map((message) => message.content.split(':')[0])),
  )

  expect(pages.length).toBeGreaterThan(2)
  for (const page of pages.slice(0, -1)) {
    expect(page.length).toBeGreaterThan(0)
    expect(page.length).toBeLessThan(EXPORT_PAGE_ROWS)
    expect(page.pageStatus).toBe('SplitRequired')
  }
  // A page stops at the document that reaches the cap: about 4 MiB of 15 KB messages.
  expect(pages[0].length).toBeGreaterThanOrEqual(Math.floor(EXPORT_PAGE_BYTES / (5_000 * 3 + 200)))
  expect(pages[0].length).toBeLessThanOrEqual(Math.ceil(EXPORT_PAGE_BYTES / (5_000 * 3)))
  // Every message once, in order: nothing skipped at a cut, nothing read twice.
  expect(contents).toEqual(Array.from({ length: 600 }, (_, index) => String(index)))
})

test('a cap smaller than one document still returns that document, so a loop always makes progress', async () => {
  const t = setupBackend()
  const ada = await makeUser(t, { name: 'Ada' })
  await seedLongMessages(t, ada.profileId, 5, 10)

  const pageLengths: number[] = []
  const read: string[] = []
  await forEachPage(
    (cursor) =>
      t.run((ctx) =>
        ctx.db
          .query('enrichmentMessages')
          .withIndex('by_profile', (q) => q.eq('profileId', ada.profileId))
          .paginate({ numItems: 100, cursor, maximumBytesRead: 1 }),
      ),
    (page) => {
      pageLengths.push(page.length)
      read.push(...page.map((message) => message.content.split(':')[0]))
    },
  )

  expect(pageLengths.slice(0, 5)).toEqual([1, 1, 1, 1, 1])
  expect(read).toEqual(['0', '1', '2', '3', '4'])
})
