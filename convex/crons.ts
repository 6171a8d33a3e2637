// Scheduled jobs of the deployment.
import { cronJobs } from 'convex/server'
import { internal } from './_generated/api'
import { CEILING_SNAPSHOT_INTERVAL_MS } from './lib/spending/ceilings'

const crons = cronJobs()

// The daily ceilings' snapshot: the check before every model call reads it (one document only
// this job writes) instead of the counter shards that every finishing call writes.
crons.interval(
  'sum the daily ceilings',
  { seconds: CEILING_SNAPSHOT_INTERVAL_MS / 1000 },
  internal.ceilings.refreshCeilingSnapshot,
  {},
)

// Account emails (address, code) are kept no longer than EMAIL_RECORD_DAYS; see accountEmails.ts.
crons.hourly('remove old account emails', { minuteUTC: 17 }, internal.accountEmails.removeOldEmails, {})

export default crons
