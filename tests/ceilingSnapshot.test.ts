// The daily ceilings' snapshot: the check before a model call reads one document the cron
// writes (ceilings:refreshCeilingSnapshot), not the counter shards every finishing call writes.
// What it costs is stated here: spending after the last snapshot is not seen until the next one
// (at most CEILING_SNAPSHOT_MAX_AGE_MS, after which the check sums the shards itself).
import { afterEach, describe, expect, test } from 'vitest'
import { internal } from '../convex/_generated/api'
import {
  CEILING_SNAPSHOT_INTERVAL_MS,
  CEILING_SNAPSHOT_MAX_AGE_MS,
  recordModelSpend,
  spentToday,
  type BudgetExhaustedError,
} from '../convex/lib/spending/ceilings'
import cronJobs from '../convex/crons'
import { convexErrorOf, openChat, setupBackend, useModelServer, type Backend } from './support/backend'

const server = useModelServer()

afterEach(() => {
  delete process.env.MODEL_DAILY_TOKEN_BUDGET
  delete process.env.MODEL_DAILY_BUDGET_USD
})

async function spend(t: Backend, tokens: number, costMicroUsd?: number) {
  await t.run(async (ctx) => recordModelSpend(ctx, { inputTokens: tokens, outputTokens: 0 }, costMicroUsd))
}

const refresh = (t: Backend) => t.mutation(internal.ceilings.refreshCeilingSnapshot, {})
const today = () => new Date().toISOString().substring(0, 10)

describe('the ceiling snapshot', () => {
  test('sums every shard of both ceilings, and drops the snapshots of earlier days', async () => {
    const t = setupBackend()
    for (let call = 0; call < 20; call++) await spend(t, 100 + call, 1_000 + call)
    await t.run(async (ctx) => {
      await ctx.db.insert('ceilingSnapshots', { day: '2020-01-01', modelTokensPerDay: 5, modelMicroUsdPerDay: 5, takenAt: 1 })
    })
    const totals = await refresh(t)
    const exact = await t.run(async (ctx) => ({
      modelTokensPerDay: await spentToday(ctx, 'modelTokensPerDay'),
      modelMicroUsdPerDay: await spentToday(ctx, 'modelMicroUsdPerDay'),
    }))
    expect(totals).toEqual({ modelTokensPerDay: 20 * 100 + 190, modelMicroUsdPerDay: 20 * 1_000 + 190 })
    expect(totals).toEqual(exact)
    const stored = await t.run(async (ctx) => ctx.db.query('ceilingSnapshots').collect())
    expect(stored).toMatchObject([{ day: today(), ...totals }])
  })

  test('a fresh snapshot decides the check: spending after it is seen at the next snapshot (the designed overshoot)', async () => {
    process.env.MODEL_DAILY_TOKEN_BUDGET = '1000'
    const t = setupBackend()
    const chat = await openChat(t, 'general')
    await refresh(t)
    await spend(t, 5_000) // far past the ceiling, after the snapshot
    server().reply({ kind: 'text', text: 'Still answered: the snapshot said 0.' })
    expect((await chat.send('Hello')).message).toBe('Still answered: the snapshot said 0.')

    await refresh(t)
    const refused = await convexErrorOf<BudgetExhaustedError>(chat.send('Hello again'))
    expect(refused).toMatchObject({ code: 'BUDGET_EXHAUSTED', limit: 'modelTokensPerDay' })
    expect(server().requests).toHaveLength(1)
  })

  test('a snapshot older than its maximum age is not trusted: the check sums the shards', async () => {
    process.env.MODEL_DAILY_TOKEN_BUDGET = '1000'
    const t = setupBackend()
    const chat = await openChat(t, 'general')
    await spend(t, 5_000)
    await t.run(async (ctx) => {
      await ctx.db.insert('ceilingSnapshots', {
        day: today(),
        modelTokensPerDay: 0,
        modelMicroUsdPerDay: 0,
        takenAt: Date.now() - CEILING_SNAPSHOT_MAX_AGE_MS - 1_000,
      })
    })
    const refused = await convexErrorOf<BudgetExhaustedError>(chat.send('Hello'))
    expect(refused).toMatchObject({ code: 'BUDGET_EXHAUSTED', limit: 'modelTokensPerDay' })
    expect(server().requests).toHaveLength(0)
  })

  test('the dollar ceiling is read from the same snapshot', async () => {
    process.env.MODEL_DAILY_BUDGET_USD = '0.5'
    const t = setupBackend()
    const chat = await openChat(t, 'debrief')
    await spend(t, 0, 500_000)
    await refresh(t)
    const refused = await convexErrorOf<BudgetExhaustedError>(chat.send('I finished it'))
    expect(refused).toMatchObject({ code: 'BUDGET_EXHAUSTED', limit: 'modelMicroUsdPerDay' })
  })

  test('the cron refreshes it every CEILING_SNAPSHOT_INTERVAL_MS, well inside the maximum age', () => {
    const jobs = Object.values((cronJobs as unknown as { crons: Record<string, { name: string; schedule: unknown }> }).crons)
    expect(jobs.filter((job) => job.name === 'ceilings:refreshCeilingSnapshot')).toEqual([
      expect.objectContaining({
        name: 'ceilings:refreshCeilingSnapshot',
        schedule: { type: 'interval', seconds: CEILING_SNAPSHOT_INTERVAL_MS / 1000 },
      }),
    ])
    expect(CEILING_SNAPSHOT_MAX_AGE_MS).toBeGreaterThanOrEqual(2 * CEILING_SNAPSHOT_INTERVAL_MS)
  })
})

