// An export file is always deleted, even when the export action dies after storing it and
// before recording it (`finishExport` never runs): the cleanup finds it by the size the
// action wrote down and the window it ran in. The action runs for real; it dies the moment
// its file is stored.
import { afterEach, expect, test, vi } from 'vitest'
import { api } from '../convex/_generated/api'
import { makeUser, seedMessages, setupBackend, type Backend } from './support/backend'

afterEach(() => {
  restoreStorage()
  vi.useRealTimers()
})

const MINUTE = 60 * 1000
const HOUR = 60 * MINUTE

/** Runs the scheduled functions that are due now, and those they schedule to run at once. */
async function runDueFunctions(t: Backend) {
  for (let generation = 0; generation < 50; generation++) {
    vi.advanceTimersByTime(0)
    await t.finishInProgressScheduledFunctions()
  }
}

/**
 * From now on an action that stores a file dies the moment the file is stored: it never gets
 * the storage id back, so nothing after `ctx.storage.store` runs. Convex runs an action's
 * `ctx.storage.store` through `Convex.jsSyscall('storage/storeBlob', ...)`, in a deployment as
 * in convex-test.
 */
function actionDiesOnceFileIsStored() {
  type JsSyscall = (op: string, args: unknown) => Promise<unknown>
  const convex = (globalThis as unknown as { Convex: object }).Convex
  const descriptor = Object.getOwnPropertyDescriptor(convex, 'jsSyscall')!
  const real = () => descriptor.get!.call(convex) as JsSyscall
  Object.defineProperty(convex, 'jsSyscall', {
    ...descriptor,
    get: () => async (op: string, args: unknown) => {
      const result = await real()(op, args)
      if (op === 'storage/storeBlob') throw new Error('the action died')
      return result
    },
  })
  restoreStorage = () => Object.defineProperty(convex, 'jsSyscall', descriptor)
}

let restoreStorage = () => {}

async function storedFiles(t: Backend) {
  return await t.run((ctx) => ctx.db.system.query('_storage').collect())
}

async function exportRows(t: Backend) {
  return await t.run((ctx) => ctx.db.query('accountExports').collect())
}

async function userWithData(t: Backend, name: string) {
  const user = await makeUser(t, { name })
  await seedMessages(t, user.profileId, [{ role: 'user', content: `${name} wants to work on interpretability.` }])
  return user
}

test('a file stored by an export action that died before recording it is deleted when the export expires', async () => {
  vi.useFakeTimers()
  const t = setupBackend()
  const ada = await userWithData(t, 'Ada')
  const bea = await userWithData(t, 'Bea')
  // Bea's export, finished in the same window, keeps its file until its own link expires.
  const beaLink = await bea.as.action(api.account.exportMyData, {})

  actionDiesOnceFileIsStored()
  await expect(ada.as.action(api.account.exportMyData, {})).rejects.toThrow('the action died')
  restoreStorage()

  const files = await storedFiles(t)
  expect(files).toHaveLength(2)
  const [adaRow] = (await exportRows(t)).filter((row) => row.userId === ada.userId)
  expect(adaRow.storageId).toBeUndefined()

  // Past the moment Bea's link expires and Ada's build deadline: both are cleaned up.
  vi.advanceTimersByTime(HOUR)
  await t.finishAllScheduledFunctions(vi.runAllTimers)
  expect(Date.now()).toBeGreaterThan(beaLink.expiresAt)
  expect(await storedFiles(t)).toEqual([])
  expect(await exportRows(t)).toEqual([])
})

test('deleting the account deletes the dead action’s file, and no one else’s file of the same size and time', async () => {
  vi.useFakeTimers()
  const t = setupBackend()
  const ada = await userWithData(t, 'Ada')
  const bea = await userWithData(t, 'Bea')

  actionDiesOnceFileIsStored()
  await expect(ada.as.action(api.account.exportMyData, {})).rejects.toThrow('the action died')
  restoreStorage()
  const [orphan] = await storedFiles(t)

  // Bea exports within the window Ada's action ran in; her file is the same size.
  vi.advanceTimersByTime(5 * MINUTE)
  const beaLink = await bea.as.action(api.account.exportMyData, {})
  const beaFile = (await storedFiles(t)).find((file) => file._id !== orphan._id)!
  expect(beaFile.size).toBe(orphan.size)

  await ada.as.mutation(api.account.deleteMyData, {})
  // Past the latest moment Ada's action could have been running, before Bea's link expires.
  vi.advanceTimersByTime(6 * MINUTE)
  await runDueFunctions(t)
  expect(Date.now()).toBeLessThan(beaLink.expiresAt)
  expect(await storedFiles(t)).toEqual([beaFile])
  expect(await t.run((ctx) => ctx.db.get('users', ada.userId))).toBeNull()
})

test('an account deleted after an export action died leaves no file behind', async () => {
  vi.useFakeTimers()
  const t = setupBackend()
  const ada = await userWithData(t, 'Ada')

  actionDiesOnceFileIsStored()
  await expect(ada.as.action(api.account.exportMyData, {})).rejects.toThrow('the action died')
  restoreStorage()
  expect(await storedFiles(t)).toHaveLength(1)

  await ada.as.mutation(api.account.deleteMyData, {})
  vi.advanceTimersByTime(HOUR)
  await t.finishAllScheduledFunctions(vi.runAllTimers)
  expect(await storedFiles(t)).toEqual([])
  expect(await exportRows(t)).toEqual([])
  expect(await t.run((ctx) => ctx.db.get('users', ada.userId))).toBeNull()
})
