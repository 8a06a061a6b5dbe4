import { existsSync } from 'node:fs'
import { dirname, join, normalize } from 'node:path'
import {
  type App,
  type AppName,
  type Env,
  effectiveValue,
  HEALTH_PATHS,
  healthPortOf,
  type Role,
  roleOf,
  root,
  UNKNOWN,
} from './apps.ts'
import { type Container, checkAgreement, checkCommand, checkEnv, redisAddress } from './containers.ts'
import type { Image } from './dockerfile.ts'
import { arr, type Obj, obj, type Report, str } from './report.ts'
import type { YamlDoc } from './yaml-files.ts'

const LABEL = 'k8s'

type Resource = { kind: string; apiVersion: string; name: string; file: string; body: Obj }
type Deployment = {
  r: Resource
  labels: Obj
  role: Role | undefined
  ports: Map<string, number>
  containers: Container[]
}

const PLACEHOLDER = 'REPLACE_ME'

function matches(selector: Obj | undefined, labels: Obj): boolean {
  const entries = Object.entries(selector ?? {})
  return entries.length > 0 && entries.every(([k, v]) => labels[k] === v)
}

function where(r: Resource, extra = ''): string {
  return `${LABEL} ${r.kind}/${r.name}${extra} (${r.file})`
}

/** Environment of a container: image ENV, then envFrom, then env (Kubernetes' precedence). */
function containerEnv(
  report: Report,
  w: string,
  spec: Obj,
  image: Image | undefined,
  index: Map<string, Resource>,
) {
  const env: Env = new Map(image?.env)
  const names: string[] = []
  for (const from of arr(spec.envFrom).map(obj)) {
    const ref = obj(from?.configMapRef) ?? obj(from?.secretRef)
    const kind = from?.configMapRef ? 'ConfigMap' : 'Secret'
    const source = index.get(`${kind}/${str(ref?.name)}`)
    if (!source) {
      if (ref?.optional !== true)
        report.problem(w, `envFrom ${kind} ${str(ref?.name)} is not defined in infra/k8s`)
      continue
    }
    const data = { ...obj(source.body.data), ...obj(source.body.stringData) }
    for (const [k, v] of Object.entries(data)) {
      env.set(k, kind === 'Secret' ? UNKNOWN : (str(v) ?? UNKNOWN))
      names.push(k)
    }
  }
  for (const e of arr(spec.env).map(obj)) {
    const name = str(e?.name)
    if (!name) continue
    const value = str(e?.value)
    env.set(name, value === undefined ? UNKNOWN : value)
    names.push(name)
  }
  return { env, names }
}

function probePort(probe: Obj | undefined, ports: Map<string, number>): number | undefined {
  const port = obj(probe?.httpGet)?.port
  return typeof port === 'number' ? port : ports.get(String(port))
}

function preStopSeconds(spec: Obj): number {
  const preStop = obj(obj(spec.lifecycle)?.preStop)
  const sleep = Number(obj(preStop?.sleep)?.seconds ?? 0)
  const cmd = arr(obj(preStop?.exec)?.command).map(String)
  return cmd[0] === 'sleep' ? Number(cmd[1] ?? 0) : sleep
}

