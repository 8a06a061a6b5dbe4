import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { type App, type Env, effectiveValue, HEALTH_PATHS, healthPortOf, root, UNKNOWN } from './apps.ts'
import type { Report } from './report.ts'

type Instruction = { keyword: string; args: string; line: number }

/** Instructions of a Dockerfile: comments dropped, `\` continuations joined. */
export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = []
  let current: Instruction | undefined
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim()
    if (line.startsWith('#') || (line === '' && current === undefined)) continue
    const continued = line.endsWith('\\')
    const body = continued ? line.slice(0, -1).trim() : line
    if (current === undefined) {
      const m = /^(\w+)\s*(.*)$/.exec(body)
      if (!m) continue
      current = { keyword: m[1]!.toUpperCase(), args: m[2]!, line: i + 1 }
    } else if (body !== '') {
      current.args += ` ${body}`
    }
    if (!continued) {
      out.push(current)
      current = undefined
    }
  }
  if (current) out.push(current)
  return out
}

/** What the rest of the check needs from an image. */
export type Image = { app: App; env: Env; hasHealthcheck: boolean }

function execForm(args: string): string[] | undefined {
  try {
    const parsed = JSON.parse(args) as unknown
    return Array.isArray(parsed) && parsed.every((a) => typeof a === 'string') ? parsed : undefined
  } catch {
    return undefined
  }
}

/** `A=1 B=2` (or the legacy `A 1`) → pairs. */
function envPairs(args: string): [string, string][] {
  if (!args.includes('=')) {
    const [name = '', ...rest] = args.split(/\s+/)
    return [[name, rest.join(' ')]]
  }
  return args
    .split(/\s+/)
    .filter(Boolean)
    .map((pair) => {
      const eq = pair.indexOf('=')
      return [pair.slice(0, eq), pair.slice(eq + 1).replace(/^(["'])(.*)\1$/, '$2')]
    })
}

/**
 * The image runs the service's real entry on Node 24 slim as a non-root user, listens where it says,
 * checks /health/ready, installs what the service imports and nothing more, and its .dockerignore lets
 * exactly that into the build context.
 */
export function checkImage(report: Report, app: App, packageManager: string): Image {
  const file = app.dockerfile
  const where = (line?: number) => (line ? `${file}:${line}` : file)
  const image: Image = { app, env: new Map(), hasHealthcheck: false }
  if (!existsSync(join(root, file))) {
    report.problem(file, 'missing')
    return image
  }
  const text = readFileSync(join(root, file), 'utf8')
  const all = parseDockerfile(text)
  report.count('Dockerfiles')

  const args = new Map<string, string>()
  const stages: { base: string; name: string | undefined; body: Instruction[] }[] = []
  for (const ins of all) {
    if (ins.keyword === 'ARG' && stages.length === 0) {
      const [name = '', value = ''] = ins.args.split('=')
      args.set(name.trim(), value.trim())
    } else if (ins.keyword === 'FROM') {
      const [ref = '', , name] = ins.args.split(/\s+/)
      const base = ref.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a, b) => args.get(a ?? b) ?? '')
      stages.push({ base, name, body: [] })
    } else {
      stages.at(-1)?.body.push(ins)
    }
  }
  const final = stages.at(-1)
  if (!final) {
    report.problem(file, 'no FROM')
    return image
  }
  for (const s of stages)
    if (!/^node:24(-|\.|$)/.test(s.base))
      report.problem(file, `stage ${s.name ?? ''} is FROM ${s.base}, not Node 24`)
  if (!/^node:24[\w.-]*-slim$/.test(final.base))
    report.problem(file, `runs on ${final.base}, not node:24-slim`)

  // Dependencies: pnpm pinned to packageManager, production only, filtered to this service.
  const runs = all.filter((i) => i.keyword === 'RUN').map((i) => i.args)
  const pnpm = /pnpm@(\d[\w.-]*)/.exec(runs.join('\n'))?.[1]
  if (`pnpm@${pnpm}` !== packageManager)
    report.problem(file, `installs pnpm@${pnpm}, but package.json says packageManager ${packageManager}`)
  const install = runs.find((r) => /pnpm install/.test(r)) ?? ''
  if (!/--prod\b/.test(install) || !/--frozen-lockfile/.test(install))
    report.problem(file, 'pnpm install must use --prod and --frozen-lockfile')
  const filter = /--filter\s+'?([^'\s]+?)\.\.\.'?/.exec(install)?.[1]
  if (filter !== app.packageName)
    report.problem(file, `installs --filter ${filter}..., not ${app.packageName}...`)

  // Runtime stage: ENV, USER, EXPOSE, HEALTHCHECK, CMD, COPY.
  for (const ins of final.body.filter((i) => i.keyword === 'ENV'))
    for (const [name, value] of envPairs(ins.args)) {
      image.env.set(name, value)
      if (name === 'NODE_ENV') continue
      if (app.spec[name] === undefined)
        report.problem(where(ins.line), `ENV ${name} is not read by the service`)
      else
        try {
          app.spec[name]!(value)
        } catch (err) {
          report.problem(where(ins.line), `ENV ${name}=${value}: ${(err as Error).message}`)
        }
    }
  const host = effectiveValue(app, image.env, 'HOST')
  if (host !== '0.0.0.0' && host !== '::')
    report.problem(file, `HOST is ${String(host)}; containers need 0.0.0.0`)

  const user = final.body.filter((i) => i.keyword === 'USER').at(-1)
  const uid = user && /^(\d+)(:\d+)?$/.exec(user.args.trim())?.[1]
  if (!user) report.problem(file, 'no USER: the runtime stage runs as root')
  else if (uid === undefined)
    report.problem(where(user.line), 'USER must be a numeric uid (runAsNonRoot verifies it)')
  else if (uid === '0') report.problem(where(user.line), 'USER 0 is root')

  const port = healthPortOf(app, image.env)
  const exposed = final.body
    .filter((i) => i.keyword === 'EXPOSE')
    .flatMap((i) => i.args.split(/\s+/).map(parseFloat))
  report.count('images: ports, user, base, health check, command')
  if (port === UNKNOWN || port === undefined || !exposed.includes(port))
    report.problem(
      file,
      `EXPOSE ${exposed.join(' ')} does not include the port the service listens on (${String(port)})`,
    )
  for (const p of exposed)
    if (p !== port) report.problem(file, `EXPOSE ${p}: the service does not listen there by default`)

  const cmd = final.body.filter((i) => i.keyword === 'CMD').at(-1)
  const argv = cmd && execForm(cmd.args)
  if (argv?.[0] !== 'node' || argv[1] !== app.entry || argv.length !== 2)
    report.problem(where(cmd?.line), `CMD must be ["node", "${app.entry}"] (the package's start script)`)

  const hc = final.body.filter((i) => i.keyword === 'HEALTHCHECK').at(-1)
  const hcArgv = hc && execForm(hc.args.replace(/^.*?\bCMD\s+/, ''))
  image.hasHealthcheck = hcArgv !== undefined
  if (hcArgv?.[0] !== 'node' || hcArgv[2] !== app.name) {
    report.problem(where(hc?.line), `HEALTHCHECK must be CMD ["node", "<script>.ts", "${app.name}"]`)
  } else {
    const script = hcArgv[1] ?? ''
    if (!existsSync(join(root, script)))
      report.problem(where(hc?.line), `health check script ${script} does not exist`)
    else if (!readFileSync(join(root, script), 'utf8').includes(HEALTH_PATHS.ready))
      report.problem(script, `does not ask ${HEALTH_PATHS.ready}`)
  }

  checkCopies(report, app, file, final.body, hcArgv?.[1])
  return image
}

