// `pnpm build` (root): the console's production build into packages/console/dist, skipped when the build there
// was made from the same sources (a hash of them is kept in dist/.sources). `pnpm start`, CI and the console
// tests call ensureConsoleBuilt(); `--force` rebuilds anyway.
import { createHash } from 'node:crypto'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const dist = join(root, 'dist')
const STAMP = join(dist, '.sources')
/** Everything the bundle is made of: the app, its build config and the SDK it bundles. */
const INPUTS = ['index.html', 'vite.config.ts', 'package.json', 'src', '../client/src']

async function files(path: string): Promise<string[]> {
  const entries = await readdir(path, { withFileTypes: true }).catch(() => null)
  if (!entries) return [path]
  const nested = await Promise.all(
    entries.sort((a, b) => a.name.localeCompare(b.name)).map((e) => files(join(path, e.name))),
  )
  return nested.flat()
}

export async function sourceHash(): Promise<string> {
  const hash = createHash('sha256')
  for (const input of INPUTS) {
    for (const file of await files(join(root, input))) {
      hash
        .update(file.slice(root.length))
        .update('\0')
        .update(await readFile(file))
        .update('\0')
    }
  }
  return hash.digest('hex')
}

/** Builds the console unless dist/ already holds a build of these sources; says which it did. */
export async function ensureConsoleBuilt(force = false): Promise<'built' | 'fresh'> {
  const hash = await sourceHash()
  const stamp = await readFile(STAMP, 'utf8').catch(() => '')
  if (!force && stamp === hash) return 'fresh'
  const { build } = await import('vite')
  await build({ configFile: join(root, 'vite.config.ts') })
  await writeFile(STAMP, hash)
  return 'built'
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const started = Date.now()
  const result = await ensureConsoleBuilt(process.argv.includes('--force'))
  console.log(
    result === 'built'
      ? `console: built into packages/console/dist in ${Date.now() - started} ms`
      : 'console: packages/console/dist is up to date',
  )
}
