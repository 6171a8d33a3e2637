// npm run docs: writes the function reference into docs/api.md from the registered functions
// themselves, and checks the two tables that must match the code:
//  - docs/api.md: every PUBLIC query, mutation and action, with its arguments and result rendered
//    from its own validators (exportArgs()/exportReturns()), each beside its description from
//    docs/api-descriptions.md; the HTTP routes from convex/http.ts.
//  - docs/operations.md: the environment-variable table lists exactly the variables convex/ reads
//    (plus those a listed library reads on the backend's behalf).
//  - docs/architecture.md: the map lists exactly the files and folders under convex/.
// `npm run docs:check` (CI) writes nothing and fails when docs/api.md is not what it would write.
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { pathToFileURL } from 'node:url'

const ROOT = join(import.meta.dirname, '..')
const CONVEX = join(ROOT, 'convex')
const API_DOC = join(ROOT, 'docs/api.md')
const DESCRIPTIONS = join(ROOT, 'docs/api-descriptions.md')
const OPERATIONS_DOC = join(ROOT, 'docs/operations.md')
const ARCHITECTURE_DOC = join(ROOT, 'docs/architecture.md')

const check = process.argv.includes('--check')
const problems: string[] = []

/** Every file under a folder, as paths relative to ROOT, `_generated/`'s contents left out. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name)
      if (statSync(path).isDirectory()) return name === '_generated' ? [] : filesUnder(path)
      return [relative(ROOT, path)]
    })
}

/** The text between `<!-- name:start -->` and `<!-- name:end -->`. */
function between(text: string, name: string, file: string): { before: string; inside: string; after: string } {
  const start = `<!-- ${name}:start -->`
  const end = `<!-- ${name}:end -->`
  const from = text.indexOf(start)
  const to = text.indexOf(end)
  if (from < 0 || to < from) throw new Error(`${file} must contain ${start} and, after it, ${end}`)
  return {
    before: text.slice(0, from + start.length),
    inside: text.slice(from + start.length, to),
    after: text.slice(to),
  }
}

// ---------------------------------------------------------------------------------------------
// Validators as readable types

type ValidatorJson =
  | { type: 'null' | 'number' | 'bigint' | 'boolean' | 'string' | 'bytes' | 'any' }
  | { type: 'literal'; value: unknown }
  | { type: 'id'; tableName: string }
  | { type: 'array'; value: ValidatorJson }
  | { type: 'record'; keys: ValidatorJson; values: { fieldType: ValidatorJson } }
  | { type: 'object'; value: Record<string, { fieldType: ValidatorJson; optional: boolean }> }
  | { type: 'union'; value: ValidatorJson[] }

const WIDTH = 88

const quoteKey = (key: string) => (/^[A-Za-z_$][\w$]*$/.test(key) ? key : JSON.stringify(key))

