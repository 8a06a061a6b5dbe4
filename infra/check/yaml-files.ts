import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseAllDocuments } from 'yaml'
import type { Report } from './report.ts'

export type YamlDoc = { file: string; index: number; value: unknown }

/** The repository root. */
export const root = fileURLToPath(new URL('../../', import.meta.url))

/** Every `.yaml`/`.yml` file under `dir`, relative to `base` (the repository root by default), sorted. */
export function yamlFiles(dir: string, base = root): string[] {
  return readdirSync(join(base, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name) && !e.parentPath.includes('node_modules'))
    .map((e) => relative(base, join(e.parentPath, e.name)))
    .sort()
}

/**
 * Parses every document of every file (merge keys `<<` on, as compose reads them). A parse error or a
 * duplicate key is a problem; documents that failed are left out of the later checks.
 */
export function parseYamlFiles(report: Report, files: string[], base = root): YamlDoc[] {
  const docs: YamlDoc[] = []
  for (const file of files) {
    const parsed = parseAllDocuments(readFileSync(join(base, file), 'utf8'), { merge: true })
    const list = Array.isArray(parsed) ? parsed : []
    for (const [index, doc] of list.entries()) {
      for (const err of [...doc.errors, ...doc.warnings])
        report.problem(`${file} (document ${index + 1})`, err.message.split('\n')[0] ?? err.message)
      if (doc.errors.length > 0) continue
      const value = doc.toJS({ maxAliasCount: 1000 })
      if (value !== null && value !== undefined) docs.push({ file, index, value })
    }
    report.count('YAML files parsed')
  }
  report.count('YAML documents', docs.length)
  return docs
}
