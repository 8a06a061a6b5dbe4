import { existsSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, normalize } from 'node:path'
import {
  type App,
  type AppName,
  type Env,
  effectiveValue,
  healthPortOf,
  roleOf,
  root,
  UNKNOWN,
} from './apps.ts'
import { type Container, checkAgreement, checkCommand, checkEnv, ipv4Trusted } from './containers.ts'
import type { Image } from './dockerfile.ts'
import { arr, type Obj, obj, type Report, str } from './report.ts'
import type { YamlDoc } from './yaml-files.ts'

const LABEL = 'compose'

type Service = { name: string; def: Obj; container?: Container }

/** Compose durations: `25s`, `1m30s`, `500ms` → seconds. */
function seconds(value: string): number {
  let total = 0
  for (const m of value.matchAll(/(\d+(?:\.\d+)?)(ms|us|h|m|s)/g))
    total += Number(m[1]) * ({ h: 3600, m: 60, s: 1, ms: 0.001, us: 0.000001 }[m[2]!] ?? 0)
  return total
}

function environment(def: Obj): [string, string | typeof UNKNOWN][] {
  const raw = def.environment
  const pairs: [string, unknown][] = Array.isArray(raw)
    ? raw.map((e) => {
        const s = String(e)
        const eq = s.indexOf('=')
        return eq < 0 ? [s, null] : [s.slice(0, eq), s.slice(eq + 1)]
      })
    : Object.entries(obj(raw) ?? {})
  // Interpolated (`${...}`) and pass-through values are only known when compose runs.
  return pairs.map(([k, v]) => {
    const s = str(v)
    return [k, s === undefined || s.includes('${') ? UNKNOWN : s]
  })
}

function argv(value: unknown): string[] | undefined {
  if (typeof value === 'string') return value.split(/\s+/).filter(Boolean)
  return Array.isArray(value) ? value.map(String) : undefined
}

/** Published ports → container-side port numbers. */
function containerPorts(def: Obj): number[] {
  return arr(def.ports).map((p) => {
    const o = obj(p)
    if (o) return Number(o.target)
    return Number((String(p).split(':').at(-1) ?? '').replace(/\/\w+$/, ''))
  })
}

function appOf(report: Report, where: string, def: Obj, dir: string, apps: App[]): App | undefined {
  const build = typeof def.build === 'string' ? { context: def.build } : obj(def.build)
  const repo = str(def.image)?.replace(/:[^/]*$/, '')
  const byImage = apps.find((a) => a.image === repo)
  if (!build) return byImage
  const context = normalize(join(dir, str(build.context) ?? '.'))
  const dockerfile = normalize(join(context, str(build.dockerfile) ?? 'Dockerfile'))
  const app = apps.find((a) => a.dockerfile === dockerfile)
  if (!app) report.problem(where, `builds ${dockerfile}, which is not a service image`)
  else if (context !== '.')
    report.problem(where, `build context ${context}: the Dockerfiles expect the repository root`)
  if (app && byImage && app !== byImage) report.problem(where, `builds ${app.dockerfile} but tags it ${repo}`)
  return app
}

function serviceContainer(report: Report, s: Service, dir: string, apps: App[], images: Map<AppName, Image>) {
  const where = `${LABEL} service ${s.name}`
  const app = appOf(report, where, s.def, dir, apps)
  if (!app) return undefined
  const env: Env = new Map(images.get(app.name)?.env)
  const set = environment(s.def)
  for (const [k, v] of set) env.set(k, v)
  const entrypoint = argv(s.def.entrypoint)
  const command = argv(s.def.command)
  const c: Container = {
    where,
    app,
    env,
    setNames: set.map(([k]) => k),
    // The node image's entrypoint execs the command, so a command alone is the whole argv.
    command: entrypoint ? [...entrypoint, ...(command ?? [])] : command,
  }
  checkEnv(report, c, c.setNames, LABEL)
  checkCommand(report, c, LABEL)

  const drain = app.drainSeconds ?? 0
  const grace = seconds(str(s.def.stop_grace_period) ?? '10s')
  if (grace < drain)
    report.problem(where, `stop_grace_period ${grace} s is shorter than the service's ${drain} s drain`)
  const port = healthPortOf(app, env)
  for (const p of containerPorts(s.def))
    if (p !== port)
      report.problem(where, `publishes container port ${p}, but the service listens on ${String(port)}`)
  const test = arr(obj(s.def.healthcheck)?.test).join(' ')
  if (obj(s.def.healthcheck)?.disable === true) report.problem(where, 'disables the image health check')
  else if (test && !test.includes('/health/ready') && !test.includes('healthcheck.ts'))
    report.problem(where, `health check "${test}" does not ask /health/ready`)
  report.count(`${LABEL}: service containers`)
  return c
}

