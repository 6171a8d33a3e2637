import { defineApp } from 'convex/server'
import rateLimiter from '@convex-dev/rate-limiter/convex.config'
import shardedCounter from '@convex-dev/sharded-counter/convex.config'

const app = defineApp()
app.use(rateLimiter)
app.use(shardedCounter)

export default app
