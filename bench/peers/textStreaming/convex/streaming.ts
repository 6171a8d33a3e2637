import { PersistentTextStreaming } from '@convex-dev/persistent-text-streaming'
import { components } from './_generated/api'

export const streamingComponent = new PersistentTextStreaming(components.persistentTextStreaming)
