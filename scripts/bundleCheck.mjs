// Bundles convex/ the way `npx convex deploy` does (esbuild, ESM, the "convex" and "module"
// conditions; the Convex runtime as a browser-like platform, "use node" files for Node), so an
// import that would fail on a deployment fails CI instead. Writes nothing.
import { build } from 'esbuild'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'

const dir = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', 'convex')

function* sourceFiles(folder) {
  for (const name of readdirSync(folder)) {
    const full = path.join(folder, name)
    if (statSync(full).isDirectory()) {
      if (name !== '_generated' && !name.startsWith('.')) yield* sourceFiles(full)
    } else if (/^[^.]+\.(ts|js)$/.test(name)) {
      yield full
    }
  }
}

const usesNode = (file) => /^\s*(["'])use node\1/m.test(readFileSync(file, 'utf8').split('\n').slice(0, 5).join('\n'))
const files = [...sourceFiles(dir)]
const groups = {
  browser: files.filter((file) => !usesNode(file)),
  node: files.filter(usesNode),
}

let failed = false
for (const [platform, entryPoints] of Object.entries(groups)) {
  if (entryPoints.length === 0) continue
  try {
    await build({
      entryPoints,
      bundle: true,
      platform,
      format: 'esm',
      target: 'esnext',
      outdir: 'out',
      outbase: dir,
      conditions: ['convex', 'module'],
      write: false,
      splitting: true,
      logLevel: 'error',
      // The Convex runtime provides AsyncLocalStorage itself (Convex's bundler shims it too).
      external: platform === 'browser' ? ['async_hooks', 'node:async_hooks'] : [],
    })
    console.log(`bundled ${entryPoints.length} ${platform === 'node' ? 'Node' : 'Convex runtime'} files`)
  } catch {
    failed = true
  }
}
if (failed) {
  console.error('convex/ does not bundle the way a deployment would (see the errors above)')
  process.exit(1)
}
