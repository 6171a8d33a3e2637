import { defineApp } from 'convex/server'
import rateLimiter from '@convex-dev/rate-limiter/convex.config'
import resend from '@convex-dev/resend/convex.config'
import shardedCounter from '@convex-dev/sharded-counter/convex.config'

const app = defineApp()
app.use(rateLimiter)
app.use(shardedCounter)
// The account emails' durable queue toward Resend (lib/account/emailQueue.ts).
app.use(resend)

export default app
