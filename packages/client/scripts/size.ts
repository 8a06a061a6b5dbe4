import { gzipSync } from 'node:zlib'
import { bundleBrowser } from './bundle.ts'

/** Prints the browser bundle's minified and minified+gzipped size (what a page actually downloads). */
export async function bundleSize(): Promise<{ minified: number; gzipped: number }> {
  const code = Buffer.from(await bundleBrowser())
  return { minified: code.length, gzipped: gzipSync(code, { level: 9 }).length }
}

if (import.meta.main) {
  const { minified, gzipped } = await bundleSize()
  const kb = (n: number) => `${(n / 1024).toFixed(2)} KiB`
  console.log(
    `@africhain/client browser bundle: ${minified} B minified (${kb(minified)}), ${gzipped} B minified+gzipped (${kb(gzipped)})`,
  )
}
