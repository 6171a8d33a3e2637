// Hand-written stand-in for `convex codegen` output (see server.ts beside it).
import type { ComponentApi } from '@convex-dev/persistent-text-streaming/_generated/component.js'
import { anyApi, componentsGeneric } from 'convex/server'

export const api = anyApi
export const internal = anyApi
/** The component, registered as 'persistentTextStreaming' (its convex-test helper's default). */
export const components = componentsGeneric() as unknown as {
  persistentTextStreaming: ComponentApi<'persistentTextStreaming'>
}
