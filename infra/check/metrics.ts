import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { collectDefaultMetrics, Registry } from 'prom-client'
import { arr, obj, type Report, str } from './report.ts'
import { root, type YamlDoc } from './yaml-files.ts'

// The alert rules (infra/prometheus/*.yaml) and the Grafana dashboards (infra/grafana/*.json) name only
// metrics the services export. Exported names are read from the sources: every `new Counter|Gauge|
// Histogram({ name: '…' })` and `counter|gauge('…')` helper call, the HTTP metrics of packages/http for each
// metrics prefix a service registers, and prom-client's default metrics under those prefixes.

const DEFINED =
  /(?:new (?:Counter|Gauge|Histogram|Summary)\b[^(]*\(\{\s*name:|\b(?:counter|gauge)\()\s*'([a-z_:][a-z0-9_:]*)'/g
const TEMPLATE = /name:\s*`\$\{opts\.prefix\}(_[a-z0-9_]+)`/g
/** `metricsPlugin, { prefix: 'token' }`, or `servicePlugins`' `metricsPrefix: 'token'` (packages/http). */
const PREFIX = /(?:metricsPlugin,\s*\{\s*prefix|metricsPrefix):\s*'([a-z_]+)'/g
/** A metric of ours in an expression: our prefixes, then the name (PromQL functions never start so). */
const REFERENCED = /\b(?:token|analytics)_[a-z0-9_]+\b/g

function sources(base: string): string[] {
  return ['services', 'packages'].flatMap((dir) =>
    readdirSync(join(base, dir), { withFileTypes: true, recursive: true })
      .filter((e) => e.isFile() && e.name.endsWith('.ts') && /\/src(\/|$)/.test(e.parentPath))
      .filter((e) => !e.parentPath.includes('node_modules'))
      .map((e) => join(e.parentPath, e.name)),
  )
}

/** Every metric name the code under `base` (the repository) registers. */
export function exportedMetrics(base = root): Set<string> {
  const names = new Set<string>()
  const templates: string[] = []
  const prefixes: string[] = []
  for (const file of sources(base)) {
    const text = readFileSync(file, 'utf8')
    for (const m of text.matchAll(DEFINED)) names.add(m[1]!)
    for (const m of text.matchAll(TEMPLATE)) templates.push(m[1]!)
    for (const m of text.matchAll(PREFIX)) prefixes.push(m[1]!)
  }
  for (const prefix of prefixes) {
    for (const t of templates) names.add(`${prefix}${t}`)
    const registry = new Registry()
    collectDefaultMetrics({ register: registry, prefix: `${prefix}_` })
    for (const m of registry.getMetricsAsArray()) names.add(m.name)
  }
  // A histogram or summary is scraped as its _bucket, _sum and _count series.
  for (const name of [...names]) for (const s of ['_bucket', '_sum', '_count']) names.add(`${name}${s}`)
  return names
}

/** Every expression of the rule files and dashboards, with where it is. */
function expressions(docs: YamlDoc[], base: string): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = []
  for (const d of docs.filter((d) => d.file.startsWith('infra/prometheus/')))
    for (const g of arr(obj(d.value)?.groups))
      for (const r of arr(obj(g)?.rules)) {
        const rule = obj(r)
        const expr = str(rule?.expr)
        if (expr) out.push({ where: `${d.file} ${str(rule?.alert) ?? str(rule?.record)}`, expr })
      }
  const dir = join(base, 'infra/grafana')
  for (const file of existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')) : []) {
    const dashboard = JSON.parse(readFileSync(join(dir, file), 'utf8'))
    for (const p of arr(dashboard.panels))
      for (const t of arr(obj(p)?.targets)) {
        const expr = str(obj(t)?.expr)
        if (expr) out.push({ where: `${relative(base, join(dir, file))} "${str(obj(p)?.title)}"`, expr })
      }
  }
  return out
}

/** The expressions of the manifests under `base` against the metrics of the code (always the repository's). */
export function checkMetrics(report: Report, docs: YamlDoc[], base: string): void {
  const exported = exportedMetrics()
  const exprs = expressions(docs, base)
  if (exprs.length === 0)
    report.problem('infra/prometheus, infra/grafana', 'no alert rule or dashboard expression found')
  for (const { where, expr } of exprs) {
    report.count('metric expressions')
    for (const name of expr.match(REFERENCED) ?? [])
      if (!exported.has(name)) report.problem(where, `${name} is not a metric the services export`)
  }
}