function renderType(v: ValidatorJson, indent = ''): string {
  switch (v.type) {
    case 'null':
    case 'number':
    case 'boolean':
    case 'string':
    case 'any':
      return v.type
    case 'bigint':
      return 'bigint'
    case 'bytes':
      return 'ArrayBuffer'
    case 'literal':
      return typeof v.value === 'string' ? `'${v.value}'` : JSON.stringify(v.value)
    case 'id':
      return `Id<'${v.tableName}'>`
    case 'array': {
      const item = renderType(v.value, indent)
      return v.value.type === 'union' ? `(${item})[]` : `${item}[]`
    }
    case 'record':
      return `Record<${renderType(v.keys, indent)}, ${renderType(v.values.fieldType, indent)}>`
    case 'union': {
      const oneLine = v.value.map((member) => renderType(member, indent)).join(' | ')
      if (!oneLine.includes('\n') && indent.length + oneLine.length <= WIDTH) return oneLine
      const inner = indent + '  '
      return v.value.map((member) => `\n${inner}| ${renderType(member, inner + '  ')}`).join('')
    }
    case 'object': {
      const entries = Object.entries(v.value)
      if (entries.length === 0) return '{}'
      const field = (key: string, f: { fieldType: ValidatorJson; optional: boolean }, at: string) =>
        `${quoteKey(key)}${f.optional ? '?' : ''}: ${renderType(f.fieldType, at)}`
      const oneLine = `{ ${entries.map(([key, f]) => field(key, f, indent)).join('; ')} }`
      if (!oneLine.includes('\n') && indent.length + oneLine.length <= WIDTH) return oneLine
      const inner = indent + '  '
      return `{\n${entries.map(([key, f]) => `${inner}${field(key, f, inner)}`).join('\n')}\n${indent}}`
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The registered functions

type Registered = {
  isQuery?: boolean
  isMutation?: boolean
  isAction?: boolean
  isPublic?: boolean
  exportArgs(): string
  exportReturns(): string
}

type PublicFunction = { path: string; kind: 'query' | 'mutation' | 'action'; args: string; returns: string | null }

/** Modules Convex does not register functions from (configuration), or that only build the router. */
const NOT_FUNCTION_MODULES = new Set(['convex/convex.config.ts', 'convex/auth.config.ts', 'convex/schema.ts', 'convex/http.ts'])

async function publicFunctions(): Promise<PublicFunction[]> {
  const found: PublicFunction[] = []
  for (const file of filesUnder(CONVEX)) {
    if (!file.endsWith('.ts') || NOT_FUNCTION_MODULES.has(file) || file.startsWith('convex/lib/')) continue
    const module = (await import(pathToFileURL(join(ROOT, file)).href)) as Record<string, unknown>
    const modulePath = file.slice('convex/'.length, -'.ts'.length)
    for (const [name, value] of Object.entries(module)) {
      const fn = value as Registered | null
      if (!fn || typeof fn !== 'function' && typeof fn !== 'object') continue
      const kind = fn.isQuery ? 'query' : fn.isMutation ? 'mutation' : fn.isAction ? 'action' : null
      if (!kind || !fn.isPublic) continue
      const returns = JSON.parse(fn.exportReturns()) as ValidatorJson | null
      found.push({
        path: `${modulePath}:${name}`,
        kind,
        args: renderType(JSON.parse(fn.exportArgs()) as ValidatorJson),
        returns: returns === null ? null : renderType(returns),
      })
    }
  }
  return found.sort((a, b) => a.path.localeCompare(b.path))
}

async function httpRoutes(): Promise<string[]> {
  const { default: http } = (await import(pathToFileURL(join(CONVEX, 'http.ts')).href)) as {
    default: { getRoutes(): (readonly [string, string, unknown])[] }
  }
  return http.getRoutes().map(([path, method]) => `${method} ${path}`)
}

/** docs/api-descriptions.md: `## path` headings, each followed by its description. */
function readDescriptions(): Map<string, string> {
  const text = readFileSync(DESCRIPTIONS, 'utf8')
  const descriptions = new Map<string, string>()
  const sections = text.split(/^## /m).slice(1)
  for (const section of sections) {
    const newline = section.indexOf('\n')
    const heading = section.slice(0, newline).trim().replace(/^`|`$/g, '')
    const body = section.slice(newline + 1).trim()
    if (descriptions.has(heading)) problems.push(`docs/api-descriptions.md describes ${heading} twice`)
    if (!body) problems.push(`docs/api-descriptions.md: ${heading} has an empty description`)
    descriptions.set(heading, body)
  }
  return descriptions
}

function renderReference(functions: PublicFunction[], routes: string[], descriptions: Map<string, string>): string {
  const lines: string[] = [
    '',
    '<!-- Generated by `npm run docs` from the registered functions and docs/api-descriptions.md: edit those, not this section. -->',
    '',
  ]
  let group = ''
  for (const fn of functions) {
    const module = fn.path.split(':')[0]
    if (module !== group) {
      group = module
      lines.push(`### \`${module}\``, '')
    }
    lines.push(`#### \`${fn.path}\` (${fn.kind})`, '')
    lines.push('```ts')
    lines.push(`args: ${fn.args}`)
    lines.push(fn.returns === null ? 'returns: (not validated)' : `returns: ${fn.returns}`)
    lines.push('```', '')
    lines.push(descriptions.get(fn.path) ?? '', '')
  }
  lines.push('### HTTP routes (`convex/http.ts`)', '')
  lines.push(...routes.map((route) => `- \`${route}\``), '')
  lines.push(descriptions.get('http') ?? '', '')
  return lines.join('\n')
}

// ---------------------------------------------------------------------------------------------
// The environment variables

/** Variables read in convex/: env.X, env['X'], process.env.X, and env[name] with `name` a union of literals. */
function variablesReadInConvex(): Map<string, Set<string>> {
  const read = new Map<string, Set<string>>()
  const note = (name: string, file: string) => read.set(name, (read.get(name) ?? new Set()).add(file))
  for (const file of filesUnder(CONVEX).filter((f) => f.endsWith('.ts'))) {
    const text = readFileSync(join(ROOT, file), 'utf8')
    for (const match of text.matchAll(/\benv\s*(?:\?\.|\.)\s*([A-Za-z_][A-Za-z0-9_]*)/g)) note(match[1], file)
    for (const match of text.matchAll(/\benv\s*(?:\?\.)?\[\s*(['"`])([A-Za-z_][A-Za-z0-9_]*)\1\s*\]/g)) note(match[2], file)
    const dynamic = [...text.matchAll(/\benv\s*(?:\?\.)?\[\s*([A-Za-z_$][\w$]*)\s*\]/g)]
    if (dynamic.length > 0) {
      // A read through a variable: the names it can take are the literals of a union type in the file.
      const unions = [...text.matchAll(/'([A-Z][A-Z0-9_]*)'(?:\s*\|\s*'([A-Z][A-Z0-9_]*)')+/g)]
      const names = unions.flatMap((union) => [...union[0].matchAll(/'([A-Z][A-Z0-9_]*)'/g)].map((m) => m[1]))
      if (names.length === 0) {
        problems.push(
          `${file} reads env[${dynamic[0][1]}]: declare the names it can read as a union type of string literals ('A' | 'B') so the environment table can be checked`,
        )
      }
      for (const name of names) note(name, file)
    }
  }
  return read
}

/** Packages whose code reads a variable for the backend (the table names them in its "read by" column). */
function packageReads(packageName: string, variable: string): boolean {
  const dir = join(ROOT, 'node_modules', packageName, 'dist')
  if (!existsSync(dir)) return false
  const stack = [dir]
  while (stack.length > 0) {
    const current = stack.pop()!
    for (const name of readdirSync(current)) {
      const path = join(current, name)
      if (statSync(path).isDirectory()) stack.push(path)
      else if (name.endsWith('.js') && readFileSync(path, 'utf8').includes(variable)) return true
    }
  }
  return false
}

function checkEnvironmentTable() {
  const { inside } = between(readFileSync(OPERATIONS_DOC, 'utf8'), 'env-table', 'docs/operations.md')
  const rows = inside
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => line.split('|').map((cell) => cell.trim()))
  const listed = new Map<string, string>() // name -> its "read by" cell
  for (const cells of rows) {
    const name = cells[1].replace(/`/g, '')
    if (listed.has(name)) problems.push(`docs/operations.md lists ${name} twice`)
    listed.set(name, cells[2])
  }
  const read = variablesReadInConvex()
  for (const [name, files] of read) {
    if (!listed.has(name)) {
      problems.push(`convex/ reads ${name} (${[...files].join(', ')}) but docs/operations.md's environment table does not list it`)
    }
  }
  for (const [name, readBy] of listed) {
    if (read.has(name)) continue
    const packages = [...readBy.matchAll(/`(@?[\w.-]+(?:\/[\w.-]+)?)`/g)].map((m) => m[1]).filter((p) => !p.includes('.ts'))
    if (!packages.some((p) => packageReads(p, name))) {
      problems.push(`docs/operations.md lists ${name}, but nothing in convex/ (or a package its row names) reads it`)
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The map of convex/

function checkArchitectureMap() {
  const { inside } = between(readFileSync(ARCHITECTURE_DOC, 'utf8'), 'map', 'docs/architecture.md')
  const named = new Set<string>()
  const folders: string[] = []
  for (const line of inside.split('\n')) {
    const match = line.match(/^( *)- `([^`]+)`/)
    if (!match) continue
    const depth = match[1].length / 2
    folders.length = depth
    const path = [...folders, match[2]].join('')
    if (match[2].endsWith('/')) folders[depth] = match[2]
    named.add(path.replace(/\/$/, ''))
    const full = join(ROOT, path)
    if (!existsSync(full)) problems.push(`docs/architecture.md's map names ${path}, which does not exist`)
  }
  for (const file of filesUnder(CONVEX)) {
    if (!named.has(file)) problems.push(`${file} is missing from docs/architecture.md's map`)
  }
}

// ---------------------------------------------------------------------------------------------

const functions = await publicFunctions()
const routes = await httpRoutes()
const descriptions = readDescriptions()
for (const fn of functions) {
  if (!descriptions.has(fn.path)) {
    problems.push(`${fn.path} (public ${fn.kind}) has no description: add a "## ${fn.path}" section to docs/api-descriptions.md`)
  }
}
const known = new Set([...functions.map((fn) => fn.path), 'http'])
for (const path of descriptions.keys()) {
  if (!known.has(path)) problems.push(`docs/api-descriptions.md describes ${path}, which is not a registered public function`)
}
checkEnvironmentTable()
checkArchitectureMap()

const current = readFileSync(API_DOC, 'utf8')
const { before, after } = between(current, 'reference', 'docs/api.md')
const written = before + renderReference(functions, routes, descriptions) + after
if (check) {
  if (written !== current) problems.push('docs/api.md is not what `npm run docs` writes: run it and commit the result')
} else if (problems.length === 0 && written !== current) {
  writeFileSync(API_DOC, written)
  console.log(`docs/api.md: reference rewritten (${functions.length} public functions)`)
}

if (problems.length > 0) {
  for (const problem of problems) console.error(`docs: ${problem}`)
  process.exit(1)
}
console.log(`docs: ${functions.length} public functions described; environment table and map match convex/`)
process.exit(0)