type Nginx = { listens: number[]; upstreams: Map<string, { host: string; port: number }[]>; passes: string[] }

function parseNginx(text: string): Nginx {
  const code = text.replace(/#.*$/gm, '')
  const upstreams = new Map<string, { host: string; port: number }[]>()
  for (const m of code.matchAll(/\bupstream\s+([\w-]+)\s*\{([^}]*)\}/g))
    upstreams.set(
      m[1]!,
      [...m[2]!.matchAll(/\bserver\s+([\w.-]+):(\d+)/g)].map((s) => ({ host: s[1]!, port: Number(s[2]) })),
    )
  return {
    listens: [...code.matchAll(/\blisten\s+(?:[\d.]+:)?(\d+)/g)].map((m) => Number(m[1])),
    upstreams,
    passes: [...code.matchAll(/\bproxy_pass\s+http:\/\/([\w-]+)/g)].map((m) => m[1]!),
  }
}

/** The balancer sends to every token instance on its port, and only it may set X-Forwarded-For. */
function checkBalancer(report: Report, lb: Service, services: Map<string, Service>, dir: string) {
  const where = `${LABEL} service ${lb.name}`
  for (const volume of arr(lb.def.volumes)) {
    const [src = '', dest = ''] = String(volume).split(':')
    const path = normalize(join(dir, src))
    if (!dest.endsWith('.conf')) continue
    if (!existsSync(join(root, path)) || !statSync(join(root, path)).isFile()) {
      report.problem(where, `mounts ${path}, which does not exist`)
      continue
    }
    const conf = parseNginx(readFileSync(join(root, path), 'utf8'))
    report.count(`${LABEL}: balancer configs`)
    for (const p of containerPorts(lb.def))
      if (!conf.listens.includes(p))
        report.problem(path, `listens on ${conf.listens.join(', ')}, not published ${p}`)
    for (const pass of conf.passes)
      if (!conf.upstreams.has(pass)) report.problem(path, `proxy_pass to unknown ${pass}`)
    const targets = new Set<string>()
    for (const server of [...conf.upstreams.values()].flat()) {
      const c = services.get(server.host)?.container
      targets.add(server.host)
      report.count(`${LABEL}: balancer upstream servers`)
      if (!c) report.problem(path, `upstream ${server.host} is not a service container of compose`)
      else if (healthPortOf(c.app, c.env) !== server.port)
        report.problem(
          path,
          `upstream ${server.host}:${server.port}, but it listens on ${String(healthPortOf(c.app, c.env))}`,
        )
    }
    const address = [...Object.values(obj(lb.def.networks) ?? {})]
      .map((n) => str(obj(n)?.ipv4_address))
      .find(Boolean)
    for (const host of targets) {
      const c = services.get(host)?.container
      if (!c) continue
      const trust = effectiveValue(c.app, c.env, 'TRUST_PROXY')
      if (trust === false)
        report.problem(`${LABEL} service ${host}`, 'behind the balancer without TRUST_PROXY')
      else if (address && typeof trust === 'string' && ipv4Trusted(address, trust) === false)
        report.problem(
          `${LABEL} service ${host}`,
          `TRUST_PROXY ${trust} does not cover the balancer (${address})`,
        )
    }
    for (const s of services.values())
      if (s.container?.app.name === 'token' && !targets.has(s.name))
        report.problem(path, `token instance ${s.name} is not in any upstream: it would get no traffic`)
  }
}

