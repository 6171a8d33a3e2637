// Used only by `npm run mutate` (vitest.mutation.config.mjs). convex-test imports a module the
// first time a test calls into it, so a mutant in module-level code (a constant, a table built
// at load) would be credited to whichever test happened to load it first and then run against
// that test alone. Importing the mutated files here, before any test, makes Stryker see such
// mutants as static and run every test against them.
import '../../convex/ai/claude'
import '../../convex/enrichment/turns'
import '../../convex/enrichment/conversation'
import '../../convex/enrichment/liveWriter'
import '../../convex/enrichment/history'
import '../../convex/enrichment/extractionResult'
import '../../convex/enrichment/prompts'
import '../../convex/careerActions/mutations'
import '../../convex/lib/auth'
import '../../convex/lib/limits'
import '../../convex/profiles'
