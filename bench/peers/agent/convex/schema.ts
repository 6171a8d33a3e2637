// The app keeps no tables of its own: threads, messages and stream deltas live in the component.
import { defineSchema } from 'convex/server'

export default defineSchema({})
