import { cronJobs } from 'convex/server'
import { internal } from './_generated/api'

const crons = cronJobs()

// Account emails (address, code) are kept no longer than EMAIL_RECORD_DAYS; see accountEmails.ts.
crons.hourly('remove old account emails', { minuteUTC: 17 }, internal.accountEmails.removeOldEmails, {})

export default crons
