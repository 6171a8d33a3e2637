// Hand-written stand-in for `convex codegen` output: this bench-only app is never deployed,
// and convex-test finds an app's root by its _generated folder.
export {
  actionGeneric as action,
  internalActionGeneric as internalAction,
  internalMutationGeneric as internalMutation,
  internalQueryGeneric as internalQuery,
  mutationGeneric as mutation,
  queryGeneric as query,
} from 'convex/server'
