// Reading back what a test's calls stored, beyond the chat messages (see messagesOf).
import type { Backend } from './fixtures'

/** Every modelUsage row, in insertion order. */
export async function modelUsageRows(t: Backend) {
  return await t.run(async (ctx) => ctx.db.query('modelUsage').collect())
}

export type RateLimiterRow = { name: string; key?: string }

/** The rate limiter component's stored state; convex-test reads a component's tables but does not type that. */
export async function rateLimiterRows(t: Backend): Promise<RateLimiterRow[]> {
  const component = t as unknown as {
    runInComponent(
      path: string,
      read: (ctx: { db: { query(table: string): { collect(): Promise<RateLimiterRow[]> } } }) => Promise<RateLimiterRow[]>,
    ): Promise<RateLimiterRow[]>
  }
  return await component.runInComponent('rateLimiter', (ctx) => ctx.db.query('rateLimits').collect())
}
