import { type App, type Env, effectiveValue, UNKNOWN } from './apps.ts'
import type { Report } from './report.ts'

/** One container of a service, as compose or Kubernetes runs it. */
export type Container = {
  where: string
  app: App
  /** The image's ENV, overlaid with what the manifest sets. */
  env: Env
  /** Names the manifest itself sets (the image's ENV is checked with the image). */
  setNames: string[]
  /** `command` + `args` (Kubernetes) or `entrypoint` + `command` (compose), when the manifest overrides CMD. */
  command: string[] | undefined
}

/** Variables both services read that must be equal wherever they run together. */
const SHARED = [
  'REDIS_URL',
  'REDIS_KEY_PREFIX',
  'EVENTS_STREAM',
  'ALERTS_STREAM',
  'TOKEN_ISSUER',
  'TOKEN_AUDIENCE',
]

/** Every name set is one the service reads, and every known value passes the service's own parser. */
export function checkEnv(report: Report, c: Container, names: string[], label: string): void {
  for (const name of names) {
    report.count(`${label}: env vars`)
    const parse = c.app.spec[name]
    if (parse === undefined) {
      report.problem(c.where, `sets ${name}, which the ${c.app.name} service does not read`)
      continue
    }
    const raw = c.env.get(name)
    if (raw === UNKNOWN) continue
    try {
      parse(raw)
    } catch (err) {
      report.problem(
        c.where,
        `${name}=${JSON.stringify(raw)} is rejected by the service: ${(err as Error).message}`,
      )
    }
  }
}

/** An overridden start command must still run the service's real entry file. */
export function checkCommand(report: Report, c: Container, label: string): void {
  if (c.command === undefined) return
  report.count(`${label}: start commands`)
  const [bin, entry] = c.command
  if (bin !== 'node' || entry !== c.app.entry || c.command.length !== 2)
    report.problem(c.where, `start command ${JSON.stringify(c.command)} is not ["node", "${c.app.entry}"]`)
}

/** The token service and analytics share Redis, streams and the token issuer/audience. */
export function checkAgreement(report: Report, containers: Container[], label: string): void {
  for (const name of SHARED) {
    const seen = new Map<string, string>()
    for (const c of containers) {
      if (c.app.spec[name] === undefined) continue
      const value = effectiveValue(c.app, c.env, name)
      if (value === UNKNOWN) continue
      seen.set(c.where, JSON.stringify(value ?? null))
    }
    const distinct = new Set(seen.values())
    report.count(`${label}: shared variables compared across services`)
    if (distinct.size > 1)
      report.problem(
        label,
        `${name} differs between services: ${[...seen].map(([w, v]) => `${w} → ${v}`).join('; ')}`,
      )
  }
}

/** `host:port` of a redis:// URL (6379 when absent). */
export function redisAddress(url: string): string {
  const u = new URL(url)
  return `${u.hostname}:${u.port || '6379'}`
}

/** Whether an IPv4 address is one of a TRUST_PROXY list (addresses or CIDRs); undefined when not IPv4. */
export function ipv4Trusted(address: string, trustProxy: string): boolean | undefined {
  const toInt = (ip: string) => {
    const parts = ip.split('.').map(Number)
    if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return undefined
    return parts.reduce((acc, p) => acc * 256 + p, 0)
  }
  const target = toInt(address)
  if (target === undefined) return undefined
  return trustProxy.split(',').some((entry) => {
    const [ip = '', bits = '32'] = entry.trim().split('/')
    const base = toInt(ip)
    if (base === undefined) return false
    const size = 2 ** (32 - Number(bits))
    return Math.floor(base / size) === Math.floor(target / size)
  })
}
