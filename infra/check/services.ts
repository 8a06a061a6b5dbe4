import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import * as analytics from '@africhain/analytics'
import { HEALTH_PATHS } from '@africhain/http'
import * as token from '@africhain/token-service'
import type { Report } from './report.ts'
import { root } from './yaml-files.ts'

// What the manifests are checked against. All of it is exported by the code the containers run, so a
// change there fails the check instead of leaving a manifest behind: each service's config spec (the
// variable names it reads, with their parsers and defaults), the port its probes answer on, its shutdown
// deadline, its entry file (its package's `start` script) and the probe paths of packages/http.

export { HEALTH_PATHS }

/** Environment of one container: name → raw value, or null when set but unknown here (a secret, `${VAR}`). */
export type Env = Map<string, string | null>

export type Service = {
  name: 'token' | 'analytics'
  /** Image repository the manifests run (tags are free). */
  image: string
  dockerfile: string
  /** Repository-relative entry file. */
  entry: string
  spec: Readonly<Record<string, (raw: string | undefined) => unknown>>
  drainSeconds: number
  /** The port the health routes answer on; undefined: nothing listens; null: unknown here. */
  probePort(env: Env): number | undefined | null
}

/** The parsed values of `names`, or undefined when one is unknown or invalid (reported elsewhere). */
function known(spec: Service['spec'], env: Env, names: string[]): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {}
  for (const name of names) {
    const raw = env.get(name)
    if (raw === null) return undefined
    try {
      out[name] = spec[name]!(raw)
    } catch {
      return undefined
    }
  }
  return out
}

function entryOf(dir: string): string {
  const start = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')).scripts?.start ?? ''
  return `${dir}/${String(start).replace(/^node\s+/, '')}`
}

export const SERVICES: Service[] = [
  {
    name: 'token',
    image: 'africhain/token-service',
    dockerfile: 'infra/docker/token.Dockerfile',
    entry: entryOf('services/token'),
    spec: token.TokenConfigSpec,
    drainSeconds: token.SHUTDOWN_DEADLINE_MS / 1000,
    probePort(env) {
      const c = known(this.spec, env, ['TOKEN_PORT'])
      return c ? token.probePortOf(c as never) : null
    },
  },
  {
    name: 'analytics',
    image: 'africhain/analytics',
    dockerfile: 'infra/docker/analytics.Dockerfile',
    entry: entryOf('services/analytics'),
    spec: analytics.AnalyticsConfigSpec,
    drainSeconds: analytics.SHUTDOWN_DEADLINE_MS / 1000,
    probePort(env) {
      const c = known(this.spec, env, ['ANALYTICS_ROLE', 'ANALYTICS_PORT', 'WORKER_METRICS_PORT'])
      return c ? analytics.probePortOf(c as never) : null
    },
  },
]

/** The value a container's service will see for `name`: its parser on what is set; null when unknown. */
export function effective(s: Service, env: Env, name: string): unknown {
  return known(s.spec, env, [name])?.[name] ?? null
}

/** One container of a service as a manifest runs it. */
export type Container = { where: string; service: Service; env: Env; setNames: string[]; command?: string[] }

/**
 * A variable the service does not read is ignored without a word and its default wins, so every name a
 * manifest sets must be in the service's spec, and every value known here must pass its parser.
 */
function checkEnv(report: Report, c: Container): void {
  for (const name of c.setNames) {
    report.count('env names set')
    const parse = c.service.spec[name]
    const raw = c.env.get(name)
    if (parse === undefined) report.problem(c.where, `sets ${name}, which ${c.service.name} does not read`)
    else if (raw !== null)
      try {
        parse(raw)
      } catch (err) {
        report.problem(c.where, `${name}=${JSON.stringify(raw)} is refused: ${(err as Error).message}`)
      }
  }
}

/** A renamed entry file (main.ts → server.ts) leaves an image or an override that cannot start. */
function checkCommand(report: Report, c: Container): void {
  if (c.command === undefined) return
  report.count('start commands')
  const [bin, entry, ...rest] = c.command
  if (bin !== 'node' || entry !== c.service.entry || rest.length > 0)
    report.problem(c.where, `runs ${JSON.stringify(c.command)}, not ["node", "${c.service.entry}"]`)
}

/** What every container is checked for, wherever it is declared: its variables and its start command. */
export function checkContainer(report: Report, c: Container): void {
  checkEnv(report, c)
  checkCommand(report, c)
}

/** A default port that moves leaves manifests sending traffic and probes where nothing listens. */
export function checkPort(report: Report, c: Container, declared: number, what: string): void {
  const port = c.service.probePort(c.env)
  report.count('ports')
  if (port !== null && declared !== port)
    report.problem(c.where, `${what} ${declared}, but the service listens on ${port ?? 'no port'}`)
}

/** Killed before its shutdown deadline, a process cuts off in-flight requests and batches. */
export function checkGrace(report: Report, c: Container, graceSeconds: number, what: string): void {
  report.count('grace periods')
  if (graceSeconds < c.service.drainSeconds)
    report.problem(c.where, `${what} ${graceSeconds} s < the service's ${c.service.drainSeconds} s shutdown`)
}

/** Read by both services, and the event flow breaks silently where they disagree (docs/configuration.md). */
const SHARED = [
  'REDIS_URL',
  'REDIS_KEY_PREFIX',
  'EVENTS_STREAM',
  'ALERTS_STREAM',
  'TOKEN_ISSUER',
  'TOKEN_AUDIENCE',
]

export function checkAgreement(report: Report, containers: Container[], label: string): void {
  for (const name of SHARED) {
    const seen = containers.flatMap((c) => {
      const value = effective(c.service, c.env, name)
      return c.env.get(name) === null ? [] : [`${c.where} → ${JSON.stringify(value)}`]
    })
    report.count('shared variables compared')
    if (new Set(seen.map((s) => s.split(' → ')[1])).size > 1)
      report.problem(label, `${name} differs between services: ${seen.join('; ')}`)
  }
}