function checkContainer(report: Report, d: Deployment, spec: Obj, c: Container, pod: Obj) {
  const w = c.where
  const port = healthPortOf(c.app, c.env)
  for (const [name, p] of d.ports)
    if (port !== UNKNOWN && p !== port)
      report.problem(w, `containerPort ${p} (${name}): the service listens on ${String(port)}`)
  const probes = { readinessProbe: HEALTH_PATHS.ready, livenessProbe: HEALTH_PATHS.live } as const
  for (const [key, path] of Object.entries(probes)) {
    const probe = obj(spec[key])
    report.count(`${LABEL}: probes`)
    if (port === undefined) {
      if (probe) report.problem(w, `${key} on a worker without WORKER_METRICS_PORT (nothing listens)`)
      continue
    }
    if (!probe) report.problem(w, `no ${key}`)
    else if (str(obj(probe.httpGet)?.path) !== path) report.problem(w, `${key} must GET ${path}`)
    else if (port !== UNKNOWN && probePort(probe, d.ports) !== port)
      report.problem(w, `${key} port ${String(obj(probe.httpGet)?.port)} is not the service's port ${port}`)
  }
  const startup = obj(spec.startupProbe)
  if (startup) {
    const path = str(obj(startup.httpGet)?.path)
    if (!Object.values(HEALTH_PATHS).some((p) => p === path)) report.problem(w, `startupProbe path ${path}`)
    if (port !== UNKNOWN && probePort(startup, d.ports) !== port)
      report.problem(w, `startupProbe port is not the service's port ${port}`)
  }

  const grace = Number(pod.terminationGracePeriodSeconds ?? 30)
  const needed = (c.app.drainSeconds ?? 0) + preStopSeconds(spec)
  if (grace < needed)
    report.problem(
      w,
      `terminationGracePeriodSeconds ${grace} < preStop + drain (${needed} s): SIGKILL mid-drain`,
    )

  const podSec = obj(pod.securityContext) ?? {}
  const sec = obj(spec.securityContext) ?? {}
  if ((sec.runAsNonRoot ?? podSec.runAsNonRoot) !== true) report.problem(w, 'runAsNonRoot is not true')
  if (sec.readOnlyRootFilesystem !== true) report.problem(w, 'readOnlyRootFilesystem is not true')
  if (sec.allowPrivilegeEscalation !== false) report.problem(w, 'allowPrivilegeEscalation is not false')
  const resources = obj(spec.resources)
  for (const [kind, key] of [
    ['requests', 'cpu'],
    ['requests', 'memory'],
    ['limits', 'memory'],
  ] as const)
    if (str(obj(resources?.[kind])?.[key]) === undefined) report.problem(w, `no resources.${kind}.${key}`)
  report.count(`${LABEL}: containers (ports, grace, security, resources)`)
}

function deployment(
  report: Report,
  r: Resource,
  apps: App[],
  images: Map<AppName, Image>,
  index: Map<string, Resource>,
) {
  const template = obj(obj(r.body.spec)?.template)
  const labels = obj(obj(template?.metadata)?.labels) ?? {}
  if (!matches(obj(obj(obj(r.body.spec)?.selector)?.matchLabels), labels))
    report.problem(where(r), 'selector does not match the pod template labels')
  const pod = obj(template?.spec) ?? {}
  const d: Deployment = { r, labels, role: undefined, ports: new Map(), containers: [] }
  for (const spec of arr(pod.containers).map((x) => obj(x) ?? {})) {
    const repo = (str(spec.image) ?? '').replace(/:[^/]*$/, '')
    const app = apps.find((a) => repo === a.image || repo.endsWith(`/${a.image}`))
    const w = where(r, ` container ${str(spec.name)}`)
    if (!app) {
      report.problem(w, `image ${str(spec.image)} is not one of the service images`)
      continue
    }
    for (const p of arr(spec.ports).map(obj))
      d.ports.set(str(p?.name) ?? String(p?.containerPort), Number(p?.containerPort))
    const { env, names } = containerEnv(report, w, spec, images.get(app.name), index)
    const command = arr(spec.command).map(String)
    const args = arr(spec.args).map(String)
    const c: Container = {
      where: w,
      app,
      env,
      setNames: names,
      command: command.length > 0 ? [...command, ...args] : args.length > 0 ? args : undefined,
    }
    checkEnv(report, c, names, LABEL)
    checkCommand(report, c, LABEL)
    checkContainer(report, d, spec, c, pod)
    d.role = roleOf(app, env)
    d.containers.push(c)
  }
  return d
}

/** Secret manifests in the repository are templates: placeholders only. */
function checkSecretTemplate(report: Report, r: Resource) {
  if (Object.keys(obj(r.body.data) ?? {}).length > 0)
    report.problem(where(r), 'has `data`: a template holds stringData placeholders only')
  for (const [k, v] of Object.entries(obj(r.body.stringData) ?? {})) {
    report.count(`${LABEL}: secret template values (placeholders only)`)
    if (str(v) !== '' && !str(v)?.includes(PLACEHOLDER))
      report.problem(where(r), `${k} looks like a real value: use ${PLACEHOLDER}`)
  }
}

