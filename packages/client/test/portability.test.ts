import { readdir, readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { bundleBrowser } from '../scripts/bundle.ts'
import { bundleSize } from '../scripts/size.ts'

const SRC = new URL('../src/', import.meta.url)

describe('portability (browsers, React Native, Node ≥ 20)', () => {
  it('uses no Node built-ins or Node-only globals in src', async () => {
    const files = (await readdir(SRC)).filter((f) => f.endsWith('.ts'))
    for (const file of files) {
      const code = await readFile(new URL(file, SRC), 'utf8')
      expect(code, file).not.toMatch(/from '(node:|fs|path|crypto|http|buffer|events)/)
      expect(code, file).not.toMatch(/\b(process\.|Buffer\.|require\(|__dirname|atob\(|btoa\()/)
    }
  })

  it('bundles for a platform-neutral target with nothing external', async () => {
    const code = await bundleBrowser({ platform: 'neutral' })
    expect(code).toContain('createAuthClient')
    expect(code).not.toMatch(/\bimport\s*["'(]|from\s*["']/) // no imports left in the bundle
  })

  it('stays small: under 5 KiB minified + gzipped', async () => {
    const { gzipped } = await bundleSize()
    expect(gzipped).toBeLessThan(5 * 1024)
  })
})
