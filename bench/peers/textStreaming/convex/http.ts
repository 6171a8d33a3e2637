import { httpRouter } from 'convex/server'
import { streamChat } from './chat'

const http = httpRouter()
http.route({ path: '/chat-stream', method: 'POST', handler: streamChat })
export default http
