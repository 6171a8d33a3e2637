// Offline codegen: `convex codegen` without a deployment writes convex/_generated but leaves
// out the `components` export. This adds it for the components in convex/convex.config.ts.
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'

// Each component `app.use(...)`s in convex/convex.config.ts: its name there and its package.
const COMPONENTS = [
  { name: 'rateLimiter', packageName: '@convex-dev/rate-limiter' },
  { name: 'shardedCounter', packageName: '@convex-dev/sharded-counter' },
  { name: 'resend', packageName: '@convex-dev/resend' },
]

const config = readFileSync('convex/convex.config.ts', 'utf8')
for (const { packageName } of COMPONENTS) {
  if (!config.includes(`'${packageName}/convex.config'`)) {
    throw new Error(`scripts/codegen.mjs lists ${packageName}, but convex/convex.config.ts does not use it`)
  }
}
const used = config.match(/app\.use\(/g)?.length ?? 0
if (used !== COMPONENTS.length) {
  throw new Error(`convex/convex.config.ts uses ${used} components; scripts/codegen.mjs lists ${COMPONENTS.length}`)
}

execFileSync('npx', ['convex', 'codegen', '--system-udfs', '--typecheck', 'disable'], {
  stdio: 'inherit',
})

function patch(file, marker, addition) {
  const path = `convex/_generated/${file}`
  const text = readFileSync(path, 'utf8')
  if (!text.includes(marker)) throw new Error(`${path} no longer contains: ${marker}`)
  writeFileSync(path, text.replace(marker, () => marker + addition))
}

const componentTypes = COMPONENTS.map(
  ({ name, packageName }) =>
    `  ${name}: import("${packageName}/_generated/component.js").ComponentApi<"${name}">;`,
).join('\n')

patch(
  'api.d.ts',
  `export declare const internal: FilterApi<
  typeof fullApi,
  FunctionReference<any, "internal">
>;`,
  `

export declare const components: {
${componentTypes}
};`,
)
patch('api.js', 'export const internal = anyApi;', '\nexport const components = componentsGeneric();')
patch('api.js', 'import { anyApi } from "convex/server";', '\nimport { componentsGeneric } from "convex/server";')
