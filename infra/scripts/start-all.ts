// `pnpm start`: runs the whole system on this machine — the token service, then the analytics API and
// worker (one process, ANALYTICS_ROLE=all). Each service creates its database tables on first start.
//
// - Children write to this terminal directly (stdio inherited): no process in between reads their lines.
// - Ready means "this child said so" (an IPC message after it listens), never "something answers on the
//   port": a second `pnpm start` meets the first one's services there, and must fail with its own child's
//   line (`port 3001 … already in use`) instead of reporting the old instance as started.
// - A child that exits stops the others; Ctrl-C (or SIGTERM) stops them all gracefully and exits 0.
//   The terminal sends Ctrl-C's SIGINT to every process of the group, the shells pnpm runs scripts in
//   included, and a shell interrupted while it waits kills itself with SIGINT, which pnpm reports as
//   "Command failed": the `start` script therefore ignores SIGINT in its shell (`trap '' INT; exec …`).
//   This script installs its own handler and its children get the default back (libuv resets it).
import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../../', import.meta.url))
const env = process.env
const host = env.HOST ?? '127.0.0.1'
const tokenPort = env.TOKEN_PORT ?? '3001'
const analyticsPort = env.ANALYTICS_PORT ?? '3002'
const READY_WITHIN_MS = 60_000

type Service = { name: string; entry: string; env: Record<string, string> }
const services: Service[] = [
  // First: it migrates and creates the first signing key; the analytics API fetches its JWKS.
  { name: 'token', entry: 'services/token/src/server.ts', env: {} },
  {
    name: 'analytics',
    entry: 'services/analytics/src/server.ts',
    env: {
      ANALYTICS_ROLE: env.ANALYTICS_ROLE ?? 'all',
      TOKEN_SERVICE_URL: env.TOKEN_SERVICE_URL ?? `http://${host}:${tokenPort}`,
    },
  },
]

const children: ChildProcess[] = []
let stopping = false

function stopAll(code: number): void {
  if (stopping) return
  stopping = true
  // On Ctrl-C the terminal has already sent SIGINT to every child; they ignore this SIGTERM after it (only
  // the same signal twice cuts a shutdown short), so one Ctrl-C still drains.
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
  const force = setTimeout(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL')
    process.exit(code || 1)
  }, 20_000)
  force.unref()
  Promise.all(children.map(exited)).then(() => process.exit(code))
}

function exited(child: ChildProcess): Promise<unknown> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', resolve))
}

/** Starts one service; resolves when it reports ready, or exits this script with the child's code. */
function start(service: Service): Promise<void> {
  const child = spawn(process.execPath, [service.entry], {
    cwd: root,
    env: { ...env, ...service.env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  children.push(child)
  return new Promise((resolve) => {
    let ready = false
    const timer = setTimeout(() => {
      console.error(`start: ${service.name} did not report ready within ${READY_WITHIN_MS / 1000} s`)
      stopAll(1)
    }, READY_WITHIN_MS)
    child.once('message', () => {
      ready = true
      clearTimeout(timer)
      resolve()
    })
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      if (stopping) return
      // The child has printed why (one line); this only says what happens next.
      console.error(
        ready
          ? `start: ${service.name} exited (${signal ?? code}); stopping the others`
          : `start: ${service.name} did not start; nothing is left running`,
      )
      stopAll(code || 1)
    })
  })
}

process.on('SIGINT', () => stopAll(0))
process.on('SIGTERM', () => stopAll(0))
// pnpm killed with SIGTERM takes its shell down but not this script (its node shim does not forward
// signals): once adopted by another parent, nobody is left to stop the services, so stop them here.
const parent = process.ppid
setInterval(() => {
  if (process.ppid !== parent) stopAll(0)
}, 1_000).unref()

// The console's build (packages/console/dist), remade only when its sources changed since the last one. A failed
// build does not stop the services: /console then says it is not built.
try {
  const { ensureConsoleBuilt } = await import('../../packages/console/scripts/build.ts')
  if ((await ensureConsoleBuilt()) === 'built') console.log('start: built the security console')
} catch (error) {
  console.error(
    `start: the security console did not build (${(error as Error).message}); /console will say so`,
  )
}

for (const service of services) {
  await start(service)
  if (stopping) break
}

if (!stopping) {
  const token = `http://${host}:${tokenPort}`
  const analytics = `http://${host}:${analyticsPort}`
  // Served by the analytics API from the build above; a missing build answers 503 instead of the page.
  const consoleUp = await fetch(`${analytics}/console/`).then(
    (r) => r.ok,
    () => false,
  )
  console.log(
    [
      '',
      'AfriChain Sessions is running:',
      `  token API       ${token}            (pid ${children[0]?.pid})`,
      `  token docs      ${token}/docs`,
      `  analytics API   ${analytics}            (pid ${children[1]?.pid})`,
      `  analytics docs  ${analytics}/docs`,
      `  console         ${analytics}/console/${consoleUp ? '' : '    (not built: run pnpm build)'}`,
      'Ctrl-C stops everything.',
      '',
    ].join('\n'),
  )
}
