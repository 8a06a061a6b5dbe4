import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { AnalyticsConfigSpec } from '../../services/analytics/src/config.ts'
import { TokenConfigSpec } from '../../services/token/src/config.ts'
import type { Report } from './report.ts'

/**
 * What the manifests are checked against: each service's own config spec (the variables it reads, with
 * their parsers and defaults), its start script, the workspace packages it imports and its drain time.
 */

export const root = fileURLToPath(new URL('../../', import.meta.url))

export type Parser = (raw: string | undefined) => unknown
export type EnvSpec = Readonly<Record<string, Parser>>

export type AppName = 'token' | 'analytics'

export type App = {
  name: AppName
  /** Repository-relative directory, e.g. `services/token`. */
  dir: string
  packageName: string
  /** Image repository the manifests use (tags are free). */
  image: string
  dockerfile: string
  spec: EnvSpec
  /** The variable holding the HTTP port. */
  portVar: 'TOKEN_PORT' | 'ANALYTICS_PORT'
  /** Repository-relative entry file, from the package's `start` script. */
  entry: string
  /** Repository-relative directories of the workspace packages it imports, transitively. */
  workspaceDeps: string[]
  /** Seconds the process may take to drain after SIGTERM (its force-exit timer), when found. */
  drainSeconds: number | undefined
}

type Manifest = { name: string; scripts?: Record<string, string>; dependencies?: Record<string, string> }

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(join(root, path), 'utf8')) as T
}

/** Every workspace package by name → its directory. */
function workspacePackages(): Map<string, string> {
  const out = new Map<string, string>()
  for (const parent of ['services', 'packages']) {
    for (const name of readdirSync(join(root, parent))) {
      const dir = `${parent}/${name}`
      if (existsSync(join(root, dir, 'package.json')))
        out.set(readJson<Manifest>(`${dir}/package.json`).name, dir)
    }
  }
  return out
}

function workspaceDepsOf(dir: string, packages: Map<string, string>, seen = new Set<string>()): string[] {
  const deps = readJson<Manifest>(`${dir}/package.json`).dependencies ?? {}
  for (const [name, version] of Object.entries(deps)) {
    const depDir = packages.get(name)
    if (!version.startsWith('workspace:') || depDir === undefined || seen.has(depDir)) continue
    seen.add(depDir)
    workspaceDepsOf(depDir, packages, seen)
  }
  return [...seen].sort()
}

function drainSecondsOf(entry: string): number | undefined {
  if (!existsSync(join(root, entry))) return undefined
  const m = /setTimeout\(\s*\(\)\s*=>\s*process\.exit\(1\),\s*([\d_]+)\s*\)/.exec(
    readFileSync(join(root, entry), 'utf8'),
  )
  return m ? Number(m[1]!.replaceAll('_', '')) / 1000 : undefined
}

const DEFS = [
  {
    name: 'token',
    dir: 'services/token',
    image: 'africhain/token-service',
    spec: TokenConfigSpec,
    portVar: 'TOKEN_PORT',
  },
  {
    name: 'analytics',
    dir: 'services/analytics',
    image: 'africhain/analytics',
    spec: AnalyticsConfigSpec,
    portVar: 'ANALYTICS_PORT',
  },
] as const

export function loadApps(report: Report): App[] {
  const packages = workspacePackages()
  return DEFS.map((d) => {
    const manifest = readJson<Manifest>(`${d.dir}/package.json`)
    const start = manifest.scripts?.start ?? ''
    const m = /^node\s+(\S+\.ts)$/.exec(start.trim())
    if (!m) report.problem(`${d.dir}/package.json`, `start script "${start}" is not "node <file>.ts"`)
    const entry = `${d.dir}/${m?.[1] ?? 'src/server.ts'}`
    if (!existsSync(join(root, entry))) report.problem(d.dir, `entry file ${entry} does not exist`)
    const drainSeconds = drainSecondsOf(entry)
    if (drainSeconds === undefined)
      report.problem(
        entry,
        'no force-exit timer `setTimeout(() => process.exit(1), ms)` found: update infra/check',
      )
    report.count('services: entry file, workspace packages, env spec')
    return {
      ...d,
      spec: d.spec as EnvSpec,
      packageName: manifest.name,
      dockerfile: `infra/docker/${d.name}.Dockerfile`,
      entry,
      workspaceDeps: workspaceDepsOf(d.dir, packages),
      drainSeconds,
    }
  })
}

/** Set in a manifest, but its value is not known here (a secret, a compose interpolation). */
export const UNKNOWN = Symbol('unknown')
/** Environment of one container: name → raw value, or UNKNOWN. */
export type Env = Map<string, string | typeof UNKNOWN>

/** The value the service will see: its parser applied to what is set, or to nothing (the default). */
export function effectiveValue(app: App, env: Env, name: string): unknown {
  const parse = app.spec[name]
  if (parse === undefined) return UNKNOWN
  const raw = env.get(name)
  if (raw === UNKNOWN) return UNKNOWN
  try {
    return parse(raw)
  } catch {
    return UNKNOWN
  }
}

export type Role = 'http' | 'worker'

export function roleOf(app: App, env: Env): Role {
  return app.name === 'analytics' && effectiveValue(app, env, 'ANALYTICS_ROLE') === 'worker'
    ? 'worker'
    : 'http'
}

/** The port a container's health endpoints answer on; undefined for a worker without a metrics port. */
export function healthPortOf(app: App, env: Env): number | typeof UNKNOWN | undefined {
  if (roleOf(app, env) === 'worker') {
    const port = effectiveValue(app, env, 'WORKER_METRICS_PORT')
    return port === UNKNOWN ? UNKNOWN : typeof port === 'number' && port > 0 ? port : undefined
  }
  const port = effectiveValue(app, env, app.portVar)
  return port === UNKNOWN ? UNKNOWN : (port as number)
}

export const HEALTH_PATHS = { live: '/health/live', ready: '/health/ready' } as const

/** The health routes exist in the shared plugin, and every service registers that plugin. */
export function checkHealthRoutes(report: Report, apps: App[]): void {
  const plugin = readFileSync(join(root, 'packages/http/src/health.ts'), 'utf8')
  for (const path of Object.values(HEALTH_PATHS)) {
    if (!plugin.includes(`'${path}'`)) report.problem('packages/http/src/health.ts', `no route ${path}`)
    report.count('health routes found in packages/http')
  }
  for (const app of apps) {
    const sources = listFiles(join(root, app.dir, 'src')).map((f) => readFileSync(f, 'utf8'))
    if (!sources.some((s) => /register\(\s*healthPlugin/.test(s)))
      report.problem(app.dir, 'no source registers healthPlugin: the manifests probe /health/*')
  }
}

export function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name))
}