/** TOKEN_SERVICE_URL names a token instance or a balancer in front of them, on the port it serves. */
function checkTokenUrl(report: Report, c: Container, services: Map<string, Service>, dir: string) {
  const url = effectiveValue(c.app, c.env, 'TOKEN_SERVICE_URL')
  if (typeof url !== 'string') return
  report.count(`${LABEL}: TOKEN_SERVICE_URL targets`)
  const { hostname, port } = new URL(url)
  const target = services.get(hostname)
  const wanted = Number(port || 80)
  if (!target) return report.problem(c.where, `TOKEN_SERVICE_URL host ${hostname} is not a compose service`)
  if (target.container) {
    if (target.container.app.name !== 'token')
      report.problem(c.where, `TOKEN_SERVICE_URL points at ${hostname}`)
    else if (healthPortOf(target.container.app, target.container.env) !== wanted)
      report.problem(c.where, `TOKEN_SERVICE_URL port ${wanted} is not ${hostname}'s port`)
    return
  }
  for (const volume of arr(target.def.volumes)) {
    const src = normalize(join(dir, String(volume).split(':')[0] ?? ''))
    if (!src.endsWith('.conf') || !existsSync(join(root, src))) continue
    if (!parseNginx(readFileSync(join(root, src), 'utf8')).listens.includes(wanted))
      report.problem(c.where, `TOKEN_SERVICE_URL port ${wanted}: ${hostname} does not listen there`)
    return
  }
  report.problem(c.where, `TOKEN_SERVICE_URL host ${hostname} is neither a token instance nor its balancer`)
}

/** Every `${VAR}` compose needs without a default is listed in the example env file. */
function checkInterpolation(report: Report, file: string) {
  const example = join(root, dirname(file), 'compose.env.example')
  const listed = existsSync(example)
    ? new Set(
        readFileSync(example, 'utf8')
          .split('\n')
          .map((l) => l.split('=')[0]!.trim()),
      )
    : new Set<string>()
  const text = readFileSync(join(root, file), 'utf8')
  for (const m of text.matchAll(/\$\{(\w+)(:?[-?+][^}]*)?\}/g)) {
    report.count(`${LABEL}: interpolated variables`)
    const hasDefault = m[2]?.startsWith('-') || m[2]?.startsWith(':-')
    if (!hasDefault && !listed.has(m[1]!))
      report.problem(file, `needs \${${m[1]}}, which ${dirname(file)}/compose.env.example does not list`)
  }
}

export function checkCompose(report: Report, doc: YamlDoc, apps: App[], images: Map<AppName, Image>): void {
  const dir = dirname(doc.file)
  const services = new Map<string, Service>()
  for (const [name, def] of Object.entries(obj(obj(doc.value)?.services) ?? {}))
    services.set(name, { name, def: obj(def) ?? {} })
  for (const s of services.values()) s.container = serviceContainer(report, s, dir, apps, images)
  report.count(`${LABEL}: services`, services.size)

  for (const s of services.values()) {
    const deps =
      obj(s.def.depends_on) ?? Object.fromEntries(arr(s.def.depends_on).map((d) => [String(d), {}]))
    for (const [target, how] of Object.entries(deps)) {
      const t = services.get(target)
      report.count(`${LABEL}: depends_on`)
      if (!t) report.problem(`${LABEL} service ${s.name}`, `depends on ${target}, which does not exist`)
      else if (str(obj(how)?.condition) === 'service_healthy' && !obj(t.def.healthcheck) && !t.container)
        report.problem(
          `${LABEL} service ${s.name}`,
          `waits for ${target} to be healthy, but it has no health check`,
        )
    }
    if (str(s.def.image)?.startsWith('nginx')) checkBalancer(report, s, services, dir)
  }
  const containers = [...services.values()].flatMap((s) => (s.container ? [s.container] : []))
  // Only the API role fetches the JWKS.
  for (const c of containers)
    if (c.app.name === 'analytics' && roleOf(c.app, c.env) === 'http') checkTokenUrl(report, c, services, dir)
  checkAgreement(report, containers, doc.file)
  checkInterpolation(report, doc.file)
}