/** The runtime stage copies the service and exactly its workspace packages; the context holds them. */
function checkCopies(
  report: Report,
  app: App,
  file: string,
  body: Instruction[],
  script: string | undefined,
) {
  const expected = new Set([app.dir, ...app.workspaceDeps])
  const copied = new Set<string>()
  const fromContext: string[] = []
  for (const ins of body.filter((i) => i.keyword === 'COPY')) {
    const words = ins.args.split(/\s+/)
    const fromStage = words.some((w) => w.startsWith('--from='))
    const paths = words.filter((w) => !w.startsWith('--')).slice(0, -1)
    for (const p of paths) {
      if (!fromStage) fromContext.push(p)
      else if (/^\/app\/(services|packages)\//.test(p))
        copied.add(p.replace(/^\/app\//, '').replace(/\/$/, ''))
    }
  }
  for (const dir of expected)
    if (!copied.has(dir))
      report.problem(file, `runtime stage does not copy ${dir}, which the service imports`)
  for (const dir of copied)
    if (!expected.has(dir))
      report.problem(file, `runtime stage copies ${dir}, which the service does not import`)
  for (const p of fromContext)
    if (!existsSync(join(root, p))) report.problem(file, `COPY ${p}: no such file in the repository`)
  report.count('images: workspace packages copied', copied.size)

  const ignoreFile = `${file}.dockerignore`
  if (!existsSync(join(root, ignoreFile))) {
    report.problem(
      file,
      `no ${ignoreFile}: the whole repository (node_modules included) would be the context`,
    )
    return
  }
  const lines = new Set(
    readFileSync(join(root, ignoreFile), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#')),
  )
  const required = [
    '!pnpm-lock.yaml',
    '!pnpm-workspace.yaml',
    '!package.json',
    '!services/*/package.json',
    '!packages/*/package.json',
    ...[...expected].map((d) => `!${d}/src`),
    ...(script ? [`!${script}`] : []),
    '**/node_modules',
  ]
  for (const line of required)
    if (!lines.has(line))
      report.problem(ignoreFile, `missing "${line}" (the image needs it, or must not get it)`)
  report.count('.dockerignore rules checked', required.length)
}
