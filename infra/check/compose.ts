import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, normalize } from 'node:path'
import type { Image } from './dockerfile.ts'
import { arr, type Obj, obj, type Report, str } from './report.ts'
import {
  type Container,
  checkAgreement,
  checkContainer,
  checkGrace,
  checkPort,
  type Env,
  HEALTH_PATHS,
  SERVICES,
  type Service,
} from './services.ts'
import type { YamlDoc } from './yaml-files.ts'

/** Compose durations (`25s`, `1m30s`) in seconds. */
function seconds(value: string): number {
  let total = 0
  for (const m of value.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g))
    total += Number(m[1]) * ({ h: 3600, m: 60, s: 1, ms: 0.001 }[m[2]!] ?? 0)
  return total
}

/** `environment` as a map or a list; interpolated (`${...}`) and pass-through values are unknown here. */
function environment(def: Obj): [string, string | null][] {
  const raw = def.environment
  const pairs: [string, unknown][] = Array.isArray(raw)
    ? raw.map((e) => String(e).split(/=(.*)/s, 2) as [string, unknown])
    : Object.entries(obj(raw) ?? {})
  return pairs.map(([k, v]) => [k, str(v) === undefined || str(v)!.includes('${') ? null : str(v)!])
}

function serviceOf(def: Obj): Service | undefined {
  const dockerfile = str(obj(def.build)?.dockerfile)
  const repo = str(def.image)?.replace(/:[^/]*$/, '')
  return SERVICES.find((s) => (dockerfile && s.dockerfile.endsWith(dockerfile)) || s.image === repo)
}

function container(report: Report, name: string, def: Obj, s: Service, image: Image | undefined): Container {
  const set = environment(def)
  const env: Env = new Map([...(image?.env ?? []), ...set])
  const entrypoint = arr(def.entrypoint).map(String)
  const command = typeof def.command === 'string' ? def.command.split(/\s+/) : arr(def.command).map(String)
  const c: Container = { where: `compose service ${name}`, service: s, env, setNames: set.map(([k]) => k) }
  // The node image's entrypoint execs the command, so a command alone is the whole argv.
  if (entrypoint.length + command.length > 0) c.command = [...entrypoint, ...command]
  checkContainer(report, c)
  for (const p of arr(def.ports)) {
    const target =
      obj(p)?.target ??
      String(p)
        .split(':')
        .at(-1)
        ?.replace(/\/\w+$/, '')
    checkPort(report, c, Number(target), 'publishes container port')
  }
  checkGrace(report, c, seconds(str(def.stop_grace_period) ?? '10s'), 'stop_grace_period')
  const test = arr(obj(def.healthcheck)?.test).join(' ')
  if (test && !test.includes(HEALTH_PATHS.ready) && !test.includes('healthcheck.ts'))
    report.problem(c.where, `health check "${test}" does not ask ${HEALTH_PATHS.ready}`)
  return c
}

/** Every nginx `server host:port` of an upstream is a service container, on the port it listens on. */
function checkUpstreams(report: Report, file: string, text: string, containers: Map<string, Container>) {
  for (const m of text.replace(/#.*$/gm, '').matchAll(/^\s*server\s+([\w.-]+):(\d+)/gm)) {
    const c = containers.get(m[1]!)
    if (!c) report.problem(file, `upstream ${m[1]} is not a service container of compose`)
    else checkPort(report, { ...c, where: `${file} (upstream ${m[1]})` }, Number(m[2]), 'sends to port')
  }
}

export function checkCompose(report: Report, doc: YamlDoc, images: Map<string, Image>, base: string): void {
  const containers = new Map<string, Container>()
  const defs = Object.entries(obj(obj(doc.value)?.services) ?? {}).map(([n, d]) => [n, obj(d) ?? {}] as const)
  for (const [name, def] of defs) {
    const s = serviceOf(def)
    if (s) containers.set(name, container(report, name, def, s, images.get(s.name)))
  }
  for (const [, def] of defs)
    for (const volume of arr(def.volumes)) {
      const file = normalize(join(dirname(doc.file), String(volume).split(':')[0] ?? ''))
      if (file.endsWith('.conf') && existsSync(join(base, file)))
        checkUpstreams(report, file, readFileSync(join(base, file), 'utf8'), containers)
    }
  checkAgreement(report, [...containers.values()], doc.file)
  report.count('compose service containers', containers.size)
}
