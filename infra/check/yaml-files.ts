import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { parseAllDocuments } from 'yaml'
import { root } from './apps.ts'
import type { Report } from './report.ts'

export type YamlDoc = { file: string; index: number; value: unknown }

/** Every `.yaml`/`.yml` file under `dir`, repository-relative, sorted. */
export function yamlFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name) && !e.parentPath.includes('node_modules'))
    .map((e) => relative(root, join(e.parentPath, e.name)))
    .sort()
}

/**
 * Parses every document of every file (merge keys `<<` on, as compose reads them). A parse error or a
 * duplicate key is a problem; documents that failed are left out of the later checks.
 */
export function parseYamlFiles(report: Report, files: string[]): YamlDoc[] {
  const docs: YamlDoc[] = []
  for (const file of files) {
    const parsed = parseAllDocuments(readFileSync(join(root, file), 'utf8'), { merge: true })
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
