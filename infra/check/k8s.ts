import type { Image } from './dockerfile.ts'
import { arr, type Obj, obj, type Report, str } from './report.ts'
import {
  type Container,
  checkAgreement,
  checkContainer,
  checkGrace,
  checkPort,
  type Env,
  effective,
  HEALTH_PATHS,
  SERVICES,
} from './services.ts'
import type { YamlDoc } from './yaml-files.ts'

type Resource = { kind: string; name: string; file: string; body: Obj }

/** Image ENV, then envFrom ConfigMaps and Secrets (values unknown), then `env`: Kubernetes' precedence. */
function containerEnv(spec: Obj, image: Image | undefined, index: Map<string, Resource>) {
  const env: Env = new Map(image?.env)
  const names: string[] = []
  for (const from of arr(spec.envFrom).map(obj)) {
    const secret = obj(from?.secretRef)
    const source = index.get(
      `${secret ? 'Secret' : 'ConfigMap'}/${str((secret ?? obj(from?.configMapRef))?.name)}`,
    )
    const data = { ...obj(source?.body.data), ...obj(source?.body.stringData) }
    for (const [k, v] of Object.entries(data)) env.set(k, secret ? null : (str(v) ?? null))
    names.push(...Object.keys(data))
  }
  for (const e of arr(spec.env).map(obj)) {
    env.set(str(e?.name) ?? '', str(e?.value) ?? null)
    names.push(str(e?.name) ?? '')
  }
  return { env, names }
}

const PROBES = {
  readinessProbe: [HEALTH_PATHS.ready],
  livenessProbe: [HEALTH_PATHS.live],
  startupProbe: Object.values(HEALTH_PATHS),
}

/** Probes GET the service's health routes on its port; a pod without readiness gets traffic while Redis is away. */
function checkProbes(report: Report, c: Container, spec: Obj, ports: Map<string, number>) {
  const listens = c.service.probePort(c.env) !== undefined
  for (const [key, paths] of Object.entries(PROBES)) {
    const get = obj(obj(spec[key])?.httpGet)
    report.count('probes')
    if (!get) {
      if (listens && key !== 'startupProbe') report.problem(c.where, `no ${key}`)
      continue
    }
    if (!paths.includes(str(get.path) as never))
      report.problem(c.where, `${key} GETs ${str(get.path)}, not ${paths.join(' or ')}`)
    const port = typeof get.port === 'number' ? get.port : ports.get(String(get.port))
    if (port === undefined) report.problem(c.where, `${key} port ${String(get.port)} is not a container port`)
    else checkPort(report, c, port, `${key} on port`)
  }
}

function checkDeployment(
  report: Report,
  r: Resource,
  images: Map<string, Image>,
  index: Map<string, Resource>,
) {
  const template = obj(obj(r.body.spec)?.template)
  const pod = obj(template?.spec) ?? {}
  const allPorts = new Map<string, number>()
  const containers: Container[] = []
  for (const spec of arr(pod.containers).map((x) => obj(x) ?? {})) {
    const repo = (str(spec.image) ?? '').replace(/:[^/]*$/, '')
    const s = SERVICES.find((x) => repo === x.image || repo.endsWith(`/${x.image}`))
    if (!s) continue
    const { env, names } = containerEnv(spec, images.get(s.name), index)
    const argv = [...arr(spec.command), ...arr(spec.args)].map(String)
    const c: Container = { where: `k8s ${r.kind}/${r.name} (${r.file})`, service: s, env, setNames: names }
    if (argv.length > 0) c.command = argv
    checkContainer(report, c)
    const ports = new Map<string, number>()
    for (const p of arr(spec.ports).map((x) => obj(x) ?? {})) {
      ports.set(str(p.name) ?? String(p.containerPort), Number(p.containerPort))
      checkPort(report, c, Number(p.containerPort), 'containerPort')
    }
    const scraped = str(obj(obj(template?.metadata)?.annotations)?.['prometheus.io/port'])
    if (scraped !== undefined) checkPort(report, c, Number(scraped), 'prometheus.io/port')
    checkProbes(report, c, spec, ports)
    const preStop = arr(obj(obj(obj(spec.lifecycle)?.preStop)?.exec)?.command).map(String)
    const sleep = preStop[0] === 'sleep' ? Number(preStop[1]) : 0
    const grace = Number(pod.terminationGracePeriodSeconds ?? 30)
    checkGrace(report, c, grace - sleep, `terminationGracePeriodSeconds less the preStop sleep:`)
    for (const [name, port] of ports) allPorts.set(name, port)
    containers.push(c)
    const scaler = [...index.values()].find(
      (x) => x.kind === 'ScaledObject' && str(obj(obj(x.body.spec)?.scaleTargetRef)?.name) === r.name,
    )
    if (scaler) checkScaler(report, c, scaler)
  }
  return { ports: allPorts, containers, labels: obj(obj(template?.metadata)?.labels) ?? {} }
}

/** KEDA scales the workers on the stream and group they read: the one place a manifest repeats a default. */
function checkScaler(report: Report, c: Container, scaler: Resource) {
  const stream = `${effective(c.service, c.env, 'REDIS_KEY_PREFIX') ?? ''}${effective(c.service, c.env, 'EVENTS_STREAM')}`
  const group = effective(c.service, c.env, 'CONSUMER_GROUP')
  for (const t of arr(obj(scaler.body.spec)?.triggers).map((x) => obj(obj(x)?.metadata) ?? {})) {
    report.count('KEDA triggers')
    if (str(t.stream) !== stream)
      report.problem(c.where, `KEDA stream ${str(t.stream)}, but the workers read ${stream}`)
    if (str(t.consumerGroup) !== group)
      report.problem(
        c.where,
        `KEDA consumerGroup ${str(t.consumerGroup)}, but the workers join ${String(group)}`,
      )
  }
}

export function checkKubernetes(report: Report, docs: YamlDoc[], images: Map<string, Image>): void {
  const resources: Resource[] = docs.flatMap((d) => {
    const body = obj(d.value)
    const kind = str(body?.kind)
    return body && kind ? [{ kind, name: str(obj(body.metadata)?.name) ?? '', file: d.file, body }] : []
  })
  const index = new Map(resources.map((r) => [`${r.kind}/${r.name}`, r]))
  const deployments = resources
    .filter((x) => x.kind === 'Deployment')
    .map((r) => checkDeployment(report, r, images, index))
  checkAgreement(
    report,
    deployments.flatMap((d) => d.containers),
    'k8s manifests',
  )
  // A Service's targetPort (a name or a number) must be a container port of the Deployment it selects.
  for (const r of resources.filter((x) => x.kind === 'Service')) {
    const selector = Object.entries(obj(obj(r.body.spec)?.selector) ?? {})
    const selected = deployments.find(
      (d) => selector.length > 0 && selector.every(([k, v]) => d.labels[k] === v),
    )?.ports
    for (const p of arr(obj(r.body.spec)?.ports).map((x) => obj(x) ?? {})) {
      const t = p.targetPort ?? p.port
      report.count('Service target ports')
      if (selected && !(typeof t === 'number' ? [...selected.values()].includes(t) : selected.has(String(t))))
        report.problem(`k8s Service/${r.name} (${r.file})`, `targetPort ${String(t)} is not a container port`)
    }
  }
}
