import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Report } from './report.ts'
import {
  type Container,
  checkContainer,
  checkPort,
  type Env,
  HEALTH_PATHS,
  type Service,
} from './services.ts'

/** What the compose and Kubernetes checks take from an image: the runtime stage's ENV. */
export type Image = { env: Env }

/** Instructions of the last stage (the one that runs): comments dropped, `\` continuations joined. */
function runtimeStage(text: string): { keyword: string; args: string }[] {
  const joined = text.replace(/^\s*#.*$/gm, '').replace(/\\\n/g, ' ')
  const all = joined.split('\n').flatMap((line) => {
    const m = /^\s*(\w+)\s+(.*)$/.exec(line)
    return m ? [{ keyword: m[1]!.toUpperCase(), args: m[2]!.trim() }] : []
  })
  return all.slice(all.findLastIndex((i) => i.keyword === 'FROM') + 1)
}

function execForm(args: string | undefined): string[] | undefined {
  try {
    const argv = JSON.parse(args ?? '') as unknown
    return Array.isArray(argv) ? argv.map(String) : undefined
  } catch {
    return undefined
  }
}

/**
 * The image's ENV names and values, its CMD, its EXPOSE and its HEALTHCHECK: the port and entry the code
 * defines, and a health check script that asks the ready route.
 */
export function checkImage(report: Report, s: Service, base: string): Image {
  const image: Image = { env: new Map() }
  if (!existsSync(join(base, s.dockerfile))) {
    report.problem(s.dockerfile, 'missing')
    return image
  }
  const stage = runtimeStage(readFileSync(join(base, s.dockerfile), 'utf8'))
  const args = (keyword: string) => stage.filter((i) => i.keyword === keyword).map((i) => i.args)
  for (const pair of args('ENV').flatMap((a) => a.split(/\s+/))) {
    const [name = '', value = ''] = pair.split('=')
    image.env.set(name, value.replace(/^(["'])(.*)\1$/, '$2'))
  }
  image.env.delete('NODE_ENV') // read by Node and libraries, not by the service's config
  const c: Container = {
    where: s.dockerfile,
    service: s,
    env: image.env,
    setNames: [...image.env.keys()],
    command: execForm(args('CMD').at(-1)) ?? [],
  }
  checkContainer(report, c)
  const exposed = args('EXPOSE').flatMap((a) => a.split(/\s+/).map((p) => Number.parseInt(p, 10)))
  if (exposed.length === 0) report.problem(s.dockerfile, 'EXPOSEs no port')
  for (const port of exposed) checkPort(report, c, port, 'EXPOSE')
  // The script (infra/docker/healthcheck.ts) loads the service's config by path and asks the ready route.
  const hc = execForm(
    args('HEALTHCHECK')
      .at(-1)
      ?.replace(/^.*?\bCMD\s+/, ''),
  )
  const script = hc?.[0] === 'node' && hc[2] === s.name ? hc[1] : undefined
  if (script === undefined)
    report.problem(s.dockerfile, `HEALTHCHECK is not CMD ["node", "<script>.ts", "${s.name}"]`)
  else if (
    !existsSync(join(base, script)) ||
    !readFileSync(join(base, script), 'utf8').includes(HEALTH_PATHS.ready)
  )
    report.problem(
      s.dockerfile,
      `HEALTHCHECK script ${script} is missing or does not ask ${HEALTH_PATHS.ready}`,
    )
  report.count('images')
  return image
}
