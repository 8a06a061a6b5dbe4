import { mkdir, writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { type BuildOptions, build } from 'esbuild'

export const ENTRY = fileURLToPath(new URL('../src/index.ts', import.meta.url))
export const OUTFILE = fileURLToPath(new URL('../dist/browser/africhain-client.min.js', import.meta.url))

/** The browser bundle: one minified ESM file, no dependencies, for a <script type="module"> or a CDN. */
export async function bundleBrowser(overrides: BuildOptions = {}): Promise<string> {
  const result = await build({
    entryPoints: [ENTRY],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    legalComments: 'none',
    write: false,
    logLevel: 'silent',
    ...overrides,
  })
  return result.outputFiles?.[0]?.text ?? ''
}

if (import.meta.main) {
  const code = await bundleBrowser()
  await mkdir(fileURLToPath(new URL('../dist/browser/', import.meta.url)), { recursive: true })
  await writeFile(OUTFILE, code)
  console.log(`wrote ${OUTFILE} (${code.length} bytes)`)
}
