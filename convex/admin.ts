// The operator's report: what the model costs, by day, week or month, model and chat, and the
// top users of a day. Public for operators (ADMIN_EMAILS), internal twins for `npx convex run`.
import { v } from 'convex/values'
import { internal } from './_generated/api'
import type { Id } from './_generated/dataModel'
import { internalMutation, internalQuery, query } from './_generated/server'
import { findModelPrice, ModelPricesError, priceCall } from './ai/prices'
import { requireOperator } from './lib/report/operators'
import {
  addToUsageReport,
  granularity,
  readTopUsers,
  readUsageReport,
  topUsersResult,
  usageReportResult,
  type CountedUsage,
} from './lib/report/rollups'

const reportArgs = { from: v.number(), to: v.number(), granularity }

export const usageReport = query({
  args: reportArgs,
  returns: usageReportResult,
  handler: async (ctx, args) => {
    await requireOperator(ctx)
    return await readUsageReport(ctx, args)
  },
})

export const topUsers = query({
  args: { day: v.string() },
  returns: topUsersResult,
  handler: async (ctx, { day }) => {
    await requireOperator(ctx)
    return await readTopUsers(ctx, day)
  },
})

/** `npx convex run admin:usageReportInternal '{"from": ..., "to": ..., "granularity": "week"}'` */
export const usageReportInternal = internalQuery({
  args: reportArgs,
  returns: usageReportResult,
  handler: async (ctx, args) => await readUsageReport(ctx, args),
})

/** `npx convex run admin:topUsersInternal '{"day": "2026-11-23"}'` */
export const topUsersInternal = internalQuery({
  args: { day: v.string() },
  returns: topUsersResult,
  handler: async (ctx, { day }) => await readTopUsers(ctx, day),
})

// ---- Backfill: prices the rows written before prices existed and counts them in the report ----

/** Rows per batch: each counted row writes itself and at most two report documents. */
export const BACKFILL_BATCH = 500

const backfillState = v.object({
  runId: v.number(),
  status: v.union(v.literal('running'), v.literal('done'), v.literal('stopped')),
  rowsSeen: v.number(),
  rowsCounted: v.number(),
  note: v.optional(v.string()),
})

/**
 * Starts the backfill, or resumes it where it stopped. A row is counted exactly when it is
 * given its cost, in one transaction, so running this again (or while live calls are being
 * counted) counts nothing twice. `fromStart` rescans every row (finding nothing new to count
 * once the backfill has finished).
 */
export const backfillUsageReport = internalMutation({
  args: { fromStart: v.optional(v.boolean()) },
  returns: v.object({ runId: v.number(), resumed: v.boolean() }),
  handler: async (ctx, { fromStart }) => {
    const state = await ctx.db.query('usageReportBackfill').first()
    const resumed = !fromStart && state !== null && state.status !== 'done' && state.cursor !== null
    const runId = (state?.runId ?? 0) + 1
    const fields = {
      runId,
      status: 'running' as const,
      cursor: resumed ? state.cursor : null,
      rowsSeen: resumed ? state.rowsSeen : 0,
      rowsCounted: resumed ? state.rowsCounted : 0,
      updatedAt: Date.now(),
    }
    if (state) await ctx.db.replace('usageReportBackfill', state._id, fields)
    else await ctx.db.insert('usageReportBackfill', fields)
    // A chain still running under an older runId sees the new one and stops.
    await ctx.scheduler.runAfter(0, internal.admin.backfillUsageReportBatch, { runId, cursor: fields.cursor })
    return { runId, resumed }
  },
})

export const backfillUsageReportBatch = internalMutation({
  args: { runId: v.number(), cursor: v.union(v.string(), v.null()) },
  returns: v.null(),
  handler: async (ctx, { runId, cursor }) => {
    const state = await ctx.db.query('usageReportBackfill').first()
    if (!state || state.runId !== runId || state.status !== 'running') return null
    const page = await ctx.db.query('modelUsage').paginate({ cursor, numItems: BACKFILL_BATCH })

    const counted: (CountedUsage & { _id: Id<'modelUsage'> })[] = []
    for (const row of page.page) {
      if (row.costMicroUsd !== undefined) continue // counted when written, or by an earlier run
      let problem: string | undefined
      try {
        const price = findModelPrice(row.model)
        if (price) counted.push({ ...row, costMicroUsd: priceCall(price, row) })
        else problem = `model "${row.model}" has no price: add it to MODEL_PRICES`
      } catch (error) {
        if (!(error instanceof ModelPricesError)) throw error
        problem = error.message
      }
      if (problem) {
        // Nothing of this batch is counted; the cursor stays before it, so a rerun resumes here.
        const note = `Stopped: ${problem}, then run admin:backfillUsageReport again to resume.`
        console.error(`Usage report backfill ${note}`)
        await ctx.db.patch('usageReportBackfill', state._id, { status: 'stopped', note, updatedAt: Date.now() })
        return null
      }
    }
    for (const row of counted) {
      await ctx.db.patch('modelUsage', row._id, { costMicroUsd: row.costMicroUsd })
    }
    await addToUsageReport(ctx, counted)

    await ctx.db.patch('usageReportBackfill', state._id, {
      status: page.isDone ? 'done' : 'running',
      cursor: page.continueCursor,
      rowsSeen: state.rowsSeen + page.page.length,
      rowsCounted: state.rowsCounted + counted.length,
      updatedAt: Date.now(),
    })
    if (!page.isDone) {
      await ctx.scheduler.runAfter(0, internal.admin.backfillUsageReportBatch, { runId, cursor: page.continueCursor })
    }
    return null
  },
})

/** `npx convex run admin:backfillUsageReportStatus`: progress of the latest run, or null before the first. */
export const backfillUsageReportStatus = internalQuery({
  args: {},
  returns: v.union(backfillState, v.null()),
  handler: async (ctx) => {
    const state = await ctx.db.query('usageReportBackfill').first()
    if (!state) return null
    const { runId, status, rowsSeen, rowsCounted, note } = state
    return { runId, status, rowsSeen, rowsCounted, ...(note !== undefined && { note }) }
  },
})