function checkKeda(report: Report, r: Resource, target: Deployment | undefined) {
  const w = where(r)
  if (r.apiVersion !== 'keda.sh/v1alpha1') report.problem(w, `apiVersion ${r.apiVersion}`)
  if (target?.role !== 'worker') return report.problem(w, 'scaleTargetRef is not a worker Deployment')
  const c = target.containers[0]!
  const triggers = arr(obj(r.body.spec)?.triggers).map((t) => obj(t) ?? {})
  // `redis-cluster-streams` is the same trigger for Redis Cluster (`addresses` instead of `address`).
  const redis = triggers.filter((t) => t.type === 'redis-streams' || t.type === 'redis-cluster-streams')
  if (redis.length === 0) report.problem(w, 'no redis-streams trigger')
  const prefix = effectiveValue(c.app, c.env, 'REDIS_KEY_PREFIX')
  const stream = effectiveValue(c.app, c.env, 'EVENTS_STREAM')
  const group = effectiveValue(c.app, c.env, 'CONSUMER_GROUP')
  const url = effectiveValue(c.app, c.env, 'REDIS_URL')
  const nodes = effectiveValue(c.app, c.env, 'REDIS_CLUSTER_NODES')
  for (const t of redis) {
    const m = obj(t.metadata) ?? {}
    report.count(`${LABEL}: KEDA triggers (stream, group, address)`)
    if (prefix !== UNKNOWN && stream !== UNKNOWN && str(m.stream) !== `${prefix ?? ''}${String(stream)}`)
      report.problem(w, `stream ${str(m.stream)}, but the workers read ${prefix ?? ''}${String(stream)}`)
    if (group !== UNKNOWN && str(m.consumerGroup) !== group)
      report.problem(w, `consumerGroup ${str(m.consumerGroup)}, but the workers join ${String(group)}`)
    if (!/^[1-9]\d*$/.test(str(m.pendingEntriesCount) ?? ''))
      report.problem(w, 'pendingEntriesCount must be a positive integer string')
    if (t.type === 'redis-cluster-streams') {
      const want = Array.isArray(nodes) ? nodes.map((n) => `${n.host}:${n.port}`).join(',') : undefined
      if (nodes !== UNKNOWN && str(m.addresses)?.replaceAll(' ', '') !== want)
        report.problem(w, `addresses ${str(m.addresses)}, but the workers use REDIS_CLUSTER_NODES ${want}`)
    } else if (Array.isArray(nodes)) {
      report.problem(w, 'the workers use REDIS_CLUSTER_NODES: use the redis-cluster-streams trigger')
    } else if (typeof url === 'string' && str(m.address) !== redisAddress(url)) {
      report.problem(w, `address ${str(m.address)}, but the workers use ${redisAddress(url)}`)
    }
  }
}

/** TOKEN_SERVICE_URL names the token Service on a port it serves. */
function checkTokenUrl(
  report: Report,
  c: Container,
  services: Map<string, { d: Deployment | undefined; ports: number[] }>,
) {
  const url = effectiveValue(c.app, c.env, 'TOKEN_SERVICE_URL')
  if (typeof url !== 'string') return
  report.count(`${LABEL}: TOKEN_SERVICE_URL targets`)
  const { hostname, port } = new URL(url)
  const svc = services.get(hostname.split('.')[0]!)
  if (svc?.d?.containers[0]?.app.name !== 'token')
    report.problem(c.where, `TOKEN_SERVICE_URL ${url} is not a Service of the token Deployment`)
  else if (!svc.ports.includes(Number(port || 80)))
    report.problem(
      c.where,
      `TOKEN_SERVICE_URL port ${port} is not a port of Service ${hostname.split('.')[0]}`,
    )
}

