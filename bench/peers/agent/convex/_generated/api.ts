// Hand-written stand-in for `convex codegen` output (see server.ts beside it).
import type { ComponentApi } from '@convex-dev/agent/_generated/component.js'
import { anyApi, componentsGeneric } from 'convex/server'

export const api = anyApi
export const internal = anyApi
/** The agent component, registered as 'agent' (its convex-test helper's default name). */
export const components = componentsGeneric() as unknown as { agent: ComponentApi<'agent'> }
