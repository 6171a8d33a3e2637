import { httpRouter } from 'convex/server'
import { resendWebhook } from './accountEmails'
import { auth } from './auth'

const http = httpRouter()
auth.addHttpRoutes(http)
// Resend's delivery events (bounces, spam reports) for the account emails.
http.route({ path: '/resend-webhook', method: 'POST', handler: resendWebhook })

export default http