export function checkKubernetes(
  report: Report,
  docs: YamlDoc[],
  apps: App[],
  images: Map<AppName, Image>,
): void {
  const resources: Resource[] = docs.flatMap((d) => {
    const body = obj(d.value)
    const name = str(obj(body?.metadata)?.name)
    const kind = str(body?.kind)
    return body && kind && kind !== 'Kustomization'
      ? [{ kind, apiVersion: str(body.apiVersion) ?? '', name: name ?? '', file: d.file, body }]
      : []
  })
  const index = new Map(resources.map((r) => [`${r.kind}/${r.name}`, r]))
  const deployments = resources
    .filter((r) => r.kind === 'Deployment')
    .map((r) => deployment(report, r, apps, images, index))
  const selectTarget = (r: Resource) => {
    const sel = obj(obj(r.body.spec)?.selector)
    const labels = obj(sel?.matchLabels) ?? sel
    return deployments.find((d) => matches(labels, d.labels))
  }
  const services = new Map<string, { d: Deployment | undefined; ports: number[] }>()
  const covered = { pdb: new Set<string>(), hpa: new Set<string>(), keda: new Set<string>() }
  for (const r of resources) {
    report.count(`${LABEL}: ${r.kind}`)
    if (r.kind === 'Secret') checkSecretTemplate(report, r)
    if (r.kind === 'Service') {
      const d = selectTarget(r)
      if (!d) report.problem(where(r), 'selector matches no Deployment')
      const ports = arr(obj(r.body.spec)?.ports).map((p) => obj(p) ?? {})
      for (const p of ports) {
        const t = p.targetPort ?? p.port
        const resolved = typeof t === 'number' ? t : d?.ports.get(String(t))
        if (d && (resolved === undefined || ![...d.ports.values()].includes(resolved)))
          report.problem(where(r), `targetPort ${String(t)} is not a container port of ${d.r.name}`)
      }
      services.set(r.name, { d, ports: ports.map((p) => Number(p.port)) })
    }
    if (r.kind === 'PodDisruptionBudget') {
      const d = selectTarget(r)
      if (!d) report.problem(where(r), 'selector matches no Deployment')
      else covered.pdb.add(d.r.name)
    }
    const ref = obj(obj(r.body.spec)?.scaleTargetRef)
    const target = deployments.find((d) => d.r.name === str(ref?.name))
    if (r.kind === 'HorizontalPodAutoscaler') {
      if (r.apiVersion !== 'autoscaling/v2')
        report.problem(where(r), `apiVersion ${r.apiVersion}, not autoscaling/v2`)
      if (!target || str(ref?.kind) !== 'Deployment')
        report.problem(where(r), 'scaleTargetRef is not a Deployment here')
      else covered.hpa.add(target.r.name)
    }
    if (r.kind === 'ScaledObject') {
      checkKeda(report, r, target)
      if (target) covered.keda.add(target.r.name)
    }
  }
  for (const d of deployments) {
    if (!covered.pdb.has(d.r.name)) report.problem(where(d.r), 'no PodDisruptionBudget')
    if (d.role === 'http' && !covered.hpa.has(d.r.name))
      report.problem(where(d.r), 'no HorizontalPodAutoscaler')
    if (d.role === 'worker' && !covered.keda.has(d.r.name)) report.problem(where(d.r), 'no KEDA ScaledObject')
    if (covered.hpa.has(d.r.name) && covered.keda.has(d.r.name))
      report.problem(where(d.r), 'both an HPA and a ScaledObject: KEDA makes its own HPA')
  }
  const containers = deployments.flatMap((d) => d.containers)
  // Only the API role fetches the JWKS.
  for (const c of containers)
    if (c.app.name === 'analytics' && roleOf(c.app, c.env) === 'http') checkTokenUrl(report, c, services)
  checkAgreement(report, containers, `${LABEL} manifests`)
  for (const d of docs.filter((x) => str(obj(x.value)?.kind) === 'Kustomization'))
    checkKustomization(report, d, resources)
}

/** Every manifest is applied by the kustomization, except secret templates, which must never be. */
function checkKustomization(report: Report, doc: YamlDoc, resources: Resource[]) {
  const dir = dirname(doc.file)
  const listed = new Set(arr(obj(doc.value)?.resources).map((f) => normalize(join(dir, String(f)))))
  for (const file of listed)
    if (!existsSync(join(root, file))) report.problem(doc.file, `lists ${file}, which does not exist`)
  const files = new Set(resources.filter((r) => dirname(r.file) === dir).map((r) => r.file))
  for (const file of files) {
    const secret = resources.some((r) => r.file === file && r.kind === 'Secret')
    report.count(`${LABEL}: files vs kustomization`)
    if (secret && listed.has(file))
      report.problem(doc.file, `applies ${file}: placeholders would overwrite real secrets`)
    if (!secret && !listed.has(file))
      report.problem(doc.file, `does not list ${file}: it would never be applied`)
  }
}
