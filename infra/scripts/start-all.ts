// `pnpm start`: runs the whole system on this machine — the token service, then the analytics API and
// worker (one process, ANALYTICS_ROLE=all) — with prefixed output. Each service creates its database
// tables on first start. SIGINT/SIGTERM stop all of them gracefully; if one dies, the others are stopped.
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../../', import.meta.url))

type Proc = { name: string; entry: string; env: Record<string, string> }
const procs: Proc[] = [
  { name: 'token', entry: 'services/token/src/server.ts', env: {} },
  {
    name: 'analytics',
    entry: 'services/analytics/src/main.ts',
    env: { ANALYTICS_ROLE: process.env.ANALYTICS_ROLE ?? 'all' },
  },
]

const children: ChildProcess[] = []
let stopping = false

function prefix(name: string, stream: NodeJS.ReadableStream, out: NodeJS.WritableStream) {
  let buffered = ''
  stream.setEncoding('utf8')
  stream.on('data', (chunk: string) => {
    buffered += chunk
    const lines = buffered.split('\n')
    buffered = lines.pop() ?? ''
    for (const line of lines) out.write(`${name.padEnd(9)}| ${line}\n`)
  })
}

function stopAll(code: number) {
  if (stopping) return
  stopping = true
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM')
  const force = setTimeout(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL')
    process.exit(code || 1)
  }, 20_000)
  force.unref()
  Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null))).then(
    () => process.exit(code),
  )
}

for (const proc of procs) {
  if (!existsSync(`${root}/${proc.entry}`)) {
    console.warn(`start: ${proc.entry} does not exist; skipping ${proc.name}`)
    continue
  }
  const child = spawn(process.execPath, [proc.entry], {
    cwd: root,
    env: { ...process.env, ...proc.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  prefix(proc.name, child.stdout!, process.stdout)
  prefix(proc.name, child.stderr!, process.stderr)
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`start: ${proc.name} exited (${signal ?? code}); stopping the others`)
      stopAll(code || 1)
    }
  })
  children.push(child)
  // The token service migrates and creates the first signing key; the analytics API fetches its JWKS.
  if (proc.name === 'token')
    await waitForReady(`http://127.0.0.1:${process.env.TOKEN_PORT ?? '3001'}/health/live`)
}

process.on('SIGINT', () => stopAll(0))
process.on('SIGTERM', () => stopAll(0))

async function waitForReady(url: string) {
  const deadline = Date.now() + 60_000
  while (Date.now() < deadline && !stopping) {
    try {
      if ((await fetch(url)).ok) return
    } catch {}
    await new Promise((r) => setTimeout(r, 250))
  }
}
